"""Time coursepkg.pooling against torch.nn.functional on a batch of feature maps.

For max_pool2d and avg_pool2d, forward and backward, on float32 (32, 64, 32, 32) inputs with
kernel 2 stride 2 and with kernel 3 stride 2 padding 1, prints our time, PyTorch's time
(forward: ``F.max_pool2d`` / ``F.avg_pool2d``; backward: ``torch.autograd.grad`` through them)
and their ratio. Targets: forward ratio <= 1, backward ratio <= 3. Exits with status 1 when a
target is missed. Run: ``python benchmarks/pooling.py``.

Ours and PyTorch's calls are timed in alternation (ours, torch, ours, torch, ...) and each
time is the median of its repeats, so load from other programs slows both sides alike.

Max pooling's backward is compared like for like: PyTorch's autograd reuses the indices of
the maxima that its forward saved, and ours is given the indices that ``max_pool2d(...,
return_indices=True)`` returned. An extra row, without a target, times
``max_pool2d_backward`` without indices, which finds each window's maximum again from ``x``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from coursepkg import pooling

SHAPE = (32, 64, 32, 32)
CONFIGS = [dict(kernel_size=2, stride=2, padding=0), dict(kernel_size=3, stride=2, padding=1)]
TARGETS = {"forward": 1.0, "backward": 3.0}
NUMBER, REPEAT = 5, 31  # calls per timing, timings per side


def interleaved_medians(ours: Callable, theirs: Callable) -> tuple[float, float]:
    """Median seconds per call of ``ours`` and ``theirs``, timed in alternation."""
    ours(), theirs()  # warm up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(REPEAT):
        for fn, log in zip((ours, theirs), times, strict=True):
            start = time.perf_counter()
            for _ in range(NUMBER):
                fn()
            log.append((time.perf_counter() - start) / NUMBER)
    return float(np.median(times[0])), float(np.median(times[1]))


def max_pool_rows(config: dict, x: np.ndarray) -> list[tuple[str, Callable, Callable]]:
    """(row label, ours, torch's) for max pooling's forward and backward."""
    x_torch = torch.from_numpy(x)
    x_grad = x_torch.clone().requires_grad_(True)
    out = F.max_pool2d(x_grad, **config)
    grad = torch.ones_like(out)
    grad_np = grad.numpy()
    _, indices = pooling.max_pool2d(x, **config, return_indices=True)

    def torch_backward():
        return torch.autograd.grad(out, x_grad, grad, retain_graph=True)

    return [
        (
            "forward",
            lambda: pooling.max_pool2d(x, **config),
            lambda: F.max_pool2d(x_torch, **config),
        ),
        (
            "backward",
            lambda: pooling.max_pool2d_backward(grad_np, x, **config, indices=indices),
            torch_backward,
        ),
        (
            "backward, from x",
            lambda: pooling.max_pool2d_backward(grad_np, x, **config),
            torch_backward,
        ),
    ]


def avg_pool_rows(config: dict, x: np.ndarray) -> list[tuple[str, Callable, Callable]]:
    """(row label, ours, torch's) for average pooling's forward and backward."""
    x_torch = torch.from_numpy(x)
    x_grad = x_torch.clone().requires_grad_(True)
    out = F.avg_pool2d(x_grad, **config)
    grad = torch.ones_like(out)
    grad_np = grad.numpy()
    return [
        (
            "forward",
            lambda: pooling.avg_pool2d(x, **config),
            lambda: F.avg_pool2d(x_torch, **config),
        ),
        (
            "backward",
            lambda: pooling.avg_pool2d_backward(grad_np, x, **config),
            lambda: torch.autograd.grad(out, x_grad, grad, retain_graph=True),
        ),
    ]


def main() -> int:
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    print(
        f"float32 input {SHAPE}, torch threads = {threads} (core count); "
        f"median of {REPEAT} x {NUMBER} calls, ours and torch's in alternation"
    )
    missed = 0
    for config in CONFIGS:
        label = "k={kernel_size} s={stride} p={padding}".format(**config)
        for name, rows in [("max_pool2d", max_pool_rows), ("avg_pool2d", avg_pool_rows)]:
            for direction, ours_fn, theirs_fn in rows(config, x):
                ours, theirs = interleaved_medians(ours_fn, theirs_fn)
                ratio, target = ours / theirs, TARGETS.get(direction)
                if target is None:  # informational only
                    verdict = "(no target)"
                else:
                    verdict = f"(target <= {target:.0f})  " + (
                        "ok" if ratio <= target else "MISSED"
                    )
                    missed += ratio > target
                print(
                    f"{name:<11} {label}  {direction:<16}  ours {ours * 1e3:7.2f} ms  "
                    f"torch {theirs * 1e3:7.2f} ms  ratio {ratio:5.2f}  {verdict}"
                )
    print(f"{missed} target(s) missed" if missed else "all targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
