"""coursepkg.invariance: shifts, invariance measures and anti-aliased (blur) pooling."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursepkg import invariance as inv
from coursepkg import pooling

matplotlib.use("Agg")


def image(shape=(2, 3, 6, 7), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


class Fixed(torch.nn.Module):
    """Classifies (N, 1, H, W) images by the column holding the brightest pixel of the image."""

    def forward(self, x):
        return x.amax(dim=(1, 2))


# --------------------------------------------------------------------------------------------
# shift_image
# --------------------------------------------------------------------------------------------


def test_shift_moves_content_down_and_right_and_fills():
    x = np.arange(1.0, 10.0).reshape(3, 3)
    out = inv.shift_image(x, 1, 2, fill=-1)
    expected = np.array([[-1, -1, -1], [-1, -1, 1], [-1, -1, 4]], dtype=float)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(inv.shift_image(x, -1, -1), [[5, 6, 0], [8, 9, 0], [0, 0, 0]])


@settings(max_examples=60, deadline=None)
@given(dy=st.integers(-8, 8), dx=st.integers(-8, 8))
def test_constant_shift_is_a_masked_roll(dy, dx):
    x = image((2, 1, 5, 6))
    rows = np.arange(5)[:, None] - dy
    cols = np.arange(6)[None, :] - dx
    inside = (rows >= 0) & (rows < 5) & (cols >= 0) & (cols < 6)
    expected = np.where(inside, np.roll(x, (dy, dx), axis=(-2, -1)), 0.5)
    np.testing.assert_array_equal(inv.shift_image(x, dy, dx, fill=0.5), expected)


@pytest.mark.parametrize("mode", ["constant", "circular"])
def test_shift_works_the_same_on_tensors(mode):
    x = image()
    out = inv.shift_image(torch.from_numpy(x), 2, -3, mode=mode)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_array_equal(out.numpy(), inv.shift_image(x, 2, -3, mode=mode))


def test_circular_shift_wraps_and_loses_nothing():
    x = image()
    np.testing.assert_array_equal(
        inv.shift_image(x, 1, 9, mode="circular"), np.roll(x, (1, 9), (2, 3))
    )


def test_shift_by_the_whole_image_leaves_only_fill():
    x = image((4, 5))
    np.testing.assert_array_equal(inv.shift_image(x, 0, -5, fill=2), np.full((4, 5), 2.0))
    assert inv.shift_image(np.ones((3, 3), dtype=np.float32), 0, 1).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(x=[[1.0]]), TypeError, "x must be a NumPy array"),
        (dict(x=np.ones(3)), ValueError, "at least 2 dimensions"),
        (dict(dy=1.5), TypeError, "dy must be an int"),
        (dict(dx=True), TypeError, "dx must be an int"),
        (dict(fill="0"), TypeError, "fill must be a real number"),
        (dict(mode="wrap"), ValueError, "mode must be one of"),
    ],
)
def test_shift_rejects_bad_arguments(kwargs, error, match):
    args = dict(x=np.ones((3, 3)), dy=1, dx=1) | kwargs
    with pytest.raises(error, match=match):
        inv.shift_image(**args)


def test_axis_shifts():
    assert inv.axis_shifts(0) == [(0, 0)]
    assert inv.axis_shifts(2) == [(2, 0), (-2, 0), (0, 2), (0, -2)]
    for bad in (-1, 1.0, True):
        with pytest.raises(ValueError, match="size must be a non-negative int"):
            inv.axis_shifts(bad)


# --------------------------------------------------------------------------------------------
# fraction_unchanged, relative_change
# --------------------------------------------------------------------------------------------


def test_fraction_unchanged_of_identity_and_of_max_pooling():
    x = image((1, 1, 8, 8))
    same = inv.fraction_unchanged(lambda v: v, x, [(0, 0), (0, 1)])
    np.testing.assert_array_equal(same, [1.0, 0.0])
    # A constant image: max pooling with a circular shift changes nothing.
    flat = np.full((1, 1, 8, 8), 3.0)
    pool = lambda v: pooling.max_pool2d(v, 2)  # noqa: E731
    np.testing.assert_array_equal(
        inv.fraction_unchanged(pool, flat, [(1, 1), (0, 3)], mode="circular"), [1.0, 1.0]
    )


def test_fraction_unchanged_counts_outputs_and_respects_atol():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = 1.0  # shifting right by 1 keeps the max of the first 2x2 window
    pool = lambda v: pooling.max_pool2d(v, 2)  # noqa: E731
    assert inv.fraction_unchanged(pool, x, [(0, 1)])[0] == 1.0
    assert inv.fraction_unchanged(pool, x, [(0, 2)])[0] == 0.5  # first two windows change
    noisy = lambda v: v + 1e-9 * v.sum()  # noqa: E731
    assert inv.fraction_unchanged(noisy, x, [(0, 0)], atol=0)[0] == 1.0
    assert inv.fraction_unchanged(lambda v: v, x, [(1, 1)], atol=2.0)[0] == 1.0


def test_fraction_unchanged_accepts_tensor_outputs():
    xt = torch.from_numpy(image((1, 2, 8, 8)))
    fractions = inv.fraction_unchanged(lambda v: F.max_pool2d(v, 2), xt, [(0, 0), (0, 2)])
    assert fractions.shape == (2,) and fractions[0] == 1.0 and 0 <= fractions[1] < 1


def test_relative_change():
    x = image((1, 1, 6, 6))
    change = inv.relative_change(lambda v: v, x, [(0, 0), (0, 1)], mode="circular")
    expected = np.linalg.norm(np.roll(x, 1, axis=3) - x) / np.linalg.norm(x)
    np.testing.assert_allclose(change, [0.0, expected])
    glob = inv.relative_change(pooling.global_avg_pool2d, x, [(2, 3)], mode="circular")
    assert glob[0] < 1e-12
    with pytest.raises(ValueError, match="f\\(x\\) must not be all zeros"):
        inv.relative_change(lambda v: v, np.zeros((3, 3)), [(0, 1)])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(f=3), TypeError, "f must be callable"),
        (dict(shifts=5), ValueError, "shifts must be a sequence"),
        (dict(shifts=[]), ValueError, "non-empty"),
        (dict(shifts=[(1, 2, 3)]), ValueError, "pairs"),
        (dict(shifts=[(1.0, 2)]), TypeError, "shifts"),
        (dict(atol=-1), ValueError, "atol must be a non-negative number"),
        (dict(atol=float("nan")), ValueError, "atol"),
        (dict(f=lambda v: v[..., : 2 + int(v[0, 0] != 0)]), ValueError, "outputs of one shape"),
    ],
)
def test_fraction_unchanged_rejects_bad_arguments(kwargs, error, match):
    x = np.zeros((3, 3))
    x[0, 0] = 1.0
    args = dict(f=lambda v: v, x=x, shifts=[(0, 1)]) | kwargs
    with pytest.raises(error, match=match):
        inv.fraction_unchanged(**args)


# --------------------------------------------------------------------------------------------
# prediction_consistency, shifted_accuracy
# --------------------------------------------------------------------------------------------


def test_predictions_under_shifts():
    x = np.zeros((4, 1, 3, 5))
    for n in range(4):
        x[n, 0, 1, n] = 1.0  # image n is one bright pixel in column n
    y = np.arange(4)
    model = Fixed()  # the "class" is the column of the bright pixel
    np.testing.assert_array_equal(inv.shifted_accuracy(model, x, y, [(0, 0), (1, 0)]), [1, 1])
    np.testing.assert_array_equal(inv.shifted_accuracy(model, x, y, [(0, 1)]), [0.0])
    # Shifting right by 1 changes every prediction; down by 1 none; left by 1 pushes column 0
    # out, leaving a blank image whose prediction (column 0) is unchanged for that image only.
    same = inv.prediction_consistency(model, x, [(0, 1), (1, 0), (0, -1)])
    np.testing.assert_array_equal(same, [0.0, 1.0, 0.25])
    tensor_same = inv.prediction_consistency(model, torch.from_numpy(x), [(0, 1)], mode="circular")
    np.testing.assert_array_equal(tensor_same, [0.0])


def test_prediction_helpers_reject_bad_arguments():
    x = np.zeros((2, 1, 3, 3))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        inv.prediction_consistency(lambda v: v, x, [(0, 1)])
    with pytest.raises(ValueError, match="x must be a batch of images"):
        inv.prediction_consistency(Fixed(), x[0], [(0, 1)])
    with pytest.raises(ValueError, match="y must hold one label per image"):
        inv.shifted_accuracy(Fixed(), x, np.zeros(3), [(0, 1)])
    with pytest.raises(ValueError, match="shifts"):
        inv.shifted_accuracy(Fixed(), x, np.zeros(2), [])


# --------------------------------------------------------------------------------------------
# Blur pooling
# --------------------------------------------------------------------------------------------


def test_blur_kernel_is_binomial_and_normalised():
    np.testing.assert_allclose(inv.blur_kernel(3).numpy() * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert inv.blur_kernel(1).item() == 1.0
    for size in (2, 4, 5, 7):
        kernel = inv.blur_kernel(size, dtype=torch.float64)
        assert kernel.shape == (size, size) and kernel.dtype == torch.float64
        assert torch.isclose(kernel.sum(), torch.tensor(1.0, dtype=torch.float64))
        assert torch.equal(kernel, kernel.T) and torch.equal(kernel, kernel.flip(0))
    assert inv.blur_kernel(3).dtype == torch.get_default_dtype()
    for bad in (0, 17, 2.0, True):
        with pytest.raises(ValueError, match="size must be an int from 1 to 16"):
            inv.blur_kernel(bad)


@pytest.mark.parametrize("size", [(8, 8), (7, 9), (5, 6)])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("filter_size", [1, 2, 3, 4])
def test_blur_pool_is_a_depthwise_strided_convolution(size, stride, filter_size):
    x = torch.from_numpy(image((2, 3, *size)))
    out = inv.blur_pool2d(x, stride, filter_size)
    assert out.shape == (2, 3, -(-size[0] // stride), -(-size[1] // stride))
    before, after = (filter_size - 1) // 2, filter_size // 2
    padded = F.pad(x, (before, after, before, after), mode="reflect")
    kernel = inv.blur_kernel(filter_size, dtype=torch.float64)[None, None]
    for c in range(3):
        expected = F.conv2d(padded[:, c : c + 1], kernel, stride=stride)
        torch.testing.assert_close(out[:, c : c + 1], expected)


@pytest.mark.parametrize("padding_mode", ["reflect", "replicate"])
def test_blur_pool_keeps_a_constant_image_constant(padding_mode):
    x = torch.full((1, 2, 6, 6), 0.7)
    torch.testing.assert_close(
        inv.blur_pool2d(x, padding_mode=padding_mode), torch.full((1, 2, 3, 3), 0.7)
    )
    zeros = inv.blur_pool2d(x, padding_mode="constant")
    assert zeros[0, 0, 0, 0] < 0.7 and torch.isclose(zeros[0, 0, 1, 1], torch.tensor(0.7))


def test_max_blur_pool_is_max_with_stride_one_then_blur():
    x = torch.from_numpy(image((2, 3, 8, 8)))
    out = inv.max_blur_pool2d(x)
    assert out.shape == F.max_pool2d(x, 2).shape
    torch.testing.assert_close(out, inv.blur_pool2d(F.max_pool2d(x, 2, stride=1)))
    torch.testing.assert_close(inv.MaxBlurPool2d()(x), out)
    torch.testing.assert_close(inv.max_blur_pool2d(x, 3, 1, 1), F.max_pool2d(x, 3, stride=1))


def test_blur_layers_pass_gradients_and_describe_themselves():
    layer = inv.BlurPool2d(stride=2, filter_size=4, padding_mode="replicate")
    x = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(0), requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    torch.testing.assert_close(layer(x), inv.blur_pool2d(x, 2, 4, "replicate"))
    assert "filter_size=4" in repr(layer) and "'replicate'" in repr(layer)
    assert "kernel_size=2" in repr(inv.MaxBlurPool2d())
    assert list(inv.MaxBlurPool2d().parameters()) == []


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: inv.blur_pool2d(np.ones((1, 1, 4, 4))), TypeError, "x must be a torch tensor"),
        (lambda: inv.blur_pool2d([1.0]), TypeError, "got list"),
        (lambda: inv.blur_pool2d(torch.ones(4, 4)), TypeError, "shape \\(4, 4\\)"),
        (lambda: inv.blur_pool2d(torch.ones(1, 1, 4, 4), stride=0), ValueError, "stride"),
        (lambda: inv.blur_pool2d(torch.ones(1, 1, 4, 4), filter_size=0), ValueError, "size"),
        (
            lambda: inv.blur_pool2d(torch.ones(1, 1, 4, 4), padding_mode="zeros"),
            ValueError,
            "padding_mode must be one of",
        ),
        (
            lambda: inv.blur_pool2d(torch.ones(1, 1, 1, 4)),
            ValueError,
            "too small for reflect padding",
        ),
        (lambda: inv.max_blur_pool2d(np.ones((1, 1, 4, 4))), TypeError, "x must be a torch"),
        (lambda: inv.max_blur_pool2d(torch.ones(1, 1, 4, 4), 0), ValueError, "kernel_size"),
        (lambda: inv.BlurPool2d(stride=-1), ValueError, "stride must be an int >= 1"),
        (lambda: inv.BlurPool2d(filter_size=99), ValueError, "size must be an int"),
        (lambda: inv.BlurPool2d(padding_mode="wrap"), ValueError, "padding_mode"),
        (lambda: inv.MaxBlurPool2d(kernel_size=1.5), ValueError, "kernel_size"),
    ],
)
def test_blur_pooling_rejects_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------------------------
# plot_shift_curves
# --------------------------------------------------------------------------------------------


def test_plot_shift_curves_draws_one_line_per_curve():
    curves = {"a": np.array([1.0, 0.5, 0.2]), "b": np.array([1.0, 0.8, 0.1])}
    fig = inv.plot_shift_curves([0, 1, 2], curves, "fraction", title="t")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert ax.get_title() == "t" and ax.get_ylabel() == "fraction"
    assert ax.get_ylim() == (0, 1.02)
    _, given_ax = matplotlib.pyplot.subplots()
    fig2 = inv.plot_shift_curves(np.arange(2), {"c": [0.0, 3.0]}, "change", ax=given_ax)
    assert fig2 is given_ax.figure and given_ax.get_ylim()[1] > 3.0
    matplotlib.pyplot.close("all")


def test_plot_shift_curves_rejects_bad_curves():
    with pytest.raises(ValueError, match="curves must hold at least one curve"):
        inv.plot_shift_curves([0, 1], {}, "y")
    with pytest.raises(ValueError, match="curves\\['a'\\] must have one value per shift"):
        inv.plot_shift_curves([0, 1], {"a": [1.0, 0.5, 0.1]}, "y")
