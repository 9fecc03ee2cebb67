"""Pooling in NumPy: max, average, adaptive and global pooling with their backward passes.

Arrays are ``(N, C, H, W)``. Every function agrees with its ``torch.nn.functional`` namesake:
same defaults, output sizes, padding and ``ceil_mode`` rules, and the backward functions route
the gradient exactly as PyTorch's autograd does.

How it is computed: a 2-D window reduction (max or sum) is separable, so we reduce along the
width first (``(N, C, H, W) -> (N, C, H, OW)``) and then along the height
(``-> (N, C, OH, OW)``). Each 1-D reduction is one strided NumPy operation per kernel offset:
offset ``i`` of every window reads ``x[o * stride - padding + i * dilation]``, a strided slice.
Positions in the padding are never read; they are simply left out of the slice, which is the
same as padding with ``-inf`` (max) or ``0`` (average). The backward passes run the same loop
the other way round, scattering the gradient back through the same slices.

Two shortcuts where they are faster: average pooling of small planes is a product with two
small averaging matrices, and max pooling's backward, given the indices that the forward
returned, adds each gradient straight to its index.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._checks import as_float_array, as_pair, result_dtype

__all__ = [
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "global_avg_pool2d",
    "global_avg_pool2d_backward",
    "global_max_pool2d",
    "global_max_pool2d_backward",
]

_ROWS, _COLS = -2, -1


# --------------------------------------------------------------------------------------------
# Geometry shared by max and average pooling
# --------------------------------------------------------------------------------------------


class _Axis(NamedTuple):
    """Pooling geometry along one spatial axis: ``size`` inputs pooled into ``out`` outputs."""

    size: int
    kernel: int
    stride: int
    padding: int
    dilation: int
    out: int

    def window_slices(self, i: int) -> tuple[slice, slice] | None:
        """Outputs whose window offset ``i`` falls inside the input, and the inputs it reads.

        Output ``o`` reads input ``o * stride - padding + i * dilation``; outputs reading the
        padding (or past the end, in ceil mode) are left out. ``None`` when no output remains.
        """
        shift = i * self.dilation - self.padding
        first = max(0, -(shift // self.stride))  # ceil(-shift / stride)
        last = min(self.out, (self.size - 1 - shift) // self.stride + 1)
        if last <= first:
            return None
        start = first * self.stride + shift
        stop = start + (last - first - 1) * self.stride + 1
        return slice(first, last), slice(start, stop, self.stride)

    def touches_input(self) -> np.ndarray:
        """Whether each window has a tap inside the input, shape (out,) bool.

        Only dilation with ``ceil_mode`` can make a window fall entirely into the padding.
        """
        taps = self.starts()[:, None] + np.arange(self.kernel) * self.dilation
        return ((taps >= 0) & (taps < self.size)).any(axis=1)

    def starts(self) -> np.ndarray:
        """Input index of each window's first tap (negative inside the padding), shape (out,)."""
        return np.arange(self.out) * self.stride - self.padding


def _pooled_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool
) -> int:
    """Number of windows along one axis, PyTorch's ``pooling_output_shape``.

    With ``ceil_mode`` the last, partial window is kept unless it would start in the right
    padding (PyTorch drops it then).
    """
    span = dilation * (kernel - 1) + 1
    numerator = size + 2 * padding - span + (stride - 1 if ceil else 0)
    out = numerator // stride + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _geometry(
    x: np.ndarray, kernel_size, stride, padding, dilation, ceil_mode
) -> tuple[_Axis, _Axis]:
    """Check the pooling arguments against ``x`` (N, C, H, W); return the (rows, cols) axes."""
    kernel = as_pair(kernel_size, "kernel_size")
    step = kernel if stride is None else as_pair(stride, "stride")
    pad = as_pair(padding, "padding", minimum=0)
    dil = as_pair(dilation, "dilation")
    _check_bool(ceil_mode, "ceil_mode")
    if any(p > k // 2 for p, k in zip(pad, kernel, strict=True)):
        raise ValueError(
            f"padding must be at most half of kernel_size (as PyTorch requires), "
            f"got padding={padding!r} for kernel_size={kernel_size!r}"
        )
    axes = []
    for size, k, s, p, d in zip(x.shape[2:], kernel, step, pad, dil, strict=True):
        out = _pooled_size(size, k, s, p, d, ceil_mode)
        if out < 1:
            raise ValueError(
                f"kernel_size {kernel} with dilation {dil} is larger than the padded input "
                f"{tuple(x.shape[2:])} + 2 * padding {pad}: no output left"
            )
        axes.append(_Axis(size, k, s, p, d, out))
    return axes[0], axes[1]


def _as_images(x: ArrayLike) -> np.ndarray:
    """``x`` as a float (N, C, H, W) array with at least one pixel per plane."""
    x = as_float_array(x, "x", ndim=4)
    if 0 in x.shape[2:]:
        raise ValueError(f"x must have non-empty planes (H, W >= 1), got shape {x.shape}")
    return x


def _check_bool(value, name: str) -> None:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {value!r}")


def _check_grad(grad_out: ArrayLike, expected: tuple[int, ...]) -> np.ndarray:
    """grad_out as a float array of the pooled output's shape ``expected``."""
    grad = as_float_array(grad_out, "grad_out", ndim=4)
    if grad.shape != expected:
        raise ValueError(f"grad_out must have the output's shape {expected}, got {grad.shape}")
    return grad


def _along(arr: np.ndarray, axis: int, index: slice) -> np.ndarray:
    """``arr[..., index, :]`` for the rows axis, ``arr[..., index]`` for the columns axis."""
    return arr[..., index, :] if axis == _ROWS else arr[..., index]


def _resized(arr: np.ndarray, axis: int, size: int) -> tuple[int, ...]:
    shape = list(arr.shape)
    shape[axis] = size
    return tuple(shape)


# --------------------------------------------------------------------------------------------
# 1-D building blocks: reduce along one axis, scatter back along one axis
# --------------------------------------------------------------------------------------------


def _reduce_along(v: np.ndarray, axis: int, ax: _Axis, ufunc: np.ufunc) -> np.ndarray:
    """Reduce each window along ``axis`` with ``np.maximum`` or ``np.add``.

    Taps in the padding are left out, as if they held the ufunc's identity (``-inf`` or 0).
    The first two taps that every window has are combined straight into the result.
    """
    taps = [t for t in map(ax.window_slices, range(ax.kernel)) if t is not None]
    whole = slice(0, ax.out)
    full = [t for t in taps if t[0] == whole]
    if len(full) >= 2:
        total = ufunc(_along(v, axis, full[0][1]), _along(v, axis, full[1][1]))
        taps = [t for t in taps if t not in full[:2]]
    else:
        identity = -np.inf if ufunc is np.maximum else 0
        total = np.full(_resized(v, axis, ax.out), identity, dtype=v.dtype)
    for out_index, in_index in taps:
        dst = _along(total, axis, out_index)
        ufunc(dst, _along(v, axis, in_index), out=dst)
    return total


def _argmax_along(
    v: np.ndarray, axis: int, ax: _Axis, nan_aware: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window along ``axis`` and the kernel offset where PyTorch finds it.

    PyTorch scans a window in order and moves to a tap when it is larger than the best so far
    (or, with ``nan_aware``, is NaN): ties go to the first maximum, a NaN to the last NaN, and
    a window of ``-inf`` to its first tap inside the input. Returns (max, offset), offset as
    uint8 (int32 for kernels of 256 taps or more). Branch-free: offsets only grow in the scan.
    """
    shape = _resized(v, axis, ax.out)
    best = np.full(shape, -np.inf, dtype=v.dtype)
    offset = np.empty(shape, dtype=np.uint8 if ax.kernel < 256 else np.int32)
    first_inside = -(np.minimum(ax.starts(), 0) // ax.dilation)  # ceil(-start / dilation)
    offset[...] = first_inside[:, None] if axis == _ROWS else first_inside
    for i in range(ax.kernel):
        taps = ax.window_slices(i)
        if taps is None:
            continue
        cand, cur = _along(v, axis, taps[1]), _along(best, axis, taps[0])
        if i > 0:  # offset 0 never moves an offset
            wins = cand > cur
            if nan_aware:
                wins |= np.isnan(cand)
            moved = _along(offset, axis, taps[0])
            np.maximum(moved, np.multiply(wins, i, dtype=offset.dtype), out=moved)
        np.maximum(cur, cand, out=cur)
    return best, offset


def _scatter_along(
    grad: np.ndarray, axis: int, ax: _Axis, offset: np.ndarray | None = None
) -> np.ndarray:
    """Send each window's gradient back to its inputs along ``axis``; overlaps accumulate.

    With ``offset`` (from :func:`_argmax_along`) only the chosen tap of each window receives
    the gradient; without, every tap inside the input receives all of it.
    """
    out = np.zeros(_resized(grad, axis, ax.size), dtype=grad.dtype)
    disjoint = ax.stride >= ax.dilation * (ax.kernel - 1) + 1  # each input in <= 1 window
    for i in range(ax.kernel):
        taps = ax.window_slices(i)
        if taps is None:
            continue
        dst, src = _along(out, axis, taps[1]), _along(grad, axis, taps[0])
        if offset is not None:
            chosen = _along(offset, axis, taps[0]) == i
            src = np.multiply(src, chosen, out=dst if disjoint else None)
        if not disjoint:
            np.add(dst, src, out=dst)
        elif offset is None:
            np.copyto(dst, src)
    return out


# --------------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------------


def max_pool2d(
    x: ArrayLike,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Max over sliding windows, like ``torch.nn.functional.max_pool2d``.

    x (N, C, H, W) -> out (N, C, OH, OW), with
    ``OH = floor((H + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``
    (``ceil`` instead of ``floor`` when ``ceil_mode``; a last window starting in the padding is
    dropped). ``kernel_size``, ``stride`` (default: ``kernel_size``), ``padding`` (at most half
    the kernel) and ``dilation`` are ints or (height, width) pairs. Padding counts as ``-inf``.

    With ``return_indices`` also returns indices (N, C, OH, OW) int64: for each output, the flat
    position ``h * W + w`` of the maximum in its input plane, the first one in row-major order
    when several tie, as PyTorch picks it.

    Only with dilation and ``ceil_mode`` can a window cover no input at all: its output is
    ``-inf`` as in PyTorch, its index is -1 and it passes no gradient back (PyTorch reports a
    position outside the window there and sends the gradient to it).
    """
    x = _as_images(x)
    rows, cols = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    _check_bool(return_indices, "return_indices")
    if not return_indices:
        return _reduce_along(_reduce_along(x, _ROWS, rows, np.maximum), _COLS, cols, np.maximum)
    out, row_offset, col_offset = _max_pool_with_offsets(x, rows, cols)
    row = rows.starts()[:, None] + row_offset.astype(np.int64) * rows.dilation
    in_rows = row < rows.size  # False only where a window covers no input row
    col_offset = np.take_along_axis(col_offset, np.where(in_rows, row, 0), axis=_ROWS)
    col = cols.starts() + col_offset.astype(np.int64) * cols.dilation
    return out, np.where(in_rows & (col < cols.size), row * cols.size + col, -1)


def max_pool2d_backward(
    grad_out: ArrayLike,
    x: ArrayLike,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    *,
    indices: ArrayLike | None = None,
) -> np.ndarray:
    """Gradient of :func:`max_pool2d` with respect to ``x``.

    grad_out (N, C, OH, OW), x (N, C, H, W) -> grad_x (N, C, H, W). Each output's gradient goes
    entirely to the input PyTorch's max pooling picks (the first maximum in row-major order
    when several tie); inputs picked by several overlapping windows receive the sum.

    ``indices`` (N, C, OH, OW), integers: what ``max_pool2d(..., return_indices=True)`` returned
    for the same ``x`` and arguments. With them the gradient is only scattered to those
    positions, as PyTorch's autograd does; without them each window's maximum is found again
    from ``x``, which is several times slower. They are trusted, not range checked: an index
    outside its plane raises ``IndexError`` or sends gradient to the wrong input.
    """
    x = _as_images(x)
    rows, cols = _geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    grad = _check_grad(grad_out, x.shape[:2] + (rows.out, cols.out))
    grad = grad.astype(result_dtype(grad, x), copy=False)
    if indices is not None:
        return _scatter_to_indices(grad, _check_indices(indices, grad.shape), x.shape, rows, cols)
    _, row_offset, col_offset = _max_pool_with_offsets(x, rows, cols)
    per_row = _scatter_along(grad, _ROWS, rows, row_offset)
    return _scatter_along(per_row, _COLS, cols, col_offset)


def _check_indices(indices: ArrayLike, expected: tuple[int, ...]) -> np.ndarray:
    """indices as an integer array of the pooled output's shape ``expected``."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"indices must hold integers, got dtype {idx.dtype}")
    if idx.shape != expected:
        raise ValueError(f"indices must have the output's shape {expected}, got {idx.shape}")
    return idx


def _scatter_to_indices(
    grad: np.ndarray, idx: np.ndarray, shape: tuple[int, ...], rows: _Axis, cols: _Axis
) -> np.ndarray:
    """Add grad (N, C, OH, OW) into zeros of ``shape`` (N, C, H, W) at the flat plane ``idx``.

    Overlapping windows can pick the same input, and ``np.add.at`` sums repeated indices where
    ``out[flat] += grad`` would keep only one of them. Since NumPy 1.25 it is as fast as that
    plain assignment (measured: splitting the outputs into groups of disjoint windows and
    assigning group by group took 3-4 times longer).
    """
    plane = shape[2] * shape[3]
    flat = idx + np.arange(0, shape[0] * shape[1] * plane, plane).reshape(shape[:2] + (1, 1))
    touched = np.outer(rows.touches_input(), cols.touches_input())
    if not touched.all():  # such windows have index -1 and pass nothing back: add 0 to 0
        grad, flat = np.where(touched, grad, 0), np.where(touched, flat, 0)
    out = np.zeros(shape, dtype=grad.dtype)
    np.add.at(out.reshape(-1), flat.reshape(-1), grad.reshape(-1))
    return out


def _max_pool_with_offsets(x: np.ndarray, rows: _Axis, cols: _Axis):
    """Max pool ``x`` and say where each maximum is.

    Returns out (N, C, OH, OW), row_offset (N, C, OH, OW): the kernel row of the maximum,
    col_offset (N, C, H, OW): for every input row, the kernel column of that row's maximum.
    Taking the first winning row, then that row's first winning column, is exactly PyTorch's
    row-major scan.
    """
    row_max, col_offset = _argmax_along(x, _COLS, cols)
    out, row_offset = _argmax_along(row_max, _ROWS, rows)
    if np.isnan(out).any():  # rare: scan again, letting each NaN win as in PyTorch
        row_max, col_offset = _argmax_along(x, _COLS, cols, nan_aware=True)
        out, row_offset = _argmax_along(row_max, _ROWS, rows, nan_aware=True)
    return out, row_offset, col_offset


# --------------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------------


def avg_pool2d(
    x: ArrayLike,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Mean over sliding windows, like ``torch.nn.functional.avg_pool2d``.

    x (N, C, H, W) -> out (N, C, OH, OW), sizes as in :func:`max_pool2d` (no dilation).
    Padding counts as zeros. The divisor is the window's size clipped to the padded input
    (``count_include_pad=True``) or the number of real inputs in it (``False``); a ceil-mode
    window hanging past the padding is clipped in both cases, as in PyTorch.
    """
    x = _as_images(x)
    rows, cols = _geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    _check_bool(count_include_pad, "count_include_pad")
    if _dense_pays(rows) and _dense_pays(cols):
        mean_h = _mean_matrix(rows, count_include_pad, x.dtype)
        mean_w = _mean_matrix(cols, count_include_pad, x.dtype)
        with np.errstate(invalid="ignore"):
            out = mean_h @ x @ mean_w.T
        # An inf in x times a zero weight puts NaN in windows without it: then use the slices
        if not np.isnan(out).any():
            return out
    total = _reduce_along(_reduce_along(x, _ROWS, rows, np.add), _COLS, cols, np.add)
    total /= _divisor(rows, cols, count_include_pad, x.dtype)
    return total


def avg_pool2d_backward(
    grad_out: ArrayLike,
    x: ArrayLike,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Gradient of :func:`avg_pool2d` with respect to ``x``.

    grad_out (N, C, OH, OW), x (N, C, H, W) -> grad_x (N, C, H, W): each output's gradient,
    divided by its window's divisor, is added to every real input of the window.
    ``x`` is only used for its shape.
    """
    x = _as_images(x)
    rows, cols = _geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    grad = _check_grad(grad_out, x.shape[:2] + (rows.out, cols.out))
    grad = grad / _divisor(rows, cols, count_include_pad, result_dtype(grad, x))
    return _scatter_along(_scatter_along(grad, _COLS, cols), _ROWS, rows)


def _dense_pays(ax: _Axis) -> bool:
    """Whether to average along ``ax`` with a dense (out, size) matrix product.

    A matrix product does ``size`` multiply-adds per output where the strided slices do
    ``kernel`` additions, but BLAS runs them so much faster that on small planes it wins:
    measured on float32 (32, 64, 32, 32), kernel 3 stride 2 takes 1.0 ms against 2.5 ms.
    From 64 inputs along an axis (kernel 2) or 128 (any kernel) the slices are faster.
    """
    return ax.size <= min(16 * ax.kernel, 64)


def _mean_matrix(ax: _Axis, count_include_pad: bool, dtype) -> np.ndarray:
    """(out, size) matrix whose row ``o`` averages the real inputs of window ``o``.

    Row ``o`` holds ``1 / count`` on the window's taps inside the input, ``count`` being its
    share of the divisor along this axis (the divisor is the product of the two shares).
    """
    start = np.maximum(ax.starts(), 0)[:, None]
    end = np.minimum(ax.starts() + ax.kernel, ax.size)[:, None]
    taps = np.arange(ax.size)
    inside = (taps >= start) & (taps < end)
    return (inside / _window_counts(ax, count_include_pad)[:, None]).astype(dtype)


def _divisor(rows: _Axis, cols: _Axis, count_include_pad: bool, dtype) -> np.ndarray:
    """Average pooling's divisor per output, shape (OH, OW), computed as PyTorch does."""
    _check_bool(count_include_pad, "count_include_pad")
    return np.outer(
        _window_counts(rows, count_include_pad), _window_counts(cols, count_include_pad)
    ).astype(dtype)


def _window_counts(ax: _Axis, count_include_pad: bool) -> np.ndarray:
    """Taps per window along one axis: clipped to the padded input, or to the input alone."""
    start = ax.starts()
    end = np.minimum(start + ax.kernel, ax.size + ax.padding)
    if count_include_pad:
        return end - start
    return np.minimum(end, ax.size) - np.maximum(start, 0)


# --------------------------------------------------------------------------------------------
# Adaptive and global pooling
# --------------------------------------------------------------------------------------------


def adaptive_avg_pool2d(x: ArrayLike, output_size) -> np.ndarray:
    """Average pooling to a fixed output size, like ``F.adaptive_avg_pool2d``.

    x (N, C, H, W) -> out (N, C, OH, OW) where ``output_size`` is ``OH`` (square) or
    ``(OH, OW)``; ``None`` in the pair keeps that input size. Output ``o`` along an axis
    averages inputs ``floor(o * H / OH)`` to ``ceil((o + 1) * H / OH)`` (exclusive).
    """
    x = _as_images(x)
    size_h, size_w = _adaptive_size(output_size, x.shape[2:])
    mean_h = _adaptive_matrix(x.shape[2], size_h, x.dtype)
    mean_w = _adaptive_matrix(x.shape[3], size_w, x.dtype)
    return mean_h @ x @ mean_w.T


def adaptive_avg_pool2d_backward(grad_out: ArrayLike, x: ArrayLike) -> np.ndarray:
    """Gradient of :func:`adaptive_avg_pool2d` with respect to ``x``.

    grad_out (N, C, OH, OW), x (N, C, H, W) -> grad_x (N, C, H, W). The output size is read
    from ``grad_out``'s shape; ``x`` is only used for its shape.
    """
    x = _as_images(x)
    grad = as_float_array(grad_out, "grad_out", ndim=4)
    if grad.shape[:2] != x.shape[:2] or 0 in grad.shape[2:]:
        raise ValueError(
            f"grad_out must have shape (N, C, OH, OW) = {x.shape[:2]} + (OH, OW) with "
            f"OH, OW >= 1, got {grad.shape}"
        )
    dtype = result_dtype(grad, x)
    mean_h = _adaptive_matrix(x.shape[2], grad.shape[2], dtype)
    mean_w = _adaptive_matrix(x.shape[3], grad.shape[3], dtype)
    return mean_h.T @ grad.astype(dtype, copy=False) @ mean_w


def _adaptive_size(output_size, input_size: tuple[int, ...]) -> tuple[int, int]:
    """``output_size`` as an (OH, OW) pair of positive ints; ``None`` keeps the input size."""
    if isinstance(output_size, tuple | list) and len(output_size) == 2:
        output_size = tuple(
            n if v is None else v for v, n in zip(output_size, input_size, strict=True)
        )
    return as_pair(output_size, "output_size")


def _adaptive_matrix(size: int, out: int, dtype) -> np.ndarray:
    """(out, size) matrix whose row ``o`` averages adaptive window ``o``."""
    o = np.arange(out)
    start = o * size // out
    end = -((-(o + 1) * size) // out)  # ceil((o + 1) * size / out)
    taps = np.arange(size)
    inside = (taps >= start[:, None]) & (taps < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def global_avg_pool2d(x: ArrayLike) -> np.ndarray:
    """Mean of each channel plane: x (N, C, H, W) -> (N, C, 1, 1).

    Same as ``F.adaptive_avg_pool2d(x, 1)``; the output keeps its two unit spatial axes.
    """
    x = _as_images(x)
    return x.mean(axis=(2, 3), keepdims=True)


def global_avg_pool2d_backward(grad_out: ArrayLike, x: ArrayLike) -> np.ndarray:
    """grad_out (N, C, 1, 1), x (N, C, H, W) -> grad_x (N, C, H, W): grad / (H * W) everywhere.

    ``x`` is only used for its shape.
    """
    x = _as_images(x)
    grad = _check_grad(grad_out, x.shape[:2] + (1, 1))
    grad = grad.astype(result_dtype(grad, x), copy=False)
    height, width = x.shape[2:]
    return np.repeat(np.repeat(grad / (height * width), height, axis=2), width, axis=3)


def global_max_pool2d(x: ArrayLike) -> np.ndarray:
    """Max of each channel plane: x (N, C, H, W) -> (N, C, 1, 1).

    Same as ``F.adaptive_max_pool2d(x, 1)``; the output keeps its two unit spatial axes.
    """
    x = _as_images(x)
    return max_pool2d(x, x.shape[2:])


def global_max_pool2d_backward(grad_out: ArrayLike, x: ArrayLike) -> np.ndarray:
    """grad_out (N, C, 1, 1), x (N, C, H, W) -> grad_x (N, C, H, W).

    Each plane's gradient goes to its maximum (the first in row-major order when several tie),
    as in PyTorch's ``adaptive_max_pool2d(x, 1)``.
    """
    x = _as_images(x)
    return max_pool2d_backward(grad_out, x, x.shape[2:])
