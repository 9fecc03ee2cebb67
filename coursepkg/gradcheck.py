"""Numerical gradient checking: is a hand-written backward pass right?

A backward pass is checked against central differences,
``df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``, whose error is of order ``eps**2``
(truncation) plus ``1e-16 / eps`` (rounding), so about ``1e-10`` relative in float64 with the
default ``eps=1e-6``. Float32 has too few digits for this, so everything here is float64.

A layer is anything with ``forward(x)``, ``backward(grad_out) -> grad_x`` and ``params()`` /
``grads()`` dictionaries (see :mod:`coursepkg.layers`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from coursepkg._checks import as_int

__all__ = ["check_layer", "numerical_gradient", "relative_error"]


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6):
    """Central-difference gradient of a scalar function ``f`` at ``x``.

    f: callable taking ``x`` and returning a scalar. x: float64 ndarray of any shape, nudged in
    place one entry at a time (so ``f`` may read it through another reference, such as a layer's
    weight) and restored exactly afterwards, even when ``f`` raises. eps: step, > 0.
    Returns the gradient, float64 with ``x``'s shape.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float64 ndarray, got {kind}")
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
        raise ValueError(f"eps must be a positive float, got {eps!r}")
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + eps
            f_plus = float(f(x))
            x[index] = original - eps
            f_minus = float(f(x))
        finally:
            x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Largest difference relative to the largest gradient: ``max|a - n| / max(|a|, |n|)``.

    analytic, numeric: arrays of one shape -> float (0 when both are all zeros).
    Measured against the largest entry rather than entry by entry, because central differences
    carry an absolute rounding error (about ``1e-16 * |f| / eps``) that would swamp any entry
    much smaller than the rest, such as a max-pool input that barely missed the maximum.
    """
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    if analytic.shape != numeric.shape:
        raise ValueError(f"shapes differ: analytic {analytic.shape}, numeric {numeric.shape}")
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    if scale == 0:
        return 0.0
    return float(np.abs(analytic - numeric).max() / scale)


def check_layer(layer, x: np.ndarray, seed: int = 0, eps: float = 1e-6) -> dict[str, float]:
    """Compare a layer's backward pass with numerical gradients.

    layer: object with ``forward``, ``backward``, ``params()``, ``grads()``. x: float64
    input (N, ...). The scalar loss is ``sum(forward(x) * P)`` for a fixed random projection
    ``P`` drawn from ``seed``, so its gradient with respect to the output is ``P``.
    Returns ``{"input": err, <param name>: err, ...}``: the :func:`relative_error` of each.

    Every evaluation runs on a fresh deep copy of ``layer``, so the layer is left as it was
    (running statistics, random generators and stored gradients included) and a layer that
    draws random numbers, such as dropout, sees the same draws on every evaluation.
    """
    seed = as_int(seed, "seed", minimum=0)
    if not all(hasattr(layer, name) for name in ("forward", "backward", "params", "grads")):
        raise TypeError(f"layer must have forward, backward, params and grads, got {layer!r}")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError("x must be a float64 ndarray")
    x = x.copy()
    # A stream other than default_rng(seed), which readers often use to draw x: a projection
    # equal to x makes some losses (such as batch norm's) flat by accident.
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    projection = rng.standard_normal(copy.deepcopy(layer).forward(x).shape)

    def loss(_=None) -> float:
        return float(np.sum(copy.deepcopy(layer).forward(x) * projection))

    twin = copy.deepcopy(layer)
    twin.forward(x)
    errors = {"input": relative_error(twin.backward(projection), numerical_gradient(loss, x, eps))}
    analytic = twin.grads()
    for name, value in layer.params().items():
        if value.dtype != np.float64:
            raise TypeError(f"parameter {name!r} must be float64 to be checked, got {value.dtype}")
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, value, eps))
    return errors
