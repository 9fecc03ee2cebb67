"""Tests for coursepkg.conv against torch (values and autograd), scipy.signal and F.unfold."""

import contextlib
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from coursepkg import conv

FAST = settings(max_examples=60, deadline=None)
ACROSS_PATHS = settings(max_examples=150, deadline=None)  # each path gets about 50


def assert_close(ours: np.ndarray, theirs, dtype=np.float64):
    """1e-10 absolute in float64; 1e-4 relative to the largest magnitude in float32."""
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert ours.dtype == dtype
    assert ours.shape == theirs.shape
    if dtype == np.float64:
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)
    else:
        scale = max(float(np.abs(theirs).max()), 1.0)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * scale)


@st.composite
def conv_cases(draw, max_size=6):
    """Random (x, weight, bias, stride, padding, dilation) whose kernel fits the padded input."""
    n, c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = draw(st.sampled_from([1, 2, (1, 2), (3, 1)]))
    kind = draw(st.sampled_from(["int", "pair", "same", "valid"]))
    stride = 1 if kind == "same" else draw(st.sampled_from([1, 2, 3, (1, 2), (3, 1)]))
    padding = {
        "int": draw(st.integers(0, 2)),
        "pair": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
    }.get(kind, kind)
    dils = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    pads = padding if isinstance(padding, tuple) else (padding, padding)
    pads = (0, 0) if isinstance(padding, str) else pads
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dils, strict=True)]
    h, w = (
        draw(st.integers(max(1, s - 2 * p), max(1, s - 2 * p) + max_size))
        for s, p in zip(spans, pads, strict=True)
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, c_in, h, w))
    weight = rng.standard_normal((c_out, c_in, *kernel))
    bias = rng.standard_normal(c_out) if draw(st.booleans()) else None
    return x, weight, bias, stride, padding, dilation


# conv2d picks its algorithm by the layer's size, and both passes pick whether to use a run of
# images per core; small test layers would only ever see the small-layer choices. "taps":
# per-tap products at any size; "split": those, on a run of images per core.
PATHS = ["by size", "taps", "split"]


@contextlib.contextmanager
def conv_path(path: str):
    taps = 0 if path != "by size" else conv._TAPS_MACS
    split = 0 if path == "split" else conv._SPLIT_MACS
    with mock.patch.object(conv, "_TAPS_MACS", taps), mock.patch.object(conv, "_SPLIT_MACS", split):
        yield


def torch_conv(x, weight, bias, stride, padding, dilation, requires_grad=False):
    tensors = [
        None if a is None else torch.tensor(a, requires_grad=requires_grad)
        for a in (x, weight, bias)
    ]
    return tensors, F.conv2d(*tensors, stride=stride, padding=padding, dilation=dilation)


# ---------------------------------------------------------------------------------------------
# conv2d and conv2d_backward against PyTorch
# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note about its own speed
@ACROSS_PATHS
@given(
    case=conv_cases(), dtype=st.sampled_from([np.float64, np.float32]), path=st.sampled_from(PATHS)
)
def test_conv2d_matches_torch(case, dtype, path):
    x, weight, bias, stride, padding, dilation = case
    x, weight = x.astype(dtype), weight.astype(dtype)
    bias = None if bias is None else bias.astype(dtype)
    _, expected = torch_conv(x, weight, bias, stride, padding, dilation)
    with conv_path(path):
        ours = conv.conv2d(x, weight, bias, stride, padding, dilation)
    assert_close(ours, expected, dtype)


@settings(max_examples=30, deadline=None)
@given(case=conv_cases(max_size=3))
def test_conv2d_naive_matches_conv2d(case):
    x, weight, bias, stride, padding, dilation = case
    expected = conv.conv2d(x, weight, bias, stride, padding, dilation)
    assert_close(conv.conv2d_naive(x, weight, bias, stride, padding, dilation), expected)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@ACROSS_PATHS
@given(
    case=conv_cases(), dtype=st.sampled_from([np.float64, np.float32]), path=st.sampled_from(PATHS)
)
def test_conv2d_backward_matches_autograd(case, dtype, path):
    x, weight, _, stride, padding, dilation = case
    x, weight = x.astype(dtype), weight.astype(dtype)
    bias = np.zeros(weight.shape[0], dtype)
    (tx, tw, tb), out = torch_conv(x, weight, bias, stride, padding, dilation, requires_grad=True)
    grad_out = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    out.backward(torch.from_numpy(grad_out))
    with conv_path(path):
        grads = conv.conv2d_backward(grad_out, x, weight, stride, padding, dilation)
    for ours, theirs in zip(grads, (tx.grad, tw.grad, tb.grad), strict=True):
        assert_close(ours, theirs, dtype)


@pytest.mark.parametrize("path", ["taps", "split"])
@pytest.mark.parametrize(
    ("kernel", "padding", "dilation"),
    [((3, 3), 1, 1), ((2, 4), (2, 0), 1), ((3, 2), (1, 3), (2, 1)), ((1, 1), 0, 1)],
)
def test_stride_one_path_is_exact_across_blocks_of_images(
    monkeypatch, path, kernel, padding, dilation
):
    # Two padded images per block, so a batch of five ends on a block of one: stale data from
    # the previous block is left in the buffers and must not leak into the results.
    rng = np.random.default_rng(9)
    x, weight = rng.standard_normal((5, 3, 7, 6)), rng.standard_normal((4, 3, *kernel))
    bias = rng.standard_normal(4)
    geo = conv._conv_geometry(x, weight, 1, padding, dilation)
    monkeypatch.setattr(conv, "_BLOCK_ROWS", 2 * (7 + sum(geo.pads[0])) * (6 + sum(geo.pads[1])))
    assert [b.stop - b.start for b in conv._blocks(conv._grid(x, geo), range(5))] == [2, 2, 1]
    (tx, tw, tb), out = torch_conv(x, weight, bias, 1, padding, dilation, requires_grad=True)
    with conv_path(path):
        ours = conv.conv2d(x, weight, bias, padding=padding, dilation=dilation)
        grad_out = rng.standard_normal(out.shape)
        grads = conv.conv2d_backward(grad_out, x, weight, 1, padding, dilation)
    assert_close(ours, out)
    out.backward(torch.from_numpy(grad_out))
    for ours, theirs in zip(grads, (tx.grad, tw.grad, tb.grad), strict=True):
        assert_close(ours, theirs)


@pytest.mark.parametrize(
    ("n", "channels", "taps", "split"),
    [(2, 4, False, False), (2, 32, True, False), (8, 64, True, True)],
)
def test_algorithm_follows_the_layer_size(n, channels, taps, split):
    x = np.zeros((n, channels, 32, 32), np.float32)
    weight = np.zeros((channels, channels, 3, 3), np.float32)
    with (
        mock.patch.object(conv, "_conv2d_taps", wraps=conv._conv2d_taps) as per_tap,
        mock.patch.object(conv._blas, "split", wraps=conv._blas.split) as per_core,
    ):
        conv.conv2d(x, weight, padding=1)
    assert per_tap.called == taps and per_core.called == split


def test_conv2d_backward_gives_zero_to_pixels_no_window_covers():
    # Rows/columns 5 of a 6x6 input are never under a 3x3 window with stride 2.
    x, weight = np.ones((1, 1, 6, 6)), np.ones((1, 1, 3, 3))
    grad_x, _, _ = conv.conv2d_backward(np.ones((1, 1, 2, 2)), x, weight, stride=2)
    assert np.all(grad_x[..., 5, :] == 0) and np.all(grad_x[..., :, 5] == 0)
    assert np.all(grad_x[..., :5, :5] > 0)


def test_conv2d_even_kernel_same_padding_puts_extra_at_bottom_right():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    weight = np.zeros((1, 1, 2, 2))
    weight[0, 0, 1, 1] = 1.0  # picks the pixel below-right of the window's corner
    out = conv.conv2d(x, weight, padding="same")
    assert_close(out, F.conv2d(torch.tensor(x), torch.tensor(weight), padding="same"))
    assert out[0, 0, -1, -1] == 0  # that pixel is padding


def test_conv2d_on_a_real_photo_in_float32_matches_torch():
    from skimage import data

    photo = data.astronaut()[::8, ::8].transpose(2, 0, 1)[None].astype(np.float32) / 255
    weight = np.random.default_rng(1).standard_normal((8, 3, 3, 3)).astype(np.float32)
    expected = F.conv2d(torch.from_numpy(photo), torch.from_numpy(weight), padding=1)
    assert_close(conv.conv2d(photo, weight, padding=1), expected, np.float32)


@pytest.mark.parametrize(
    ("dtypes", "expected"),
    [
        ((np.float32, np.float32, np.float32), np.float32),
        ((np.float32, np.float64, np.float32), np.float64),
        ((np.float32, np.float32, np.float64), np.float64),
        ((np.int64, np.int64, np.int64), np.float64),
        ((np.float32, np.int32, None), np.float64),
        ((np.float16, np.float16, None), np.float64),
    ],
)
def test_conv2d_dtype_rule(dtypes, expected):
    x = np.ones((1, 2, 4, 4), dtypes[0])
    weight = np.ones((3, 2, 3, 3), dtypes[1])
    bias = None if dtypes[2] is None else np.ones(3, dtypes[2])
    assert conv.conv2d(x, weight, bias).dtype == expected
    assert conv.conv2d(x, weight, bias, stride=2).dtype == expected
    grad_out = np.ones((1, 3, 2, 2), np.float32)
    backward_dtype = conv.conv2d(x, weight).dtype  # the bias plays no part in the backward pass
    assert {g.dtype for g in conv.conv2d_backward(grad_out, x, weight)} == {backward_dtype}


def test_conv2d_accepts_nested_lists_and_leaves_inputs_untouched():
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 5))
    weight = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    x_copy, weight_copy = x.copy(), weight.copy()
    out = conv.conv2d(x.tolist(), weight.tolist(), [1, 2], padding=1)
    conv.conv2d_backward(np.ones_like(out), x, weight, padding=1)
    assert_close(
        out,
        F.conv2d(
            torch.tensor(x),
            torch.tensor(weight),
            torch.tensor([1.0, 2.0], dtype=torch.float64),
            padding=1,
        ),
    )
    assert np.array_equal(x, x_copy) and np.array_equal(weight, weight_copy)


# ---------------------------------------------------------------------------------------------
# im2col and output_size
# ---------------------------------------------------------------------------------------------


@FAST
@given(case=conv_cases())
def test_im2col_matches_unfold(case):
    x, weight, _, stride, padding, dilation = case
    if isinstance(padding, str):
        padding = 0
    kernel = weight.shape[2:]
    expected = F.unfold(torch.tensor(x), kernel, dilation=dilation, padding=padding, stride=stride)
    assert_close(conv.im2col(x, kernel, stride, padding, dilation), expected)


def test_im2col_times_weights_is_conv2d():
    x = np.random.default_rng(5).standard_normal((2, 3, 6, 7))
    weight = np.random.default_rng(6).standard_normal((4, 3, 3, 2))
    columns = conv.im2col(x, (3, 2), stride=2, padding=1)
    out = (weight.reshape(4, -1) @ columns).reshape(2, 4, 3, 4)
    assert_close(out, conv.conv2d(x, weight, stride=2, padding=1))


@given(
    size=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
)
@settings(max_examples=100, deadline=None)
def test_output_size_matches_torch_shapes(size, k, s, p, d):
    if d * (k - 1) + 1 > size + 2 * p:
        with pytest.raises(ValueError, match="kernel_size"):
            conv.output_size(size, k, s, p, d)
        return
    expected = F.conv2d(
        torch.zeros(1, 1, size, 1), torch.zeros(1, 1, k, 1), stride=s, padding=(p, 0), dilation=d
    )
    assert conv.output_size(size, k, s, p, d) == expected.shape[2]


def test_output_size_with_pairs_returns_a_pair():
    assert conv.output_size(32, 3, 1, 1) == 32
    assert conv.output_size((32, 30), 3, 2, 1) == (16, 15)
    assert conv.output_size(7, (3, 5), dilation=(2, 1)) == (3, 3)


# ---------------------------------------------------------------------------------------------
# correlate2d and convolve2d against scipy.signal
# ---------------------------------------------------------------------------------------------


@st.composite
def image_cases(draw):
    kernel = (draw(st.sampled_from([1, 3, 5])), draw(st.sampled_from([1, 3, 5])))
    mode = draw(st.sampled_from(["valid", "same", "full"]))
    low = kernel if mode == "valid" else (1, 1)
    shape = tuple(draw(st.integers(lo, lo + 9)) for lo in low)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal(shape), rng.standard_normal(kernel), mode


@FAST
@given(case=image_cases())
def test_correlate2d_and_convolve2d_match_scipy(case):
    image, kernel, mode = case
    assert_close(conv.correlate2d(image, kernel, mode), signal.correlate2d(image, kernel, mode))
    assert_close(conv.convolve2d(image, kernel, mode), signal.convolve2d(image, kernel, mode))
    assert_close(
        conv.correlate2d_naive(image, kernel, mode), signal.correlate2d(image, kernel, mode)
    )


@FAST
@given(case=image_cases(), padding=st.integers(0, 3))
def test_correlate2d_int_padding_is_valid_on_the_zero_padded_image(case, padding):
    image, kernel, _ = case
    padded = np.pad(image, padding)
    if any(k > s for k, s in zip(kernel.shape, padded.shape, strict=True)):
        with pytest.raises(ValueError, match="kernel"):
            conv.correlate2d(image, kernel, padding)
        return
    assert_close(
        conv.correlate2d(image, kernel, padding), signal.correlate2d(padded, kernel, "valid")
    )


@pytest.mark.parametrize("kernel_shape", [(2, 2), (2, 3), (4, 1)])
def test_correlate2d_even_kernel_same_agrees_with_conv2d(kernel_shape):
    rng = np.random.default_rng(7)
    image, kernel = rng.standard_normal((6, 7)), rng.standard_normal(kernel_shape)
    expected = F.conv2d(
        torch.tensor(image)[None, None], torch.tensor(kernel)[None, None], padding="same"
    )
    assert_close(conv.correlate2d(image, kernel, "same"), expected[0, 0])


def test_correlate2d_on_the_camera_photo_matches_scipy_across_row_blocks():
    from skimage import data

    photo = data.camera()[:150, :90]  # uint8; taller than one block of rows
    kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])  # Sobel, ints
    out = conv.correlate2d(photo, kernel, "same")
    assert_close(out, signal.correlate2d(photo.astype(float), kernel, "same"))


def test_convolve2d_is_correlate2d_with_the_kernel_flipped():
    rng = np.random.default_rng(8)
    image, kernel = rng.standard_normal((8, 9)), rng.standard_normal((3, 2))
    assert_close(conv.convolve2d(image, kernel, 1), conv.correlate2d(image, kernel[::-1, ::-1], 1))


def test_correlate2d_float32():
    image = np.random.default_rng(9).standard_normal((20, 20)).astype(np.float32)
    kernel = np.ones((3, 3), np.float32)
    expected = signal.correlate2d(image.astype(float), kernel.astype(float), "same")
    assert_close(conv.correlate2d(image, kernel, "same"), expected, np.float32)
    assert conv.correlate2d(image, kernel.astype(float)).dtype == np.float64


# ---------------------------------------------------------------------------------------------
# Bad arguments: the error names the argument
# ---------------------------------------------------------------------------------------------

X, W = np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3))
IMG, K = np.ones((5, 5)), np.ones((3, 3))
G = np.ones((1, 3, 3, 3))

BAD_CALLS = {
    "x ndim": (lambda: conv.conv2d(np.ones((2, 5, 5)), W), ValueError, r"x must have 4 dimensions"),
    "x empty": (lambda: conv.conv2d(np.ones((0, 2, 5, 5)), W), ValueError, "x must not be empty"),
    "weight ndim": (lambda: conv.conv2d(X, np.ones((3, 3))), ValueError, "weight must have 4"),
    "channels": (
        lambda: conv.conv2d(X, np.ones((3, 1, 3, 3))),
        ValueError,
        "weight has 1 input channels",
    ),
    "bias shape": (
        lambda: conv.conv2d(X, W, np.ones(2)),
        ValueError,
        r"bias must have shape \(C_out,\)",
    ),
    "bias 2-d": (lambda: conv.conv2d(X, W, np.ones((3, 1))), ValueError, "bias"),
    "x dtype": (lambda: conv.conv2d(X.astype(complex), W), TypeError, "x must hold real numbers"),
    "weight dtype": (lambda: conv.conv2d(X, W.astype(str)), TypeError, "weight must hold real"),
    "bias dtype": (lambda: conv.conv2d(X, W, ["a", "b", "c"]), TypeError, "bias must hold real"),
    "stride 0": (lambda: conv.conv2d(X, W, stride=0), ValueError, "stride must be a positive"),
    "stride triple": (lambda: conv.conv2d(X, W, stride=(1, 1, 1)), ValueError, "stride"),
    "stride float": (lambda: conv.conv2d(X, W, stride=1.5), ValueError, "stride"),
    "dilation 0": (
        lambda: conv.conv2d(X, W, dilation=(1, 0)),
        ValueError,
        "dilation must be a positive",
    ),
    "padding negative": (
        lambda: conv.conv2d(X, W, padding=-1),
        ValueError,
        "padding must be a non-negative",
    ),
    "padding string": (
        lambda: conv.conv2d(X, W, padding="full"),
        ValueError,
        "padding must be .* one of",
    ),
    "same with stride": (
        lambda: conv.conv2d(X, W, stride=2, padding="same"),
        ValueError,
        r"padding=\"same\" needs stride 1",
    ),
    "kernel too large": (
        lambda: conv.conv2d(X, np.ones((3, 2, 6, 3))),
        ValueError,
        "weight kernel 6 .* larger than the padded input",
    ),
    "dilated kernel too large": (
        lambda: conv.conv2d(X, W, dilation=3),
        ValueError,
        "larger than the padded input",
    ),
    "naive stride": (lambda: conv.conv2d_naive(X, W, stride=-2), ValueError, "stride"),
    "backward grad_out shape": (
        lambda: conv.conv2d_backward(np.ones((1, 3, 4, 4)), X, W),
        ValueError,
        r"grad_out must have the output's shape",
    ),
    "backward grad_out ndim": (
        lambda: conv.conv2d_backward(np.ones((3, 3)), X, W),
        ValueError,
        "grad_out",
    ),
    "backward grad_out dtype": (
        lambda: conv.conv2d_backward(G.astype(complex), X, W),
        TypeError,
        "grad_out",
    ),
    "backward channels": (
        lambda: conv.conv2d_backward(G, X, np.ones((3, 4, 3, 3))),
        ValueError,
        "weight has 4",
    ),
    "backward padding": (
        lambda: conv.conv2d_backward(G, X, W, padding="wide"),
        ValueError,
        "padding",
    ),
    "image ndim": (
        lambda: conv.correlate2d(np.ones(5), K),
        ValueError,
        r"image must have 2 dimensions \(H, W\)",
    ),
    "kernel ndim": (
        lambda: conv.convolve2d(IMG, np.ones((1, 3, 3))),
        ValueError,
        "kernel must have 2",
    ),
    "image dtype": (lambda: conv.correlate2d(IMG.astype(object), K), TypeError, "image"),
    "kernel larger than image": (
        lambda: conv.correlate2d(IMG, np.ones((6, 3))),
        ValueError,
        "kernel .* larger than the padded input",
    ),
    "2-d padding string": (lambda: conv.correlate2d(IMG, K, "wrap"), ValueError, "padding"),
    "2-d negative padding": (lambda: conv.convolve2d(IMG, K, -1), ValueError, "padding"),
    "naive kernel ndim": (lambda: conv.correlate2d_naive(IMG, np.ones(3)), ValueError, "kernel"),
    "im2col kernel_size": (lambda: conv.im2col(X, 0), ValueError, "kernel_size must be a positive"),
    "im2col kernel too large": (lambda: conv.im2col(X, 7), ValueError, "kernel_size 7"),
    "im2col x ndim": (
        lambda: conv.im2col(IMG, 3),
        ValueError,
        r"x must have 4 dimensions \(N, C, H, W\)",
    ),
    "output_size kernel": (lambda: conv.output_size(4, 5), ValueError, "kernel_size 5 .* larger"),
    "output_size size": (lambda: conv.output_size(0, 1), ValueError, "size must be a positive"),
    "output_size padding": (lambda: conv.output_size(5, 3, padding="same"), ValueError, "padding"),
    "output_size stride": (lambda: conv.output_size(5, 3, stride=0), ValueError, "stride"),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_arguments_raise_errors_naming_them(name):
    call, error, match = BAD_CALLS[name]
    with pytest.raises(error, match=match):
        call()
