"""Tests for the shared argument checks in coursepkg._checks."""

import numpy as np
import pytest

from coursepkg._checks import as_float_array, as_int, as_pair, as_real, result_dtype


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, (3, 3)),
        ((1, 2), (1, 2)),
        ([4, 5], (4, 5)),
        (np.int64(2), (2, 2)),
        (np.array([1, 3]), (1, 3)),
    ],
)
def test_as_pair_accepts_ints_and_pairs(value, expected):
    pair = as_pair(value, "stride")
    assert pair == expected
    assert all(type(v) is int for v in pair)


@pytest.mark.parametrize(
    "value", [0, -1, (1, 0), (2, 2, 2), (1,), 1.0, (1.0, 2), True, (1, True), "ab", None]
)
def test_as_pair_rejects_with_the_name_and_form(value):
    with pytest.raises(ValueError, match=r"stride must be a positive int or pair of ints"):
        as_pair(value, "stride")


@pytest.mark.parametrize(("minimum", "kind"), [(0, "non-negative"), (1, "positive"), (2, ">= 2")])
def test_as_pair_message_states_the_minimum(minimum, kind):
    assert as_pair(minimum, "padding", minimum=minimum) == (minimum, minimum)
    with pytest.raises(ValueError, match=f"padding must be a {kind} int"):
        as_pair(minimum - 1, "padding", minimum=minimum)


def test_as_int():
    assert as_int(np.int32(4), "size") == 4
    assert as_int(0, "size", minimum=0) == 0
    for bad in (0, 2.0, True, "3", None):
        with pytest.raises(ValueError, match="size must be an int >= 1"):
            as_int(bad, "size")


def test_as_real():
    assert as_real(0, "eps") == 0.0 and isinstance(as_real(np.float32(0.5), "eps"), float)
    assert as_real(2, "lr", positive=True) == 2.0
    for bad in (-0.1, float("nan"), True, "1", None):
        with pytest.raises(ValueError, match="eps must be a non-negative number"):
            as_real(bad, "eps")
    with pytest.raises(ValueError, match="lr must be a positive number, got 0"):
        as_real(0, "lr", positive=True)


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        ([1, 2], np.float64),
        (np.array([True, False]), np.float64),
        (np.arange(3, dtype=np.uint8), np.float64),
        (np.ones(2, np.float16), np.float64),
        (np.ones(2, np.float32), np.float32),
        (np.ones(2, np.float64), np.float64),
    ],
)
def test_as_float_array_dtypes(value, dtype):
    assert as_float_array(value, "x").dtype == dtype


def test_as_float_array_keeps_float_arrays_without_copy():
    x = np.ones((2, 3), np.float32)
    assert as_float_array(x, "x", ndim=2) is x


@pytest.mark.parametrize("value", [np.ones(2, complex), np.array([object()]), np.array(["a"])])
def test_as_float_array_rejects_non_real_data(value):
    with pytest.raises(TypeError, match="image must hold real numbers"):
        as_float_array(value, "image")


def test_as_float_array_checks_ndim():
    with pytest.raises(ValueError, match=r"kernel must have 2 dimensions, got shape \(3,\)"):
        as_float_array(np.ones(3), "kernel", ndim=2)


def test_result_dtype():
    f32, f64 = np.ones(1, np.float32), np.ones(1, np.float64)
    assert result_dtype(f32, f32) == np.float32
    assert result_dtype(f32, f64) == np.float64
    assert result_dtype(f64) == np.float64
