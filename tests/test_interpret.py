"""Tests for coursepkg.interpret, checked against captum on random small models and inputs."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam, Occlusion, Saliency
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursepkg import interpret
from coursepkg.models.gap_cnn import GapCNN, gap_cnn

SETTINGS = settings(max_examples=20, deadline=None)


def small_model(in_channels=1, width=4, num_classes=3, seed=0, dtype=torch.float64):
    """conv-ReLU-conv-ReLU, global average pooling, linear: a random GAP network."""
    torch.manual_seed(seed)
    layers = OrderedDict(
        conv1=nn.Conv2d(in_channels, width, 3, padding=1),
        relu1=nn.ReLU(),
        conv2=nn.Conv2d(width, 2 * width, 3, padding=1),
        relu2=nn.ReLU(),
        pool=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(),
        fc=nn.Linear(2 * width, num_classes),
    )
    return nn.Sequential(layers).to(dtype)


def images(n, c, h, w, seed=0, dtype=torch.float64):
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype)


shapes = st.tuples(
    st.integers(1, 3),  # N
    st.integers(1, 3),  # C
    st.integers(5, 12),  # H
    st.integers(5, 12),  # W
    st.integers(2, 4),  # classes
    st.integers(0, 1000),  # seed
)


# --- against captum ------------------------------------------------------------------------------


@SETTINGS
@given(shape=shapes)
def test_saliency_is_captums_absolute_gradient_maximised_over_channels(shape):
    n, c, h, w, k, seed = shape
    model, x = small_model(c, num_classes=k, seed=seed), images(n, c, h, w, seed)
    target = torch.arange(n) % k
    ours = interpret.saliency(model, x, target)
    theirs = Saliency(model).attribute(x.clone().requires_grad_(), target=target)
    assert ours.shape == (n, h, w)
    torch.testing.assert_close(ours, theirs.abs().amax(1), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(
    shape=shapes,
    window=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    stride=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    baseline=st.sampled_from([0.0, 0.5, -1.0]),
)
def test_occlusion_matches_captum(shape, window, stride, baseline):
    n, c, h, w, k, seed = shape
    stride = (min(stride[0], window[0]), min(stride[1], window[1]))
    model, x = small_model(c, num_classes=k, seed=seed), images(n, c, h, w, seed)
    target = (seed + torch.arange(n)) % k
    ours = interpret.occlusion(model, x, target, window, stride, baseline, batch_size=7)
    theirs = Occlusion(model).attribute(
        x, target=target, sliding_window_shapes=(c, *window), strides=(c, *stride),
        baselines=baseline,
    )  # fmt: skip
    assert ours.shape == (n, h, w)
    for channel in range(c):  # captum repeats the map over the channels the window covers
        # captum sums the score drops in float32, whatever the model's dtype
        torch.testing.assert_close(ours, theirs[:, channel].double(), rtol=1e-5, atol=1e-6)


@SETTINGS
@given(
    shape=shapes,
    layer=st.sampled_from(["conv1", "relu1", "conv2", "relu2"]),
    relu=st.booleans(),
)
def test_grad_cam_matches_captum_at_any_layer_and_upsampled(shape, layer, relu):
    n, c, h, w, k, seed = shape
    model, x = small_model(c, num_classes=k, seed=seed), images(n, c, h, w, seed)
    target = int(seed % k)
    gradcam = LayerGradCam(model, model.get_submodule(layer))
    theirs = gradcam.attribute(x, target=target, relu_attributions=relu)
    ours = interpret.grad_cam(model, x, target, layer, relu=relu, size=None)
    torch.testing.assert_close(ours, theirs[:, 0], rtol=1e-9, atol=1e-12)
    big = LayerAttribution.interpolate(theirs, (2 * h, 3 * w), interpolate_mode="bilinear")
    ours = interpret.grad_cam(model, x, target, layer, relu=relu, size=(2 * h, 3 * w))
    torch.testing.assert_close(ours, big[:, 0], rtol=1e-9, atol=1e-12)


def test_grad_cam_upsamples_to_the_input_by_default():
    model, x = gap_cnn(seed=1), images(2, 1, 32, 32, dtype=torch.float32)
    heat = interpret.grad_cam(model, x, [0, 3], model.features.relu3)
    assert heat.shape == (2, 32, 32) and heat.min() >= 0
    theirs = LayerGradCam(model, model.features.relu3).attribute(
        x, target=torch.tensor([0, 3]), relu_attributions=True
    )
    theirs = LayerAttribution.interpolate(theirs, (32, 32), interpolate_mode="bilinear")
    torch.testing.assert_close(heat, theirs[:, 0])


# --- CAM and Grad-CAM agree on a GAP network -----------------------------------------------------


@SETTINGS
@given(shape=shapes)
def test_cam_is_grad_cam_before_relu_times_the_map_size(shape):
    """For GAP + linear, d score_c / d A_k(i, j) = W[c, k] / (h w): Grad-CAM = CAM / (h w)."""
    n, c, h, w, k, seed = shape
    model, x = small_model(c, num_classes=k, seed=seed), images(n, c, h, w, seed)
    target = (torch.arange(n) + seed) % k
    ours = interpret.cam(model, x, target, "relu2", "fc", size=None)
    grad = interpret.grad_cam(model, x, target, "relu2", relu=False, size=None)
    torch.testing.assert_close(ours / (h * w), grad, rtol=1e-9, atol=1e-12)


def test_cam_spatial_mean_plus_bias_is_the_class_score():
    model, x = small_model(2, num_classes=4, seed=3), images(3, 2, 7, 9, seed=3)
    heat = interpret.cam(model, x, 2, model.relu2, model.fc, size=None)
    score = model(x)[:, 2].detach()
    torch.testing.assert_close(heat.mean(dim=(1, 2)) + model.fc.bias[2].detach(), score)
    assert interpret.cam(model, x, 2, "relu2", "fc").shape == (3, 7, 9)
    assert interpret.cam(model, x, 2, "relu2", "fc", size=4).shape == (3, 4, 4)


# --- images made by gradient ascent --------------------------------------------------------------


@pytest.mark.parametrize("target", [0, 1, 2])
def test_activation_maximisation_beats_every_random_image_in_the_bounds(target):
    model = small_model(1, num_classes=3, seed=target, dtype=torch.float32)
    kwargs = {"steps": 60, "lr": 0.1, "l2": 0.0, "tv": 0.0, "seed": 1}
    result = interpret.activation_maximisation(model, target, (1, 10, 10), **kwargs)
    assert result.image.shape == (1, 1, 10, 10) and len(result.objective) == 60
    assert 0.0 <= result.image.min() and result.image.max() <= 1.0  # the default bounds
    noise = torch.rand(500, 1, 10, 10, generator=torch.Generator().manual_seed(0))
    best_random = model(noise)[:, target].max().item()
    after = model(result.image)[0, target].item()
    assert after > best_random and result.objective[-1] > result.objective[0]
    again = interpret.activation_maximisation(model, target, (1, 10, 10), **kwargs)
    assert torch.equal(result.image, again.image)


def test_activation_maximisation_of_a_channel_and_of_the_log_probability():
    model = small_model(1, num_classes=3, seed=4, dtype=torch.float32)
    channel = interpret.activation_maximisation(
        model, 1, (1, 9, 9), layer="relu1", steps=40, bounds=None, l2=0, tv=0
    )
    assert channel.objective[-1] > channel.objective[0] + 0.1
    assert channel.image.abs().max() > 1.0  # no bounds: free to leave [0, 1]
    log_p = interpret.activation_maximisation(model, 2, (1, 9, 9), steps=80, log_softmax=True)
    assert log_p.objective[-1] > log_p.objective[0] and max(log_p.objective) <= 0.0


def test_invert_features_recovers_what_an_early_layer_keeps():
    model = small_model(1, width=8, seed=5, dtype=torch.float32)
    x = torch.zeros(1, 1, 12, 12)
    x[0, 0, 3:9, 4:8] = 1.0
    result = interpret.invert_features(model, x, "relu1", steps=150, lr=0.05)
    assert -result.objective[-1] < 0.2 * -result.objective[0]
    correlation = np.corrcoef(result.image.ravel().numpy(), x.ravel().numpy())[0, 1]
    assert correlation > 0.8


# --- feature maps, filters, hooks ----------------------------------------------------------------


def test_feature_maps_are_the_layer_outputs():
    model, x = small_model(2, seed=6), images(3, 2, 8, 6, seed=6)
    maps = interpret.feature_maps(model, x, ["conv1", model.relu2])
    assert list(maps) == ["conv1", "relu2"]
    torch.testing.assert_close(maps["conv1"], model.conv1(x).detach())
    torch.testing.assert_close(maps["relu2"], model[:4](x).detach())
    assert not maps["conv1"].requires_grad


def test_feature_maps_by_dotted_name_in_a_nested_model():
    model = GapCNN(channels=(2, 3, 5), seed=0)
    maps = interpret.feature_maps(model, torch.zeros(1, 1, 16, 16), "features.relu3")
    assert maps["features.relu3"].shape == (1, 5, 4, 4)


def test_conv_filters_are_the_weights_as_float64_copies():
    model = small_model(2, seed=7)
    filters = interpret.conv_filters(model, "conv1")
    assert filters.shape == (4, 2, 3, 3) and filters.dtype == np.float64
    np.testing.assert_array_equal(filters, model.conv1.weight.detach().numpy())
    filters[:] = 0
    assert model.conv1.weight.abs().sum() > 0


def test_capture_keeps_outputs_with_their_graph_and_removes_its_hooks():
    model, x = small_model(1, seed=8), images(1, 1, 6, 6, seed=8)
    with interpret.capture(model, "conv2") as seen:
        model(x)
        assert seen["conv2"].requires_grad
    assert not model.conv2._forward_hooks
    with pytest.raises(RuntimeError), interpret.capture(model, "conv2"):
        raise RuntimeError("boom")
    assert not model.conv2._forward_hooks


CALLS = {
    "feature_maps": lambda m, x: interpret.feature_maps(m, x, "conv1"),
    "saliency": lambda m, x: interpret.saliency(m, x, 1),
    "occlusion": lambda m, x: interpret.occlusion(m, x, 1, window=3, stride=2),
    "cam": lambda m, x: interpret.cam(m, x, 1, "relu2", "fc"),
    "grad_cam": lambda m, x: interpret.grad_cam(m, x, 1, "conv1"),
    "activation_maximisation": lambda m, x: interpret.activation_maximisation(
        m, 1, (1, 6, 6), steps=2
    ),
    "activation_maximisation of a layer": lambda m, x: interpret.activation_maximisation(
        m, 1, (1, 6, 6), layer="relu1", steps=2
    ),
    "invert_features": lambda m, x: interpret.invert_features(m, x[:1], "relu1", steps=2),
}


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", CALLS)
def test_the_model_is_left_as_it_was(name, training):
    model, x = small_model(1, seed=9), images(2, 1, 6, 6, seed=9)
    model.train(training)
    model.conv1.eval()  # a mixed state must come back as it was, layer by layer
    model.fc.weight.requires_grad_(False)
    modes = {m: m.training for m in model.modules()}
    flags = {p: p.requires_grad for p in model.parameters()}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    CALLS[name](model, x)
    assert {m: m.training for m in model.modules()} == modes
    assert {p: p.requires_grad for p in model.parameters()} == flags
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_explanations_run_in_evaluation_mode():
    """Dropout active in training mode would make saliency random; it must not be."""
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(16, 2)).double().train()
    x = images(2, 1, 4, 4, seed=10)
    first, second = interpret.saliency(model, x, 0), interpret.saliency(model, x, 0)
    torch.testing.assert_close(first, second)
    expected = model[2].weight[0].abs().reshape(4, 4).expand(2, 4, 4)
    torch.testing.assert_close(first, expected.detach())
    assert model.training


# --- heat maps and their scores -----------------------------------------------------------------


def test_upsample_is_bilinear_with_aligned_centres():
    heat = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    big = interpret.upsample(heat, 4)
    assert big.shape == (1, 4, 4)
    torch.testing.assert_close(big[0, 0], torch.tensor([0.0, 0.25, 0.75, 1.0]))
    assert interpret.upsample(heat, (3, 5)).shape == (1, 3, 5)


def test_normalise_scales_each_map_to_the_unit_interval_and_zeroes_flat_maps():
    heat = torch.stack([torch.arange(6.0).reshape(2, 3) - 2, torch.full((2, 3), 7.0)])
    out = interpret.normalise(heat)
    torch.testing.assert_close(out[0], torch.arange(6.0).reshape(2, 3) / 5)
    torch.testing.assert_close(out[1], torch.zeros(2, 3))


def test_pointing_game_hits_where_the_peak_is_inside_the_mask():
    masks = np.zeros((3, 4, 4), dtype=bool)
    masks[:, 1:3, 1:3] = True
    heat = np.zeros((3, 4, 4))
    heat[0, 1, 2] = 1.0  # inside
    heat[1, 0, 0] = 1.0  # outside
    heat[2] = 1.0  # a tie everywhere: the first pixel, (0, 0), is outside
    np.testing.assert_array_equal(interpret.pointing_game(heat, masks), [True, False, False])
    assert interpret.pointing_game(torch.from_numpy(heat), masks).tolist() == [1, 0, 0]


def test_mass_inside_is_the_share_inside_and_chance_for_a_flat_map():
    masks = np.zeros((3, 4, 4), dtype=bool)
    masks[:, :2, :] = True
    heat = np.stack([np.ones((4, 4)), np.where(masks[0], 3.0, 1.0), np.zeros((4, 4))])
    np.testing.assert_allclose(interpret.mass_inside(heat, masks), [0.5, 0.75, 0.0])


# --- bad input -----------------------------------------------------------------------------------


@pytest.fixture
def model():
    return small_model(1, seed=11)


@pytest.fixture
def x():
    return images(2, 1, 6, 6, seed=11)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda m, x: interpret.saliency("model", x, 0), TypeError, "model"),
        (lambda m, x: interpret.saliency(m, x.numpy(), 0), TypeError, "x"),
        (lambda m, x: interpret.saliency(m, x[0], 0), ValueError, "x"),
        (lambda m, x: interpret.saliency(m, x.long(), 0), ValueError, "x"),
        (lambda m, x: interpret.saliency(m, x[:0], 0), ValueError, "x"),
        (lambda m, x: interpret.saliency(m, x, 3), ValueError, "target"),
        (lambda m, x: interpret.saliency(m, x, -1), ValueError, "target"),
        (lambda m, x: interpret.saliency(m, x, [0, 1, 2]), ValueError, "target"),
        (lambda m, x: interpret.saliency(m, x, 1.0), TypeError, "target"),
        (lambda m, x: interpret.saliency(m, x, True), TypeError, "target"),
        (lambda m, x: interpret.saliency(m, x, "a"), TypeError, "target"),
        (lambda m, x: interpret.saliency(m, x, torch.tensor([0.0, 1.0])), TypeError, "target"),
        (lambda m, x: interpret.saliency(m[:2], x, 0), ValueError, "class scores"),
        (lambda m, x: interpret.occlusion(m, x, 0, window=7), ValueError, "window"),
        (lambda m, x: interpret.occlusion(m, x, 0, window=0), ValueError, "window"),
        (lambda m, x: interpret.occlusion(m, x, 0, window=2, stride=3), ValueError, "stride"),
        (lambda m, x: interpret.occlusion(m, x, 0, 3, 2, baseline="0"), TypeError, "baseline"),
        (lambda m, x: interpret.occlusion(m, x, 0, 3, 2, batch_size=0), ValueError, "batch_size"),
        (lambda m, x: interpret.grad_cam(m, x, 0, "conv9"), ValueError, "conv9"),
        (lambda m, x: interpret.grad_cam(m, x, 0, nn.ReLU()), ValueError, "layer"),
        (lambda m, x: interpret.grad_cam(m, x, 0, 3), TypeError, "layer"),
        (lambda m, x: interpret.grad_cam(m, x, 0, "flatten"), ValueError, "layer"),
        (lambda m, x: interpret.cam(m, x, 0, "relu1", "fc"), ValueError, "classifier"),
        (lambda m, x: interpret.cam(m, x, 0, "relu2", "conv1"), TypeError, "classifier"),
        (lambda m, x: interpret.conv_filters(m, "relu1"), TypeError, "layer"),
        (lambda m, x: interpret.activation_maximisation(m, 5, (1, 6, 6)), ValueError, "target"),
        (lambda m, x: interpret.activation_maximisation(m, -1, (1, 6, 6)), ValueError, "target"),
        (
            lambda m, x: interpret.activation_maximisation(m, 9, (1, 6, 6), layer="conv1"),
            ValueError,
            "target",
        ),
        (lambda m, x: interpret.activation_maximisation(m, 0, (6, 6)), ValueError, "shape"),
        (lambda m, x: interpret.activation_maximisation(m, 0, (1, 0, 6)), ValueError, "shape"),
        (lambda m, x: interpret.activation_maximisation(m, 0, (1, 6, 6), lr=0), ValueError, "lr"),
        (lambda m, x: interpret.activation_maximisation(m, 0, (1, 6, 6), l2=-1), ValueError, "l2"),
        (
            lambda m, x: interpret.activation_maximisation(m, 0, (1, 6, 6), bounds=(1, 0)),
            ValueError,
            "bounds",
        ),
        (
            lambda m, x: interpret.activation_maximisation(m, 0, (1, 6, 6), bounds="01"),
            ValueError,
            "bounds",
        ),
        (
            lambda m, x: interpret.activation_maximisation(m, 0, (1, 6, 6), steps=0),
            ValueError,
            "steps",
        ),
        (lambda m, x: interpret.activation_maximisation("m", 0, (1, 6, 6)), TypeError, "model"),
        (lambda m, x: interpret.invert_features(m, x, "relu1"), ValueError, "one image"),
        (lambda m, x: interpret.invert_features(m, x[:1], "relu1", tv=-1), ValueError, "tv"),
        (lambda m, x: interpret.upsample(x, 4), ValueError, "heat"),
        (lambda m, x: interpret.upsample(x[:, 0].numpy(), 4), TypeError, "heat"),
        (lambda m, x: interpret.upsample(x[:, 0], 0), ValueError, "size"),
        (lambda m, x: interpret.normalise(x[:, 0].long()), ValueError, "heat"),
        (
            lambda m, x: interpret.pointing_game(x[:, 0], np.ones((2, 6, 5), bool)),
            ValueError,
            "masks",
        ),
        (
            lambda m, x: interpret.pointing_game(x[:, 0], np.ones((2, 6, 6))),
            ValueError,
            "masks",
        ),
        (lambda m, x: interpret.pointing_game(x, np.ones((2, 6, 6), bool)), ValueError, "heat"),
        (
            lambda m, x: interpret.mass_inside(x[:, 0], np.ones((2, 6, 6), bool)),
            ValueError,
            "non-negative",
        ),
    ],
)
def test_bad_input_raises_naming_the_argument(model, x, call, error, name):
    with pytest.raises(error, match=name):
        call(model, x)


# --- the GAP network CAM needs -------------------------------------------------------------------


def test_gap_cnn_maps_any_image_size_to_class_scores():
    model = gap_cnn(num_classes=5, in_channels=3, channels=(4, 6, 7), seed=2)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 5)
    assert model(torch.zeros(1, 3, 20, 28)).shape == (1, 5)
    assert model.fc.in_features == 7
    assert model(torch.zeros(1, 3, 16, 16)).shape == (1, 5)


def test_gap_cnn_seed_fixes_the_weights_without_touching_the_global_generator():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = GapCNN(seed=4), GapCNN(seed=4), GapCNN(seed=5)
    assert torch.rand(1) == expected
    assert torch.equal(a.features.conv1.weight, b.features.conv1.weight)
    assert not torch.equal(a.features.conv1.weight, c.features.conv1.weight)
    GapCNN(seed=None)  # draws from the global generator


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_classes": 0}, "num_classes"),
        ({"in_channels": 1.5}, "in_channels"),
        ({"channels": (4, 8)}, "channels"),
        ({"channels": (4, 0, 8)}, "channels"),
        ({"seed": -1}, "seed"),
    ],
)
def test_gap_cnn_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GapCNN(**kwargs)


def test_an_in_place_layer_after_the_captured_one_changes_nothing():
    """nn.ReLU(inplace=True) after a convolution must not overwrite the kept feature maps."""
    model, x = small_model(1, seed=12), images(2, 1, 7, 7, seed=12)
    in_place = small_model(1, seed=12)
    in_place.relu1, in_place.relu2 = nn.ReLU(inplace=True), nn.ReLU(inplace=True)
    for layer in ("conv1", "conv2"):
        expected = interpret.grad_cam(model, x, 1, layer, relu=False, size=None)
        got = interpret.grad_cam(in_place, x, 1, layer, relu=False, size=None)
        torch.testing.assert_close(got, expected)
        assert interpret.feature_maps(in_place, x, layer)[layer].min() < 0  # before the ReLU
    torch.testing.assert_close(in_place(x), model(x))
