"""Matrix products on strided NumPy views, straight through SciPy's BLAS, without the GIL.

The convolution's fast path adds products into slices of a buffer (``beta = 1``), which
``numpy.matmul`` cannot do, and it works on several runs of images at once, one per core. The
Python wrappers in ``scipy.linalg.blas`` can add, but they hold the GIL while BLAS runs, so
threads calling them take turns, and they copy any operand that is not contiguous.

SciPy publishes its BLAS to compiled code in ``scipy.linalg.cython_blas``: a table of C function
pointers. :func:`gemm` calls the Fortran ``sgemm``/``dgemm`` from that table through ``ctypes``,
which passes leading dimensions, so views are used in place, and which releases the GIL for the
duration of the call.

:func:`split` runs one share of the work per core, with BLAS held to one thread by
:func:`one_thread_each`. The products go no faster that way than with BLAS spreading each one
over the cores; what gains is everything NumPy does between them (layout copies, cropping,
bias), which runs on one core per call and now runs on all of them side by side.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from scipy.linalg import cython_blas
from threadpoolctl import ThreadpoolController

T = TypeVar("T")
_INT, _CHAR, _VOID = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_char), ctypes.c_void_p


@functools.cache
def _routine(dtype: np.dtype):
    """(Fortran gemm, its scalar type) for float32 or float64."""
    name, scalar = {np.float32: ("sgemm", ctypes.c_float), np.float64: ("dgemm", ctypes.c_double)}[
        dtype.type
    ]
    capsule = cython_blas.__pyx_capi__[name]
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    address = api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule))
    ptr = ctypes.POINTER(scalar)
    # gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), all by reference.
    signature = ctypes.CFUNCTYPE(
        None, _CHAR, _CHAR, _INT, _INT, _INT, ptr, _VOID, _INT, _VOID, _INT, ptr, _VOID, _INT
    )
    return signature(address), scalar


def _operand(a: np.ndarray) -> tuple[bytes, int] | None:
    """How BLAS (column-major) reads a 2-D view: (b"N" or b"T", leading dimension), or None.

    A view whose rows are contiguous is a column-major matrix of its transpose ("N" once the
    product is turned around, see :func:`gemm`); one whose columns are contiguous is read with
    "T". The leading dimension is the other stride, which BLAS needs at least that long.
    """
    item = a.itemsize
    rows, cols = a.shape
    if a.strides[1] == item or cols == 1:
        step = a.strides[0] // item if rows > 1 else cols
        if a.strides[0] % item == 0 and step >= max(cols, 1):
            return b"N", step
    if a.strides[0] == item or rows == 1:
        step = a.strides[1] // item if cols > 1 else rows
        if a.strides[1] % item == 0 and step >= max(rows, 1):
            return b"T", step
    return None


_INT_MAX = 2**31 - 1  # SciPy's BLAS takes 32-bit sizes
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # native byte order only


def _ready(x: np.ndarray) -> tuple[np.ndarray, tuple[bytes, int]]:
    """The view itself when BLAS can read it in place, else a contiguous copy; and its layout."""
    layout = _operand(x)
    if layout is None:
        x = np.ascontiguousarray(x)
        layout = _operand(x)
    return x, layout


def gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool = False) -> None:
    """out = a @ b, or out += a @ b with ``accumulate``, in place, reading views where they lie.

    a (M, K), b (K, N), out (M, N): 2-D arrays of one dtype, float32 or float64, with any
    strides (an operand whose strides BLAS cannot take is copied first; so is ``out``, and the
    result written back). ``out`` must not share memory with ``a`` or ``b``.
    """
    (m, k), (k_b, n) = a.shape, b.shape
    if out.shape != (m, n) or k != k_b:
        raise ValueError(f"gemm cannot multiply {a.shape} @ {b.shape} into {out.shape}")
    if not a.dtype == b.dtype == out.dtype or out.dtype not in _FLOATS:
        raise TypeError(f"gemm needs one float dtype, got {a.dtype}, {b.dtype}, {out.dtype}")
    if not out.flags.writeable:
        raise ValueError("gemm's out is read-only")
    steps = [abs(step) // x.itemsize for x in (a, b, out) for step in x.strides]
    if min(m, n, k) == 0 or max(m, n, k, *steps) > _INT_MAX:
        out[...] = out + a @ b if accumulate else a @ b  # nothing for BLAS, or too big for it
        return
    target = _operand(out)
    if target is None:
        result = np.array(out, order="C") if accumulate else np.empty_like(out, order="C")
        gemm(a, b, result, accumulate)
        out[...] = result
        return
    if target[0] == b"T":  # out is column-major: write its row-major transpose, b.T @ a.T
        a, b, out, m, n = b.T, a.T, out.T, n, m
    # Row-major out (M, N) is column-major out.T (N, M) = b.T @ a.T, and _operand gives the
    # flag that reads b as b.T and a as a.T: BLAS gets b first, then a.
    (b, (trans_b, ld_b)), (a, (trans_a, ld_a)) = _ready(b), _ready(a)
    routine, scalar = _routine(out.dtype)
    ref = ctypes.byref
    routine(
        ref(ctypes.c_char(trans_b)),
        ref(ctypes.c_char(trans_a)),
        ref(ctypes.c_int(n)),
        ref(ctypes.c_int(m)),
        ref(ctypes.c_int(k)),
        ref(scalar(1.0)),
        b.ctypes.data,
        ref(ctypes.c_int(ld_b)),
        a.ctypes.data,
        ref(ctypes.c_int(ld_a)),
        ref(scalar(1.0 if accumulate else 0.0)),
        out.ctypes.data,
        ref(ctypes.c_int(_operand(out)[1])),
    )


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # finding the loaded BLAS libraries takes milliseconds: once


def blas_threads() -> int:
    """Threads SciPy's BLAS is set to use (by the user, an environment variable or the cores)."""
    pools = _controller().select(user_api="blas")
    return max((pool.num_threads for pool in pools.lib_controllers), default=1)


_hold = threading.Lock()
_holders = []  # the limiter while any thread is inside one_thread_each, once per thread inside


@contextlib.contextmanager
def one_thread_each():
    """Within the block, every BLAS call runs on the calling thread alone.

    The thread count is global to the library: the first thread in sets it to one, the last one
    out puts back what it was, so callers in several threads at once cannot leave it at one.
    """
    with _hold:
        _holders.append(_holders[0] if _holders else _controller().limit(limits=1, user_api="blas"))
    try:
        yield
    finally:
        with _hold:
            limiter = _holders.pop()
            if not _holders:
                limiter.restore_original_limits()


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(workers, thread_name_prefix="coursepkg-blas")


def _after_fork() -> None:
    # A forked child has none of the parent's threads: a cached pool would queue work that no
    # thread ever takes, and a lock held by another thread at the fork would never be released.
    global _hold
    _pool.cache_clear()
    _hold = threading.Lock()
    _holders.clear()


os.register_at_fork(after_in_child=_after_fork)


def split(work: Callable[[range], T], n: int) -> list[T]:
    """``[work(share) for share in shares]``: range(n) cut into equal runs worked on side by side.

    One run per BLAS thread; the calling thread works on the first and pool threads on the
    others, all with BLAS on one thread each. NumPy's copies and :func:`gemm` release the GIL,
    so the runs really go at once. With n = 1, or BLAS set to one thread, this is
    ``[work(range(n))]`` with BLAS as it is.
    """
    workers = max(1, min(n, blas_threads()))
    if workers == 1:
        return [work(range(n))]
    shares = [range(w * n // workers, (w + 1) * n // workers) for w in range(workers)]
    with one_thread_each():
        others = [_pool(workers - 1).submit(work, share) for share in shares[1:]]
        return [work(shares[0]), *(future.result() for future in others)]
