"""Seeds, threads and devices: what makes a chapter print the same numbers on every run.

Chapters call :func:`setup_notebook` in their first cell. It fixes the random seeds, uses one
torch thread per core (more threads than cores makes training many times slower), asks PyTorch
for deterministic kernels and makes NumPy print few digits, so the stored outputs reproduce.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from coursepkg._checks import as_int


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python's, NumPy's legacy and PyTorch's generators; return a fresh NumPy Generator.

    Code in this package never draws from global generators; this is for readers' own cells.
    """
    seed = as_int(seed, "seed", minimum=0)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- seeding the legacy generator is the point here
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_count() -> int:
    """Cores this process may use (respects CPU affinity, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def setup_notebook(seed: int = 0) -> np.random.Generator:
    """Make a chapter reproducible; return a NumPy Generator seeded with ``seed``."""
    torch.set_num_threads(cpu_count())
    torch.use_deterministic_algorithms(True, warn_only=True)
    np.set_printoptions(precision=4, suppress=True)
    return set_seed(seed)
