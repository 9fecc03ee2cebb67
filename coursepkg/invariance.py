"""Measure how much a layer or a model changes when its input is shifted by a few pixels.

Shifting an image and comparing outputs turns "pooling gives translation invariance" into
numbers: :func:`fraction_unchanged` and :func:`relative_change` for a layer such as max pooling,
:func:`prediction_consistency` and :func:`shifted_accuracy` for a trained classifier.
:class:`BlurPool2d` and :class:`MaxBlurPool2d` are the anti-aliased downsampling layers of
Zhang (2019), "Making Convolutional Networks Shift-Invariant Again": blur, then subsample.

Images are ``(..., H, W)``: one image ``(H, W)`` or a batch ``(N, C, H, W)``. A shift
``(dy, dx)`` moves the content ``dy`` rows down and ``dx`` columns right (negative: up, left).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from coursepkg._checks import as_int, as_real
from coursepkg.training import predict

__all__ = [
    "BlurPool2d",
    "MaxBlurPool2d",
    "axis_shifts",
    "blur_kernel",
    "blur_pool2d",
    "fraction_unchanged",
    "max_blur_pool2d",
    "plot_shift_curves",
    "prediction_consistency",
    "relative_change",
    "shift_image",
    "shifted_accuracy",
]

MODES = ("constant", "circular")
PADDING_MODES = ("reflect", "replicate", "constant")


# --------------------------------------------------------------------------------------------
# Shifting images
# --------------------------------------------------------------------------------------------


def shift_image(x, dy: int, dx: int, fill: float = 0.0, mode: str = "constant"):
    """Move the content of ``x`` by ``dy`` rows down and ``dx`` columns right.

    x: NumPy array or torch tensor (..., H, W) -> same type, shape and dtype.
    mode "constant": pixels pushed past the border are lost and the uncovered ones are set to
    ``fill`` (a shift of H rows or more leaves only ``fill``). mode "circular": pixels pushed
    past one border come back at the other (``np.roll``), so nothing is lost.
    """
    x = _as_image(x)
    dy, dx = _as_shift(dy, "dy"), _as_shift(dx, "dx")
    if not isinstance(fill, numbers.Real):
        raise TypeError(f"fill must be a real number, got {fill!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if mode == "circular":
        if isinstance(x, torch.Tensor):
            return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
        return np.roll(x, (dy, dx), axis=(-2, -1))
    out = torch.full_like(x, fill) if isinstance(x, torch.Tensor) else np.full_like(x, fill)
    height, width = x.shape[-2:]
    if abs(dy) >= height or abs(dx) >= width:
        return out
    out[..., _target(dy), _target(dx)] = x[..., _source(dy), _source(dx)]
    return out


def axis_shifts(size: int) -> list[tuple[int, int]]:
    """The four shifts by ``size`` pixels along one axis: down, up, right, left.

    ``axis_shifts(0)`` is ``[(0, 0)]``, the unshifted image, so that one loop over sizes
    0, 1, 2, ... measures the reference and the shifts alike.
    """
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 0:
        raise ValueError(f"size must be a non-negative int, got {size!r}")
    if size == 0:
        return [(0, 0)]
    return [(size, 0), (-size, 0), (0, size), (0, -size)]


def _target(d: int) -> slice:
    """Where the kept pixels land along one axis after a shift by ``d``."""
    return slice(d, None) if d >= 0 else slice(None, d)


def _source(d: int) -> slice:
    """Which pixels along one axis are kept by a shift of ``d``."""
    return slice(None, -d if d > 0 else None) if d >= 0 else slice(-d, None)


def _as_image(x):
    if not isinstance(x, np.ndarray | torch.Tensor):
        raise TypeError(f"x must be a NumPy array or a torch tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions (..., H, W), got shape {x.shape}")
    return x


def _as_shift(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


def _as_shifts(shifts) -> list[tuple[int, int]]:
    """``shifts`` as a non-empty list of ``(dy, dx)`` int pairs."""
    try:
        pairs = [tuple(pair) for pair in shifts]
    except TypeError:
        raise ValueError(f"shifts must be a sequence of (dy, dx) pairs, got {shifts!r}") from None
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"shifts must be a non-empty sequence of (dy, dx) pairs, got {shifts!r}")
    return [(_as_shift(dy, "shifts[...][0]"), _as_shift(dx, "shifts[...][1]")) for dy, dx in pairs]


# --------------------------------------------------------------------------------------------
# How much a layer's output changes
# --------------------------------------------------------------------------------------------


def fraction_unchanged(
    f: Callable, x, shifts: Iterable, atol: float = 0.0, mode: str = "constant"
) -> np.ndarray:
    """For each shift, the fraction of the values of ``f(x)`` that the shift leaves unchanged.

    f: a function of images, such as max pooling; x (..., H, W) NumPy array or tensor.
    shifts: sequence of S pairs ``(dy, dx)`` -> fractions (S,) in [0, 1]: the share of
    positions where ``f(shift_image(x, dy, dx))`` equals ``f(x)`` within ``atol``. Outputs are
    compared position by position, so a shifted but otherwise equal output counts as changed:
    this measures invariance, not equivariance.
    """
    atol = as_real(atol, "atol")
    reference, shifted = _outputs(f, x, shifts, mode)
    return np.array([np.mean(np.abs(out - reference) <= atol) for out in shifted])


def relative_change(f: Callable, x, shifts: Iterable, mode: str = "constant") -> np.ndarray:
    """For each shift, ``||f(shifted x) - f(x)|| / ||f(x)||`` (Frobenius norms).

    f, x, shifts as in :func:`fraction_unchanged` -> relative changes (S,); 0 means invariant.
    """
    reference, shifted = _outputs(f, x, shifts, mode)
    norm = np.linalg.norm(reference)
    if norm == 0:
        raise ValueError("f(x) must not be all zeros: the relative change is undefined")
    return np.array([np.linalg.norm(out - reference) / norm for out in shifted])


def _outputs(f: Callable, x, shifts, mode: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """f(x) and f(shifted x) for every shift, as float64 NumPy arrays of one shape."""
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x, shifts = _as_image(x), _as_shifts(shifts)
    reference = _to_numpy(f(x))
    shifted = [_to_numpy(f(shift_image(x, dy, dx, mode=mode))) for dy, dx in shifts]
    for out in shifted:
        if out.shape != reference.shape:
            raise ValueError(
                f"f must give outputs of one shape, got {reference.shape} and {out.shape}"
            )
    return reference, shifted


def _to_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# How much a classifier's predictions change
# --------------------------------------------------------------------------------------------


def prediction_consistency(
    model: nn.Module, x, shifts: Iterable, fill: float = 0.0, mode: str = "constant"
) -> np.ndarray:
    """For each shift, the fraction of images whose predicted class the shift leaves unchanged.

    model: a classifier, images (N, C, H, W) -> class scores (N, K). x (N, C, H, W) NumPy
    array or tensor. shifts: S pairs ``(dy, dx)`` -> fractions (S,) in [0, 1].
    """
    labels = _labels_under_shifts(model, x, [(0, 0), *_as_shifts(shifts)], fill, mode)
    return np.array([np.mean(shifted == labels[0]) for shifted in labels[1:]])


def shifted_accuracy(
    model: nn.Module, x, y, shifts: Iterable, fill: float = 0.0, mode: str = "constant"
) -> np.ndarray:
    """For each shift, the accuracy of ``model`` on the shifted images.

    x (N, C, H, W), y (N,) integer labels; shifts: S pairs ``(dy, dx)`` -> accuracies (S,).
    """
    y = _to_numpy(y)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must hold one label per image ({len(x)}), got shape {y.shape}")
    labels = _labels_under_shifts(model, x, _as_shifts(shifts), fill, mode)
    return np.array([np.mean(shifted == y) for shifted in labels])


def _labels_under_shifts(model, x, shifts, fill, mode) -> list[np.ndarray]:
    """The predicted labels (N,) of every shifted copy of the batch x (N, C, H, W)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _as_image(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {x.shape}")
    return [
        predict(model, shift_image(x, dy, dx, fill=fill, mode=mode)).argmax(1).numpy()
        for dy, dx in shifts
    ]


# --------------------------------------------------------------------------------------------
# Anti-aliased downsampling: blur, then subsample (Zhang 2019)
# --------------------------------------------------------------------------------------------


def blur_kernel(size: int = 3, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The normalised binomial filter of ``size`` taps per side, a (size, size) tensor.

    Row ``[1, 2, 1] / 4`` for size 3, ``[1, 3, 3, 1] / 8`` for 4; the kernel is its outer
    product with itself and sums to 1. Size 1 is no blur. dtype: default torch's default.
    """
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or not 1 <= size <= 16:
        raise ValueError(f"size must be an int from 1 to 16, got {size!r}")
    row = torch.tensor([math.comb(size - 1, k) for k in range(size)], dtype=torch.float64)
    kernel = torch.outer(row, row) / row.sum() ** 2
    return kernel.to(torch.get_default_dtype() if dtype is None else dtype)


def blur_pool2d(
    x: torch.Tensor, stride: int = 2, filter_size: int = 3, padding_mode: str = "reflect"
) -> torch.Tensor:
    """Blur every channel with :func:`blur_kernel`, keeping every ``stride``-th pixel.

    x (N, C, H, W) -> (N, C, ceil(H / stride), ceil(W / stride)). The input is padded by
    ``(filter_size - 1) // 2`` before and ``filter_size // 2`` after along each axis with
    ``padding_mode`` ("reflect", "replicate" or "constant" zeros), as in Zhang's BlurPool;
    a constant image stays constant except with zero padding.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise TypeError(f"x must be a torch tensor (N, C, H, W), got {_describe(x)}")
    stride = as_int(stride, "stride")
    kernel = blur_kernel(filter_size, dtype=x.dtype).to(x.device)
    _check_padding_mode(padding_mode)
    before, after = (filter_size - 1) // 2, filter_size // 2
    if padding_mode == "reflect" and max(before, after) >= min(x.shape[2:]):
        raise ValueError(
            f"x of size {tuple(x.shape[2:])} is too small for reflect padding by {after}; "
            "use padding_mode='replicate' or a smaller filter_size"
        )
    padded = F.pad(x, (before, after, before, after), mode=padding_mode)
    channels = x.shape[1]
    weight = kernel.expand(channels, 1, filter_size, filter_size)
    return F.conv2d(padded, weight, stride=stride, groups=channels)


def max_blur_pool2d(
    x: torch.Tensor, kernel_size: int = 2, stride: int = 2, filter_size: int = 3
) -> torch.Tensor:
    """Max pooling made shift-tolerant: max over windows with stride 1, then :func:`blur_pool2d`.

    x (N, C, H, W) -> (N, C, ceil((H - kernel_size + 1) / stride), same for W). With the
    defaults, an 8 x 8 map becomes 4 x 4, as with ``max_pool2d(x, 2)``.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise TypeError(f"x must be a torch tensor (N, C, H, W), got {_describe(x)}")
    kernel_size = as_int(kernel_size, "kernel_size")
    return blur_pool2d(F.max_pool2d(x, kernel_size, stride=1), stride, filter_size)


class BlurPool2d(nn.Module):
    """Layer form of :func:`blur_pool2d`: x (N, C, H, W) -> (N, C, ceil(H / s), ceil(W / s))."""

    def __init__(self, stride: int = 2, filter_size: int = 3, padding_mode: str = "reflect"):
        super().__init__()
        blur_kernel(filter_size)  # check the arguments now, not at the first forward pass
        _check_padding_mode(padding_mode)
        self.stride = as_int(stride, "stride")
        self.filter_size, self.padding_mode = filter_size, padding_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return blur_pool2d(x, self.stride, self.filter_size, self.padding_mode)

    def extra_repr(self) -> str:
        mode = self.padding_mode
        return f"stride={self.stride}, filter_size={self.filter_size}, padding_mode={mode!r}"


class MaxBlurPool2d(nn.Module):
    """Layer form of :func:`max_blur_pool2d`, a drop-in for ``nn.MaxPool2d(2)`` (Zhang 2019)."""

    def __init__(self, kernel_size: int = 2, stride: int = 2, filter_size: int = 3):
        super().__init__()
        self.kernel_size = as_int(kernel_size, "kernel_size")
        self.blur = BlurPool2d(stride, filter_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blur(F.max_pool2d(x, self.kernel_size, stride=1))

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}"


def _check_padding_mode(padding_mode) -> None:
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"padding_mode must be one of {', '.join(PADDING_MODES)}; got {padding_mode!r}"
        )


def _describe(x) -> str:
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__} of shape {tuple(shape)}" if shape is not None else type(x).__name__


# --------------------------------------------------------------------------------------------
# Figure
# --------------------------------------------------------------------------------------------


def plot_shift_curves(
    shifts, curves: dict, ylabel: str, title: str | None = None, ax=None, xlabel="shift (pixels)"
) -> Figure:
    """One line per entry of ``curves`` (label -> values (S,)) against ``shifts`` (S,).

    For measurements such as :func:`fraction_unchanged` against the size of the shift. ax: draw
    there, else on a new figure. The y axis spans [0, 1.02] when every value lies in [0, 1].
    """
    shifts = np.asarray(shifts)
    if not curves:
        raise ValueError("curves must hold at least one curve, got none")
    for label, values in curves.items():
        if np.shape(values) != shifts.shape:
            raise ValueError(
                f"curves[{label!r}] must have one value per shift {shifts.shape}, "
                f"got shape {np.shape(values)}"
            )
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.2))
    for label, values in curves.items():
        ax.plot(shifts, values, marker="o", ms=4, label=label)
    if all(0 <= np.min(v) and np.max(v) <= 1 for v in curves.values()):
        ax.set_ylim(0, 1.02)
    ax.set(xlabel=xlabel, ylabel=ylabel, xticks=shifts)
    ax.grid(alpha=0.3)
    ax.legend()
    if title is not None:
        ax.set_title(title)
    return ax.figure
