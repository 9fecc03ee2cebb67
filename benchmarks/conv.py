"""Speed of coursepkg.conv against its naive loops, scipy.ndimage and PyTorch, in one run.

Prints one line per comparison and exits non-zero when a target is missed:

- correlate2d on the 512x512 camera photo (float64) with a 3x3 kernel: at least 200x faster
  than the sliding-window loop, and no slower than 1.5x scipy.ndimage.correlate;
- conv2d in float32 on x (32, 64, 32, 32), weight (64, 64, 3, 3), padding 1: at least half the
  throughput of torch.nn.functional.conv2d.

conv2d_backward against torch autograd is printed too (no target). Times are medians over
repeats; contenders take turns in blocks, and a throughput is the median of the ratios taken
round by round, so that both sides of each ratio saw much the same machine load.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from skimage import data
from threadpoolctl import threadpool_info

from coursepkg import conv


def blas_threads() -> int:
    """Threads NumPy's BLAS uses; torch gets the same number so neither has more cores."""
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts, default=os.cpu_count() or 1)


def time_once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timings(*fns, repeats: int, rounds: int = 3) -> list[np.ndarray]:
    """Seconds of every timed call, (rounds, repeats) per function.

    The functions take turns block by block (not call by call), with a pause in between: BLAS
    and OpenMP worker threads keep spinning for a while after a call, and on two cores a
    contender that runs right after the other one would pay for that.
    """
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, seen in zip(fns, times, strict=True):
            time.sleep(0.2)
            fn()  # warm-up
            seen.extend(time_once(fn) for _ in range(repeats))
    return [np.reshape(seen, (rounds, repeats)) for seen in times]


def medians(*fns, repeats: int, rounds: int = 3) -> list[float]:
    """Median seconds of each function over all its timed calls."""
    return [float(np.median(t)) for t in timings(*fns, repeats=repeats, rounds=rounds)]


def throughput(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Their time over ours, round by round (each round's median times).

    The two blocks of a round run back to back, so a ratio taken within a round compares the
    two under one state of a shared machine, whose speed drifts from round to round.
    """
    return np.median(theirs, axis=1) / np.median(ours, axis=1)


def check(label: str, ok: bool, target: str, failures: list[str]) -> None:
    print(f"  target {target}: {'met' if ok else 'MISSED'}")
    if not ok:
        failures.append(label)


def bench_correlate2d(failures: list[str]) -> None:
    image = data.camera().astype(np.float64)  # (512, 512)
    kernel = np.random.default_rng(0).standard_normal((3, 3))
    ours, scipy_time = timings(
        lambda: conv.correlate2d(image, kernel, "same"),
        lambda: ndimage.correlate(image, kernel, mode="constant"),
        repeats=17,
        rounds=9,
    )
    (naive,) = medians(lambda: conv.correlate2d_naive(image, kernel, "same"), repeats=1)
    speedup = naive / np.median(ours)
    vs_scipy = np.median(throughput(scipy_time, ours))  # our time over SciPy's, round by round
    print(f"correlate2d 512x512 camera, 3x3 kernel: {np.median(ours) * 1e3:.2f} ms")
    print(f"correlate2d vs naive: {speedup:.1f}x faster ({naive:.2f} s for the loop)")
    check("correlate2d vs naive", speedup >= 200, ">= 200x", failures)
    print(f"correlate2d vs scipy.ndimage.correlate: {vs_scipy:.2f}x its time")
    check("correlate2d vs scipy", vs_scipy <= 1.5, "<= 1.5x", failures)


def bench_conv2d(failures: list[str]) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    weight = rng.standard_normal((64, 64, 3, 3)).astype(np.float32) / 24
    bias = rng.standard_normal(64).astype(np.float32)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, weight, bias))

    ours, theirs = timings(
        lambda: conv.conv2d(x, weight, bias, padding=1),
        lambda: F.conv2d(tx.detach(), tw.detach(), tb.detach(), padding=1),
        repeats=7,
        rounds=9,
    )
    flops = 2 * x.shape[0] * weight.size * x.shape[2] * x.shape[3]
    ours_s, theirs_s = np.median(ours), np.median(theirs)
    print(
        f"conv2d float32 {x.shape} * {weight.shape}, padding 1: ours {ours_s * 1e3:.1f} ms, "
        f"torch {theirs_s * 1e3:.1f} ms ({flops / theirs_s / 1e9:.0f} GFLOP/s)"
    )
    ratios = throughput(ours, theirs)
    print(
        f"conv2d float32 throughput: {np.median(ratios):.2f} of torch "
        f"(median of {len(ratios)} rounds; {ratios.min():.2f} to {ratios.max():.2f})"
    )
    check("conv2d throughput", np.median(ratios) >= 0.5, ">= 0.50", failures)

    out = F.conv2d(tx, tw, tb, padding=1)
    grad_out = rng.standard_normal(out.shape).astype(np.float32)
    tg = torch.from_numpy(grad_out)
    ours, theirs = timings(
        lambda: conv.conv2d_backward(grad_out, x, weight, padding=1),
        lambda: torch.autograd.grad(out, (tx, tw, tb), tg, retain_graph=True),
        repeats=5,
    )
    print(
        f"conv2d_backward float32: ours {np.median(ours) * 1e3:.1f} ms, "
        f"torch autograd {np.median(theirs) * 1e3:.1f} ms"
    )
    print(
        f"conv2d_backward float32 throughput: {np.median(throughput(ours, theirs)):.2f} of torch "
        "(no target)"
    )


def main() -> int:
    threads = blas_threads()
    torch.set_num_threads(threads)
    print(
        f"threads: NumPy BLAS {threads} (conv2d runs one worker per BLAS thread), "
        f"torch {torch.get_num_threads()} (equal, for fairness)"
    )
    failures: list[str] = []
    bench_correlate2d(failures)
    bench_conv2d(failures)
    if failures:
        print("MISSED: " + ", ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
