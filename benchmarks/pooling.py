"""Time coursepkg.pooling against torch.nn.functional on a batch of feature maps.

For max_pool2d and avg_pool2d, forward and backward, on float32 (32, 64, 32, 32) inputs with
kernel 2 stride 2 and with kernel 3 stride 2 padding 1, prints our time, PyTorch's time
(forward: ``F.max_pool2d`` / ``F.avg_pool2d``; backward: ``torch.autograd.grad`` through them)
and their ratio. Targets: forward ratio <= 1, backward ratio <= 3. Exits with status 1 when a
target is missed. Each time is the best of several repeats, so load from other programs
inflates it as little as possible. Run: ``python benchmarks/pooling.py``.

The comparison of max pooling's backward is not like for like: PyTorch's autograd reuses the
indices of the maxima saved by its forward, while ``max_pool2d_backward(grad_out, x, ...)``
finds each window's maximum again from ``x`` before routing the gradient.
"""

from __future__ import annotations

import os
import sys
import timeit

import numpy as np
import torch
import torch.nn.functional as F

from coursepkg import pooling

SHAPE = (32, 64, 32, 32)
CONFIGS = [dict(kernel_size=2, stride=2, padding=0), dict(kernel_size=3, stride=2, padding=1)]
TARGETS = {"forward": 1.0, "backward": 3.0}
OPS = {
    "max_pool2d": (pooling.max_pool2d, pooling.max_pool2d_backward, F.max_pool2d),
    "avg_pool2d": (pooling.avg_pool2d, pooling.avg_pool2d_backward, F.avg_pool2d),
}


def best_time(fn, number: int = 10, repeat: int = 15) -> float:
    """Best time of one call to ``fn`` in seconds."""
    fn()  # warm up
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def time_op(name: str, config: dict, x: np.ndarray) -> dict[str, tuple[float, float]]:
    """(ours, torch) seconds for the forward and the backward of one pooling op."""
    forward, backward, torch_op = OPS[name]
    x_torch = torch.from_numpy(x)
    x_grad = x_torch.clone().requires_grad_(True)
    out = torch_op(x_grad, **config)
    grad = torch.ones_like(out)
    grad_np = grad.numpy()
    return {
        "forward": (
            best_time(lambda: forward(x, **config)),
            best_time(lambda: torch_op(x_torch, **config)),
        ),
        "backward": (
            best_time(lambda: backward(grad_np, x, **config)),
            best_time(lambda: torch.autograd.grad(out, x_grad, grad, retain_graph=True)),
        ),
    }


def main() -> int:
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    print(f"float32 input {SHAPE}, torch threads = {threads} (core count); best of 15 x 10 calls")
    missed = 0
    for config in CONFIGS:
        label = "k={kernel_size} s={stride} p={padding}".format(**config)
        for name in OPS:
            for direction, (ours, theirs) in time_op(name, config, x).items():
                ratio, target = ours / theirs, TARGETS[direction]
                verdict = "ok" if ratio <= target else "MISSED"
                missed += verdict == "MISSED"
                print(
                    f"{name:<11} {label}  {direction:<8}  ours {ours * 1e3:7.2f} ms  "
                    f"torch {theirs * 1e3:7.2f} ms  ratio {ratio:5.2f}  "
                    f"(target <= {target:.0f})  {verdict}"
                )
    print(f"{missed} target(s) missed" if missed else "all targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
