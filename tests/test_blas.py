"""Tests for coursepkg._blas: gemm on strided views against NumPy's matmul, and the threads."""

import contextlib
import multiprocessing
import threading
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursepkg import _blas


@st.composite
def views(draw, rows: int, cols: int, dtype):
    """A (rows, cols) view of a bigger array: row-major or transposed, with gaps and offsets."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    layout = draw(st.sampled_from(["row", "column", "strided", "reversed"]))
    pad = draw(st.integers(0, 3))
    if layout == "column":  # the transpose of a row-major array, with padding at the row ends
        return rng.standard_normal((cols, rows + pad)).astype(dtype)[:, pad:].T
    if layout == "strided":  # every other column: BLAS cannot read it in place
        return rng.standard_normal((rows, 2 * cols)).astype(dtype)[:, ::2]
    if layout == "reversed":
        return rng.standard_normal((rows, cols)).astype(dtype)[::-1]
    return rng.standard_normal((rows, cols + pad)).astype(dtype)[:, pad:]


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    accumulate=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    threaded=st.booleans(),  # as inside split: always the GIL-free call
)
def test_gemm_matches_matmul_on_any_views(data, accumulate, dtype, threaded):
    m, k, n = (data.draw(st.integers(0, 9)) for _ in range(3))
    a, b, out = (
        data.draw(views(m, k, dtype)),
        data.draw(views(k, n, dtype)),
        data.draw(views(m, n, dtype)),
    )
    a_before, b_before = a.copy(), b.copy()
    expected = (out if accumulate else 0) + a.astype(np.float64) @ b.astype(np.float64)
    with _blas.one_thread_each() if threaded else contextlib.nullcontext():
        _blas.gemm(a, b, out, accumulate=accumulate)
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance * max(k, 1) * 10)
    assert np.array_equal(a, a_before) and np.array_equal(b, b_before)


def test_gemm_takes_the_gil_free_call_only_where_threads_need_it():
    a, b, out = np.ones((3, 2)), np.ones((2, 4)), np.zeros((3, 4))
    with mock.patch.object(_blas, "_routine", wraps=_blas._routine) as ctypes_call:
        _blas.gemm(a, b, out)
        assert not ctypes_call.called  # one thread, contiguous: SciPy's wrapper
        with _blas.one_thread_each():
            _blas.gemm(a, b, out, accumulate=True)
        assert ctypes_call.called
    np.testing.assert_array_equal(out, 4.0)


def test_gemm_reads_overlapping_shifted_slices_in_place():
    # What the convolution does: row slices of one buffer, each shifted by a few rows.
    rng = np.random.default_rng(0)
    buffer, matrix = rng.standard_normal((20, 4)), rng.standard_normal((4, 3))
    out = np.zeros((15, 3))
    for shift in range(6):
        _blas.gemm(buffer[shift : shift + 15], matrix, out, accumulate=True)
    expected = sum(buffer[s : s + 15] @ matrix for s in range(6))
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_gemm_writes_into_a_view_of_a_bigger_array():
    rng = np.random.default_rng(1)
    big = np.zeros((6, 10))
    a, b = rng.standard_normal((6, 2)), rng.standard_normal((2, 5))
    _blas.gemm(a, b, big[:, ::2])
    np.testing.assert_allclose(big[:, ::2], a @ b, rtol=1e-12)
    assert np.all(big[:, 1::2] == 0)


def test_gemm_rejects_mismatched_shapes_and_dtypes():
    with pytest.raises(ValueError, match="cannot multiply"):
        _blas.gemm(np.ones((2, 3)), np.ones((4, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="one float dtype"):
        _blas.gemm(np.ones((2, 2), np.float32), np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="one float dtype"):
        _blas.gemm(*(np.ones((2, 2), np.int64) for _ in range(3)))
    with pytest.raises(TypeError, match="one float dtype"):  # BLAS would misread the bytes
        _blas.gemm(*(np.ones((2, 2), ">f8") for _ in range(3)))
    with pytest.raises(ValueError, match="read-only"):
        _blas.gemm(np.ones((2, 2)), np.ones((2, 2)), np.broadcast_to(np.ones(2), (2, 2)))


def test_gemm_leaves_sizes_blas_cannot_take_to_numpy(monkeypatch):
    monkeypatch.setattr(_blas, "_INT_MAX", 3)  # as if 4 were past 32-bit sizes
    rng = np.random.default_rng(2)
    a, b, out = rng.standard_normal((4, 2)), rng.standard_normal((2, 3)), np.ones((4, 3))
    _blas.gemm(a, b, out, accumulate=True)
    np.testing.assert_allclose(out, 1 + a @ b, rtol=1e-12)
    wide = rng.standard_normal((3, 10))  # small sizes, but a row stride past the limit
    out = np.empty((3, 3))
    _blas.gemm(wide[:, :2], b, out)
    np.testing.assert_allclose(out, wide[:, :2] @ b, rtol=1e-12)


def test_one_thread_each_holds_blas_to_one_thread_and_restores_it():
    before = _blas.blas_threads()
    with _blas.one_thread_each():
        assert _blas.blas_threads() == 1
    assert _blas.blas_threads() == before


def test_one_thread_each_restores_only_when_the_last_holder_leaves():
    # Threads overlapping like this must not leave BLAS at one thread (nor restore it early).
    before = _blas.blas_threads()
    first, second = _blas.one_thread_each(), _blas.one_thread_each()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert _blas.blas_threads() == 1
    second.__exit__(None, None, None)
    assert _blas.blas_threads() == before


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_split_gives_every_index_to_exactly_one_worker_in_runs(n):
    shares, threads = [], set()

    def work(share):
        threads.add(threading.get_ident())
        shares.append(share)
        return len(share)

    counts = _blas.split(work, n)
    assert sorted(i for share in shares for i in share) == list(range(n)) and sum(counts) == n
    assert all(share.step == 1 for share in shares)  # contiguous runs
    assert max(counts) - min(counts) <= 1  # balanced
    assert len(counts) == max(1, min(n, _blas.blas_threads()))
    assert threading.get_ident() in threads  # the caller works on a share too
    assert (len(threads) > 1) == (len(counts) > 1)


def test_split_runs_inline_when_blas_has_one_thread():
    with _blas.one_thread_each():
        assert _blas.split(lambda share: (share, threading.get_ident()), 3) == [
            (range(3), threading.get_ident())
        ]


def test_split_works_in_a_forked_child():
    # The parent's pool threads do not survive a fork; the child must not wait on them forever.
    _blas.split(lambda share: None, 4)  # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        counts = pool.apply_async(_split_counts, (5,)).get(timeout=60)
    assert sum(counts) == 5


def test_after_fork_leaves_a_fresh_pool_and_lock_that_work():
    _blas.split(len, 4)
    _blas._after_fork()  # what a forked child runs first (coverage cannot follow it there)
    assert sum(_blas.split(len, 4)) == 4 and not _blas._holders


def _split_counts(n):
    return _blas.split(len, n)
