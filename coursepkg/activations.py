"""Activation functions in NumPy and their derivatives, as forward/backward pairs.

Every function takes an array of any shape and returns one of the same shape (float32 stays
float32, other input becomes float64). Values agree with ``torch.nn.functional`` and each
``*_backward`` with PyTorch's autograd, including its choice of derivative where the function
has a kink (``relu`` has derivative 0 at 0, ``leaky_relu`` has ``negative_slope``, ``elu`` has
``alpha``). Each backward takes exactly what it needs: the input ``x`` for most, the forward's
output ``out`` for ``sigmoid``, ``tanh``, ``softmax`` and ``log_softmax`` (as PyTorch does).
All are numerically stable: no overflow and no RuntimeWarning for large inputs.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ._checks import as_float_array, result_dtype

__all__ = [
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "elu",
    "elu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "softplus",
    "softplus_backward",
    "gelu",
    "gelu_backward",
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)  # Python floats keep float32 float32
_GELU_TANH_COEF = 0.044715


def _pair_args(grad_out: ArrayLike, x: ArrayLike, name: str = "x"):
    """grad_out and x (or out) as float arrays of one shape, cast to their common dtype."""
    x = as_float_array(x, name)
    grad = as_float_array(grad_out, "grad_out")
    if grad.shape != x.shape:
        raise ValueError(f"grad_out must have the shape of {name} {x.shape}, got {grad.shape}")
    dtype = result_dtype(grad, x)
    return grad.astype(dtype, copy=False), x.astype(dtype, copy=False)


def _as_real(value, name: str, nonzero: bool = False) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    if nonzero and value == 0:
        raise ValueError(f"{name} must be non-zero, got {value!r}")
    return float(value)


def _axis(axis, ndim: int) -> int:
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"axis must be in [-{ndim}, {ndim}) for an array of {ndim} dims, got {axis}"
        )
    return int(axis)


# ---- ReLU family ---------------------------------------------------------------------------


def relu(x: ArrayLike) -> np.ndarray:
    """max(x, 0). x: any shape -> same shape."""
    x = as_float_array(x, "x")
    return np.maximum(x, 0)


def relu_backward(grad_out: ArrayLike, x: ArrayLike) -> np.ndarray:
    """grad_out, x: same shape -> grad_x. Zero where x <= 0 (torch's choice at 0)."""
    grad, x = _pair_args(grad_out, x)
    return grad * (x > 0)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> np.ndarray:
    """x where x > 0, else negative_slope * x. x: any shape -> same shape."""
    x = as_float_array(x, "x")
    slope = _as_real(negative_slope, "negative_slope")
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_backward(
    grad_out: ArrayLike, x: ArrayLike, negative_slope: float = 0.01
) -> np.ndarray:
    """grad_out, x: same shape -> grad_x. Slope 1 where x > 0, else ``negative_slope``.

    At 0 the slope is ``negative_slope``, as in PyTorch.
    """
    grad, x = _pair_args(grad_out, x)
    slope = _as_real(negative_slope, "negative_slope")
    return np.where(x > 0, grad, grad * x.dtype.type(slope))


def elu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    """x where x > 0, else alpha * (exp(x) - 1). x: any shape -> same shape."""
    x = as_float_array(x, "x")
    alpha = _as_real(alpha, "alpha")
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_backward(grad_out: ArrayLike, x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    """grad_out, x: same shape -> grad_x. Slope 1 where x > 0, else alpha * exp(x) (alpha at 0)."""
    grad, x = _pair_args(grad_out, x)
    alpha = _as_real(alpha, "alpha")
    return np.where(x > 0, grad, grad * alpha * np.exp(np.minimum(x, 0)))


# ---- smooth squashing functions ------------------------------------------------------------


def sigmoid(x: ArrayLike) -> np.ndarray:
    """1 / (1 + exp(-x)), computed without overflow. x: any shape -> same shape."""
    x = as_float_array(x, "x")
    return special.expit(x)


def sigmoid_backward(grad_out: ArrayLike, out: ArrayLike) -> np.ndarray:
    """grad_out, out = sigmoid(x): same shape -> grad_x = grad_out * out * (1 - out)."""
    grad, out = _pair_args(grad_out, out, "out")
    return grad * (1 - out) * out


def tanh(x: ArrayLike) -> np.ndarray:
    """Hyperbolic tangent. x: any shape -> same shape."""
    x = as_float_array(x, "x")
    return np.tanh(x)


def tanh_backward(grad_out: ArrayLike, out: ArrayLike) -> np.ndarray:
    """grad_out, out = tanh(x): same shape -> grad_x = grad_out * (1 - out ** 2)."""
    grad, out = _pair_args(grad_out, out, "out")
    return grad * (1 - out * out)


def softplus(x: ArrayLike, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as torch).

    x: any shape -> same shape. Computed as max(z, 0) + log1p(exp(-|z|)), z = beta * x, which
    never overflows.
    """
    x = as_float_array(x, "x")
    beta = _as_real(beta, "beta", nonzero=True)
    threshold = _as_real(threshold, "threshold")
    z = x * x.dtype.type(beta)
    smooth = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / x.dtype.type(beta)
    return np.where(z > threshold, x, smooth)


def softplus_backward(
    grad_out: ArrayLike, x: ArrayLike, beta: float = 1.0, threshold: float = 20.0
) -> np.ndarray:
    """grad_out, x: same shape -> grad_x = grad_out * sigmoid(beta * x).

    Where beta * x > threshold, softplus is the identity and grad_x = grad_out.
    """
    grad, x = _pair_args(grad_out, x)
    beta = _as_real(beta, "beta", nonzero=True)
    threshold = _as_real(threshold, "threshold")
    z = x * x.dtype.type(beta)
    return np.where(z > threshold, grad, grad * special.expit(z))


def gelu(x: ArrayLike, approximate: str = "none") -> np.ndarray:
    """x * Phi(x), Phi the standard normal CDF; x: any shape -> same shape.

    ``approximate="tanh"`` uses 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))).
    """
    x = as_float_array(x, "x")
    if _gelu_mode(approximate) == "tanh":
        return 0.5 * x * (1 + np.tanh(_gelu_inner(x)))
    return 0.5 * x * (1 + special.erf(x / math.sqrt(2.0)))


def gelu_backward(grad_out: ArrayLike, x: ArrayLike, approximate: str = "none") -> np.ndarray:
    """grad_out, x: same shape -> grad_x, the derivative of :func:`gelu` times grad_out."""
    grad, x = _pair_args(grad_out, x)
    if _gelu_mode(approximate) == "tanh":
        t = np.tanh(_gelu_inner(x))
        inner_slope = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_COEF * x * x)
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_slope)
    cdf = 0.5 * (1 + special.erf(x / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return grad * (cdf + x * pdf)


def _gelu_mode(approximate) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def _gelu_inner(x: np.ndarray) -> np.ndarray:
    return _SQRT_2_OVER_PI * (x + _GELU_TANH_COEF * x * x * x)


# ---- softmax -------------------------------------------------------------------------------


def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """exp(x) / sum(exp(x)) along ``axis``; x: any shape -> same shape.

    The maximum along ``axis`` is subtracted first, so large inputs do not overflow.
    """
    x = as_float_array(x, "x")
    shifted = x - np.max(x, axis=_axis(axis, x.ndim), keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_backward(grad_out: ArrayLike, out: ArrayLike, axis: int = -1) -> np.ndarray:
    """grad_out, out = softmax(x, axis): same shape -> grad_x.

    grad_x = out * (grad_out - sum(grad_out * out, axis)).
    """
    grad, out = _pair_args(grad_out, out, "out")
    axis = _axis(axis, out.ndim)
    return out * (grad - np.sum(grad * out, axis=axis, keepdims=True))


def log_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """x - log(sum(exp(x))) along ``axis``, stably; x: any shape -> same shape."""
    x = as_float_array(x, "x")
    shifted = x - np.max(x, axis=_axis(axis, x.ndim), keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax_backward(grad_out: ArrayLike, out: ArrayLike, axis: int = -1) -> np.ndarray:
    """grad_out, out = log_softmax(x, axis): same shape -> grad_x.

    grad_x = grad_out - exp(out) * sum(grad_out, axis).
    """
    grad, out = _pair_args(grad_out, out, "out")
    axis = _axis(axis, out.ndim)
    return grad - np.exp(out) * np.sum(grad, axis=axis, keepdims=True)
