"""Argument checks shared by the NumPy modules.

Every public function validates its arguments on entry with these helpers, so that bad input
fails with a message naming the argument and the expected form, never deep inside NumPy.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """Return ``value`` as an ``(int, int)`` pair, each at least ``minimum``.

    ``value`` may be an int (used for both) or a pair of ints. Booleans are refused.
    """
    pair = (value, value) if _is_int(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(_is_int(v) and v >= minimum for v in pair):
        kind = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
        raise ValueError(f"{name} must be a {kind} int or pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def as_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int of at least ``minimum``; refuse floats and booleans."""
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def as_real(value, name: str, positive: bool = False) -> float:
    """Return ``value`` as a float >= 0 (> 0 when ``positive``); refuse booleans and NaN."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not (value > 0 if positive else value >= 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be a {kind} number, got {value!r}")
    return float(value)


def as_float_array(x, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray, checking its number of dimensions.

    float32 and float64 arrays keep their dtype; integer and boolean arrays become float64.
    Complex, object and string data raise ``TypeError``.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind != "f" or arr.dtype.itemsize < 4:
        arr = arr.astype(np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    return arr


def result_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 only when every input is float32; float64 otherwise."""
    return np.result_type(*[a.dtype for a in arrays], np.float32)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
