"""Convolution in NumPy: from a sliding window to the fast versions frameworks use.

A convolutional layer slides a small filter (the *kernel*) over an image and, at every position,
takes the dot product between the filter and the patch of image under it. Deep-learning libraries
call this "convolution" although, strictly, it is *cross-correlation*: true convolution flips the
kernel first. Both are here:

- ``correlate2d`` / ``convolve2d``: one 2-D image ``(H, W)`` and one kernel ``(kH, kW)``, the way
  signal processing (and ``scipy.signal``) defines them.
- ``conv2d`` / ``conv2d_backward``: a batch of multi-channel images ``(N, C_in, H, W)`` and a
  filter bank ``(C_out, C_in, kH, kW)`` with stride, padding and dilation, matching
  ``torch.nn.functional.conv2d`` and its autograd gradients.
- ``im2col``: the patches laid out as columns, so that the whole layer becomes one matrix product.
- ``correlate2d_naive`` / ``conv2d_naive``: the readable loops the chapter starts from, kept as
  references and as the baseline of the speed benchmark.
- ``output_size``: how many positions the window takes along one axis.

The fast versions never loop over output positions. They loop over the kernel *taps* (the
kH * kW weights of a kernel) instead: each tap multiplies a shifted view of the whole input by one
weight (or, with channels, by one C_out x C_in matrix) and adds it to the output.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple, TypeVar

import numpy as np

from . import _blas
from ._checks import _is_int, as_float_array, as_pair, result_dtype

__all__ = [
    "conv2d",
    "conv2d_backward",
    "conv2d_naive",
    "convolve2d",
    "correlate2d",
    "correlate2d_naive",
    "im2col",
    "output_size",
]

T = TypeVar("T")
Pads = tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))

# Rows of the image handled at once by correlate2d: small enough that a block of the output and
# its temporary stay in the CPU cache while the kernel taps are added into it.
_ROW_BLOCK = 64


class _Geometry(NamedTuple):
    """Everything about a convolution that does not depend on the values."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: Pads
    out: tuple[int, int]


# ----------------------------------------------------------------------------------------------
# Output size and padding
# ----------------------------------------------------------------------------------------------


def output_size(size, kernel_size, stride=1, padding=0, dilation=1) -> int | tuple[int, int]:
    """Number of window positions along an axis: floor((size + 2p - d(k - 1) - 1) / s) + 1.

    Every argument is an int or an ``(height, width)`` pair. The result is an int when all the
    arguments are ints, an ``(OH, OW)`` pair otherwise. Raises ``ValueError`` when the dilated
    kernel does not fit in the padded input (the result would be < 1).
    """
    args = (size, kernel_size, stride, padding, dilation)
    sizes = as_pair(size, "size")
    kernel = as_pair(kernel_size, "kernel_size")
    strides = as_pair(stride, "stride")
    pads = as_pair(padding, "padding", minimum=0)
    dilations = as_pair(dilation, "dilation")
    out = tuple(
        _axis_output(sizes[a], kernel[a], strides[a], 2 * pads[a], dilations[a], "kernel_size")
        for a in range(2)
    )
    return out[0] if all(_is_int(v) for v in args) else out


def _axis_output(size: int, k: int, s: int, total_pad: int, d: int, name: str) -> int:
    span = d * (k - 1) + 1  # extent of the dilated kernel
    padded = size + total_pad
    if span > padded:
        raise ValueError(
            f"{name} {k} (dilation {d}, so it spans {span}) is larger than the padded input "
            f"of size {padded}"
        )
    return (padded - span) // s + 1


def _resolve_padding(padding, kernel, dilation, stride, modes: tuple[str, ...]) -> Pads:
    """Turn ``padding`` (int, pair or one of ``modes``) into explicit (before, after) pads."""
    if isinstance(padding, str):
        if padding not in modes:
            raise ValueError(
                f"padding must be a non-negative int, a pair of them, or one of {modes}, "
                f"got {padding!r}"
            )
        spans = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "full":
            return (spans[0], spans[0]), (spans[1], spans[1])
        if stride != (1, 1):
            raise ValueError(f'padding="same" needs stride 1, got stride {stride}')
        # Like PyTorch: when the total is odd the extra row/column goes to the bottom/right.
        return tuple((t // 2, t - t // 2) for t in spans)
    ph, pw = as_pair(padding, "padding", minimum=0)
    return (ph, ph), (pw, pw)


def _geometry(in_hw, kernel, stride, padding, dilation, modes, name) -> _Geometry:
    stride = as_pair(stride, "stride")
    dilation = as_pair(dilation, "dilation")
    pads = _resolve_padding(padding, kernel, dilation, stride, modes)
    out = tuple(
        _axis_output(in_hw[a], kernel[a], stride[a], sum(pads[a]), dilation[a], name)
        for a in range(2)
    )
    return _Geometry(kernel, stride, dilation, pads, out)


def _pad(x: np.ndarray, pads: Pads) -> np.ndarray:
    """Zero-pad the last two axes of ``x``."""
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + list(pads))


# ----------------------------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------------------------


def _array(x, name: str, ndim: int, layout: str) -> np.ndarray:
    arr = as_float_array(x, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions {layout}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def _work_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 when every input is float32, float64 otherwise (also for long doubles)."""
    return np.dtype(np.float32 if result_dtype(*arrays) == np.float32 else np.float64)


def _cast(*arrays: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
    """Cast the arrays (None passes through) to their common working dtype."""
    dtype = _work_dtype(*[a for a in arrays if a is not None])
    return tuple(None if a is None else a.astype(dtype, copy=False) for a in arrays)


def _image_and_kernel(image, kernel) -> tuple[np.ndarray, np.ndarray]:
    image = _array(image, "image", 2, "(H, W)")
    kernel = _array(kernel, "kernel", 2, "(kH, kW)")
    return _cast(image, kernel)


def _conv_inputs(x, weight) -> tuple[np.ndarray, np.ndarray]:
    """Check x (N, C_in, H, W) and weight (C_out, C_in, kH, kW) and that their C_in agree."""
    x = _array(x, "x", 4, "(N, C_in, H, W)")
    weight = _array(weight, "weight", 4, "(C_out, C_in, kH, kW)")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight has {weight.shape[1]} input channels (axis 1 of (C_out, C_in, kH, kW)) "
            f"but x has {x.shape[1]} (axis 1 of (N, C_in, H, W))"
        )
    return x, weight


def _check_bias(bias, c_out: int):
    if bias is None:
        return None
    bias = as_float_array(bias, "bias")
    if bias.shape != (c_out,):
        raise ValueError(f"bias must have shape (C_out,) = ({c_out},), got {bias.shape}")
    return bias


def _conv_geometry(x: np.ndarray, weight: np.ndarray, stride, padding, dilation) -> _Geometry:
    return _geometry(
        x.shape[2:], weight.shape[2:], stride, padding, dilation, ("valid", "same"), "weight kernel"
    )


# ----------------------------------------------------------------------------------------------
# 2-D correlation and convolution
# ----------------------------------------------------------------------------------------------


def correlate2d_naive(image, kernel, padding="valid") -> np.ndarray:
    """Cross-correlate one image with one kernel by sliding a window: the textbook loop.

    image (H, W), kernel (kH, kW) -> (OH, OW). ``padding`` as in :func:`correlate2d`.
    Slow on purpose: every output value is one ``np.sum`` over the window under the kernel.
    """
    image, kernel = _image_and_kernel(image, kernel)
    geo = _geometry(image.shape, kernel.shape, 1, padding, 1, ("valid", "same", "full"), "kernel")
    padded = _pad(image, geo.pads)
    kh, kw = kernel.shape
    out = np.empty(geo.out, dtype=image.dtype)
    for i, j in itertools.product(range(geo.out[0]), range(geo.out[1])):
        out[i, j] = np.sum(padded[i : i + kh, j : j + kw] * kernel)
    return out


def correlate2d(image, kernel, padding="valid") -> np.ndarray:
    """Cross-correlate a 2-D image with a 2-D kernel (no flip), like ``scipy.signal.correlate2d``.

    image (H, W), kernel (kH, kW) -> (OH, OW) with zero padding:

    - ``"valid"``: only where the kernel fits inside the image, (H - kH + 1, W - kW + 1);
    - ``"same"``: (H, W); for an even kernel the extra padding goes to the bottom/right;
    - ``"full"``: every overlap, (H + kH - 1, W + kW - 1);
    - an int ``p`` (or a pair): that many zeros on each side, (H + 2p - kH + 1, ...).

    Computed tap by tap: each of the kH * kW kernel weights scales a shifted view of the image,
    which is added to the output, a block of rows at a time so the block stays in cache.
    """
    image, kernel = _image_and_kernel(image, kernel)
    geo = _geometry(image.shape, kernel.shape, 1, padding, 1, ("valid", "same", "full"), "kernel")
    padded = _pad(image, geo.pads)
    out = np.empty(geo.out, dtype=image.dtype)
    scratch = np.empty((min(_ROW_BLOCK, geo.out[0]), geo.out[1]), dtype=image.dtype)
    for start in range(0, geo.out[0], _ROW_BLOCK):
        stop = min(start + _ROW_BLOCK, geo.out[0])
        _accumulate_taps(
            padded[start : stop + kernel.shape[0] - 1], kernel, out[start:stop], scratch
        )
    return out


def _accumulate_taps(padded: np.ndarray, kernel: np.ndarray, out: np.ndarray, scratch) -> None:
    """out = sum over taps (i, j) of kernel[i, j] * padded shifted by (i, j)."""
    rows, cols = out.shape
    tmp = scratch[:rows]
    taps = itertools.product(range(kernel.shape[0]), range(kernel.shape[1]))
    i, j = next(taps)
    np.multiply(padded[i : i + rows, j : j + cols], kernel[i, j], out=out)
    for i, j in taps:
        # Two in-place passes per tap and no new arrays: NumPy has no fused multiply-add.
        np.multiply(padded[i : i + rows, j : j + cols], kernel[i, j], out=tmp)
        out += tmp


def convolve2d(image, kernel, padding="valid") -> np.ndarray:
    """Convolve a 2-D image with a 2-D kernel, like ``scipy.signal.convolve2d``.

    image (H, W), kernel (kH, kW) -> (OH, OW), ``padding`` as in :func:`correlate2d`.
    Convolution is cross-correlation with the kernel flipped in both axes (rotated by 180
    degrees); that flip is the only difference between the two.
    """
    kernel = _array(kernel, "kernel", 2, "(kH, kW)")
    return correlate2d(image, kernel[::-1, ::-1], padding)


# ----------------------------------------------------------------------------------------------
# Batched, multi-channel convolution (the layer of a CNN)
# ----------------------------------------------------------------------------------------------


def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The convolutional layer as four nested loops over the output: slow but plain.

    Same arguments and result as :func:`conv2d`. Each output value is the sum of one window of
    ``x`` (all input channels) times one filter, plus that filter's bias.
    """
    x, weight = _conv_inputs(x, weight)
    x, weight, bias = _cast(x, weight, _check_bias(bias, weight.shape[0]))
    geo = _conv_geometry(x, weight, stride, padding, dilation)
    padded = _pad(x, geo.pads)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    kh, kw = geo.kernel
    n_images, c_out = x.shape[0], weight.shape[0]
    out = np.empty((n_images, c_out, *geo.out), dtype=x.dtype)
    for n, f, i, j in np.ndindex(out.shape):
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
        out[n, f, i, j] = np.sum(padded[n, :, rows, cols] * weight[f])
    return _add_bias(out, bias)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Convolutional layer (cross-correlation), equal to ``torch.nn.functional.conv2d``.

    x (N, C_in, H, W), weight (C_out, C_in, kH, kW), bias (C_out,) or None
    -> (N, C_out, OH, OW), with OH, OW given by :func:`output_size`.

    ``stride`` and ``dilation``: positive int or (h, w) pair. ``padding``: non-negative int or
    pair (zeros on both sides), ``"valid"`` (none) or ``"same"`` (output as large as the input;
    stride 1 only; an odd total puts the extra row/column at the bottom/right, as PyTorch does).
    float32 in gives float32 out; anything else is computed in float64.

    Small layers and strides other than 1 use :func:`im2col` and a single matrix product.
    Bigger layers with stride 1 make every kernel tap one matrix product on a shifted view of
    the padded input (no patch copies), a few images at a time, one run of images per core.
    """
    x, weight = _conv_inputs(x, weight)
    x, weight, bias = _cast(x, weight, _check_bias(bias, weight.shape[0]))
    geo = _conv_geometry(x, weight, stride, padding, dilation)
    g = _grid(x, geo)
    if geo.stride == (1, 1) and _macs(g, x.shape[0], weight) >= _TAPS_MACS:
        return _conv2d_taps(x, weight, bias, geo, g)
    return _add_bias(_conv2d_im2col(x, weight, geo), bias)


def _add_bias(out: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is not None:
        out += bias[:, None, None]
    return out


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Copy every window of ``x`` into a column, like ``torch.nn.functional.unfold``.

    x (N, C, H, W) -> (N, C * kH * kW, OH * OW). Row ``c * kH * kW + i * kW + j`` holds input
    channel ``c`` under kernel tap ``(i, j)``; column ``oh * OW + ow`` is output position
    ``(oh, ow)``. A convolution is then ``weight.reshape(C_out, -1) @ columns``.
    ``kernel_size``, ``stride``, ``padding``, ``dilation``: as in :func:`conv2d`.
    """
    x = _array(x, "x", 4, "(N, C, H, W)")
    x = x.astype(_work_dtype(x), copy=False)
    kernel = as_pair(kernel_size, "kernel_size")
    geo = _geometry(
        x.shape[2:], kernel, stride, padding, dilation, ("valid", "same"), "kernel_size"
    )
    return _im2col(x, geo)


def _im2col(x: np.ndarray, geo: _Geometry) -> np.ndarray:
    padded = _pad(x, geo.pads)
    n, c, _, _ = padded.shape
    s_n, s_c, s_h, s_w = padded.strides
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    # A read-only view (N, C, kH, kW, OH, OW): moving along a tap axis jumps by the dilation,
    # along an output axis by the stride. The reshape below makes the one copy.
    windows = np.lib.stride_tricks.as_strided(
        padded,
        shape=(n, c, *geo.kernel, *geo.out),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw),
        writeable=False,
    )
    return windows.reshape(n, c * geo.kernel[0] * geo.kernel[1], geo.out[0] * geo.out[1])


def _conv2d_im2col(x: np.ndarray, weight: np.ndarray, geo: _Geometry) -> np.ndarray:
    columns = _im2col(x, geo)  # (N, C_in*kH*kW, OH*OW)
    out = weight.reshape(weight.shape[0], -1) @ columns  # (N, C_out, OH*OW)
    return out.reshape(x.shape[0], weight.shape[0], *geo.out)


# ----------------------------------------------------------------------------------------------
# Stride-1 fast path: one matrix product per kernel tap on a flattened, padded grid
# ----------------------------------------------------------------------------------------------
#
# Lay the padded images out channels-last and flatten them: row r = (n, h, w) of an
# (images*Hp*Wp, C) matrix. Kernel tap (i, j) then reads row r + i*dh*Wp + j*dw for output row r,
# so each tap is a *contiguous* slice of that matrix, shifted by a constant. The output is
# computed on the whole padded grid (the rows past OH, OW of each image are garbage) and cropped
# at the end; the waste is small, and in exchange no window is ever copied.
#
# The batch goes through a few images at a time (a *block* of at most _BLOCK_ROWS grid rows,
# unless one image is bigger), so the buffers stay bounded whatever the batch. A big layer's batch
# is cut into one run of images per core (see _blas.split); each core works through its run with
# its own buffers, so the layout copies (channels-last in, channels-first out), which NumPy does
# on one core, run side by side too.

_BLOCK_ROWS = 32768
# Multiply-adds (on the padded grid) from which conv2d takes this path: below, im2col's one
# matrix product costs as little or less. (The backward pass takes it at any size: per tap it
# beats the strided tensordots that other strides need.)
_TAPS_MACS = 2**23
# Multiply-adds from which a run of images per core beats one run with BLAS on all cores: the
# threads' start-up and duplicated buffers cost about a millisecond, which small layers never
# win back.
_SPLIT_MACS = 2**26


class _Grid(NamedTuple):
    images: int  # images per block
    height: int  # padded height Hp
    width: int  # padded width Wp
    shifts: list[tuple[int, int, int]]  # (i, j, row shift) per kernel tap

    def rows(self, images: int) -> int:
        """Grid rows of that many images."""
        return images * self.height * self.width


def _grid(x: np.ndarray, geo: _Geometry) -> _Grid:
    n, _, h, w = x.shape
    hp, wp = h + sum(geo.pads[0]), w + sum(geo.pads[1])
    (dh, dw), (kh, kw) = geo.dilation, geo.kernel
    shifts = [(i, j, i * dh * wp + j * dw) for i, j in itertools.product(range(kh), range(kw))]
    return _Grid(max(1, min(n, _BLOCK_ROWS // (hp * wp))), hp, wp, shifts)


def _blocks(g: _Grid, images: range) -> list[slice]:
    """Those images, g.images at a time."""
    return [slice(i, min(i + g.images, images.stop)) for i in images[:: g.images]]


def _grid_buffer(g: _Grid, channels: int, dtype) -> np.ndarray:
    """Zeros (rows of a block + the largest shift, C): every tap's slice of a block fits."""
    return np.zeros((g.rows(g.images) + g.shifts[-1][2], channels), dtype=dtype)


def _images(flat: np.ndarray, g: _Grid, images: int) -> np.ndarray:
    """The first rows of a grid buffer as (images, Hp, Wp, C)."""
    return flat[: g.rows(images)].reshape(images, g.height, g.width, -1)


def _fill(flat: np.ndarray, g: _Grid, a: np.ndarray, top: int, left: int) -> None:
    """Write a (k, C, H, W) channels-last into the first k images of a grid buffer at (top, left).

    Only that window is written: the zeros around it (the padding) stay from the allocation.
    """
    k, _, h, w = a.shape
    _images(flat, g, k)[:, top : top + h, left : left + w] = a.transpose(0, 2, 3, 1)


def _crop(flat: np.ndarray, g: _Grid, k: int, top: int, left: int, size) -> np.ndarray:
    """View (k, C, size[0], size[1]) of the first k images of a grid buffer, from (top, left)."""
    window = _images(flat, g, k)[:, top : top + size[0], left : left + size[1]]
    return window.transpose(0, 3, 1, 2)


def _macs(g: _Grid, n: int, weight: np.ndarray) -> int:
    """Multiply-adds of the tap products over n images."""
    return g.rows(n) * len(g.shifts) * weight.shape[0] * weight.shape[1]


def _over_batch(work: Callable[[range], T], g: _Grid, n: int, weight: np.ndarray) -> list[T]:
    """work(images) over the whole batch: one run per core if the layer is big enough."""
    return _blas.split(work, n) if _macs(g, n, weight) >= _SPLIT_MACS else [work(range(n))]


def _taps(weight: np.ndarray) -> np.ndarray:
    """weight (C_out, C_in, kH, kW) -> (kH*kW, C_in, C_out): one contiguous matrix per tap."""
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0)).reshape(-1, *weight.shape[1::-1])


def _conv2d_taps(x: np.ndarray, weight: np.ndarray, bias, geo: _Geometry, g: _Grid) -> np.ndarray:
    n, c_in = x.shape[:2]
    c_out = weight.shape[0]
    (top, _), (left, _) = geo.pads
    taps = _taps(weight)
    result = np.empty((n, c_out, *geo.out), dtype=x.dtype)

    def work(images: range) -> None:  # one worker: its buffers serve block after block
        inputs = _grid_buffer(g, c_in, x.dtype)
        out = np.empty((g.rows(g.images), c_out), dtype=x.dtype)
        for block in _blocks(g, images):
            k = block.stop - block.start
            _fill(inputs, g, x[block], top, left)
            rows = g.rows(k)
            for t, (_, _, shift) in enumerate(g.shifts):
                _blas.gemm(inputs[shift : shift + rows], taps[t], out[:rows], accumulate=t > 0)
            result[block] = _crop(out, g, k, 0, 0, geo.out)
            _add_bias(result[block], bias)  # while the block is in the cache

    _over_batch(work, g, n, weight)
    return result


# ----------------------------------------------------------------------------------------------
# Backward pass
# ----------------------------------------------------------------------------------------------


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, dilation=1):
    """Gradients of :func:`conv2d` (summed loss), equal to PyTorch autograd's.

    grad_out (N, C_out, OH, OW), x (N, C_in, H, W), weight (C_out, C_in, kH, kW)
    -> (grad_x (N, C_in, H, W), grad_weight (C_out, C_in, kH, kW), grad_bias (C_out,)).

    ``stride``, ``padding``, ``dilation`` must be those of the forward call. Input pixels that no
    window covers (the last rows/columns when the stride does not divide evenly) get 0.
    """
    x, weight = _conv_inputs(x, weight)
    x, weight, grad_out = _cast(x, weight, as_float_array(grad_out, "grad_out"))
    geo = _conv_geometry(x, weight, stride, padding, dilation)
    expected = (x.shape[0], weight.shape[0], *geo.out)
    if grad_out.shape != expected:
        raise ValueError(
            f"grad_out must have the output's shape (N, C_out, OH, OW) = {expected}, "
            f"got {grad_out.shape}"
        )
    grad_bias = grad_out.sum(axis=(0, 2, 3))
    if geo.stride == (1, 1):
        grad_x, grad_weight = _backward_taps(grad_out, x, weight, geo)
    else:
        grad_x, grad_weight = _backward_strided(grad_out, x, weight, geo)
    return grad_x, grad_weight, grad_bias


def _backward_taps(grad_out, x, weight, geo: _Geometry):
    """Stride 1 on the flattened padded grid, block by block (see the forward pass's fast path)."""
    n, c_in = x.shape[:2]
    c_out = weight.shape[0]
    g = _grid(x, geo)
    (top, _), (left, _) = geo.pads
    taps = _taps(weight)  # (kH*kW, C_in, C_out)
    grad_x = np.empty_like(x)

    def work(images: range) -> np.ndarray:  # -> these images' share of grad_taps
        inputs = _grid_buffer(g, c_in, x.dtype)
        # grad_out goes to the top-left of each padded image, where output row r lives; the
        # zeros elsewhere stand for the garbage rows, which must send nothing back.
        grads = _grid_buffer(g, c_out, x.dtype)
        grad_inputs = np.empty_like(inputs)
        grad_taps = np.zeros_like(taps)
        for block in _blocks(g, images):
            k = block.stop - block.start
            _fill(inputs, g, x[block], top, left)
            _fill(grads, g, grad_out[block], 0, 0)
            grad_inputs.fill(0)
            rows = g.rows(k)
            live = grads[:rows]
            for t, (_, _, shift) in enumerate(g.shifts):
                # Output row r read input row r + shift through taps[t]: send the gradient back.
                window = slice(shift, shift + rows)
                _blas.gemm(live, taps[t].T, grad_inputs[window], accumulate=True)
                _blas.gemm(inputs[window].T, live, grad_taps[t], accumulate=True)
            grad_x[block] = _crop(grad_inputs, g, k, top, left, x.shape[2:])
        return grad_taps

    grad_taps = sum(_over_batch(work, g, n, weight))  # (kH*kW, C_in, C_out)
    grad_weight = grad_taps.reshape(*geo.kernel, c_in, c_out).transpose(3, 2, 0, 1)
    return grad_x, np.ascontiguousarray(grad_weight)


def _backward_strided(grad_out, x, weight, geo: _Geometry):
    """Any stride: per tap, the strided slice of the padded input that the tap touched."""
    padded = _pad(x, geo.pads)
    grad_padded = np.zeros_like(padded)
    grad_weight = np.empty_like(weight)
    (sh, sw), (dh, dw), (oh, ow) = geo.stride, geo.dilation, geo.out
    for i, j in itertools.product(*map(range, geo.kernel)):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
        # Within one tap the slices never overlap, so += adds each contribution exactly once.
        back = np.tensordot(weight[:, :, i, j], grad_out, axes=(0, 1))  # (C_in, N, OH, OW)
        grad_padded[:, :, rows, cols] += back.transpose(1, 0, 2, 3)
        grad_weight[:, :, i, j] = np.tensordot(
            grad_out, padded[:, :, rows, cols], axes=([0, 2, 3], [0, 2, 3])
        )
    (top, _), (left, _) = geo.pads
    h, w = x.shape[2:]
    return np.ascontiguousarray(grad_padded[:, :, top : top + h, left : left + w]), grad_weight
