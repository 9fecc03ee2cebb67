"""Matrix products on strided NumPy views, straight through SciPy's BLAS, without the GIL.

The convolution's fast path adds products into slices of a buffer (``beta = 1``), which
``numpy.matmul`` cannot do, and it works on several runs of images at once, one per core. The
Python wrappers in ``scipy.linalg.blas`` can add, but they hold the GIL while BLAS runs, so
threads calling them take turns, and they copy any operand that is not contiguous.

SciPy publishes its BLAS to compiled code in ``scipy.linalg.cython_blas``: a table of C function
pointers. :func:`gemm` calls the Fortran ``sgemm``/``dgemm`` from that table through ``ctypes``,
which passes leading dimensions, so views are used in place, and which releases the GIL for the
duration of the call. That call costs about 15 microseconds of Python, against about 1 for the
wrapper, so when no other thread is multiplying and the operands are contiguous, :func:`gemm`
takes the wrapper instead.

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
from scipy.linalg import blas, cython_blas
from threadpoolctl import ThreadpoolController

T = TypeVar("T")


@functools.cache
def _routine(dtype: np.dtype):
    """(Fortran gemm, address of 1, address of 0) for float32 or float64.

    Every argument goes by address, as plain ints: the cheapest call ctypes makes, which counts
    when a small layer calls gemm for each of its kernel taps.
    """
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
    # gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    routine = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 13)(address)
    return routine, ctypes.addressof(_CONSTANTS[scalar][1]), ctypes.addressof(_CONSTANTS[scalar][0])


# Read-only arguments shared by every call (BLAS never writes them): the two flags, 0 and 1.
_FLAGS = {flag: ctypes.create_string_buffer(flag, 1) for flag in (b"N", b"T")}
_FLAG_ADDRESS = {flag: ctypes.addressof(buffer) for flag, buffer in _FLAGS.items()}
_CONSTANTS = {scalar: (scalar(0.0), scalar(1.0)) for scalar in (ctypes.c_float, ctypes.c_double)}


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


def _with_numpy(a: np.ndarray, b: np.ndarray, out: np.ndarray, accumulate: bool) -> None:
    out[...] = out + a @ b if accumulate else a @ b


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
    if min(m, n, k) == 0 or max(m, n, k) > _INT_MAX:  # nothing for BLAS to do, or too big
        return _with_numpy(a, b, out, accumulate)
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
    if max(ld_a, ld_b, target[1]) > _INT_MAX:
        return _with_numpy(a, b, out, accumulate)
    # The matrices BLAS reads, as Fortran-ordered arrays: b's first, then a's.
    first, second = (b.T if trans_b == b"N" else b), (a.T if trans_a == b"N" else a)
    if not _holders and first.flags.f_contiguous and second.flags.f_contiguous:
        # No other thread is multiplying and nothing needs a leading dimension.
        _by_wrapper(first, second, out, trans_a, trans_b, accumulate)
    else:
        _by_address(a, b, out, (trans_a, ld_a), (trans_b, ld_b), target[1], accumulate)


def _by_wrapper(first, second, out, trans_a: bytes, trans_b: bytes, accumulate: bool) -> None:
    """gemm through SciPy's own wrapper, which takes a tenth of the ctypes call's time (that
    counts for small layers) but holds the GIL and would copy operands that are not contiguous.
    """
    wrapper = blas.get_blas_funcs("gemm", dtype=out.dtype)
    flags = {"trans_a": trans_b == b"T", "trans_b": trans_a == b"T"}
    result = wrapper(1.0, first, second, float(accumulate), out.T, overwrite_c=True, **flags)
    if not np.may_share_memory(result, out):  # out.T was not Fortran-ordered: copied
        out[...] = result.T


def _by_address(a, b, out, layout_a, layout_b, ld_out: int, accumulate: bool) -> None:
    """gemm through the Fortran routine itself, leading dimensions and all, without the GIL."""
    (trans_a, ld_a), (trans_b, ld_b) = layout_a, layout_b
    (m, k), n = a.shape, b.shape[1]
    routine, one, zero = _routine(out.dtype)
    sizes = (ctypes.c_int * 6)(n, m, k, ld_b, ld_a, ld_out)
    size = ctypes.addressof(sizes)
    step = ctypes.sizeof(ctypes.c_int)
    routine(
        _FLAG_ADDRESS[trans_b],
        _FLAG_ADDRESS[trans_a],
        size,
        size + step,
        size + 2 * step,
        one,
        b.ctypes.data,
        size + 3 * step,
        a.ctypes.data,
        size + 4 * step,
        one if accumulate else zero,
        out.ctypes.data,
        size + 5 * step,
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
