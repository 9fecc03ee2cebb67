"""coursepkg.models.plain: plain deep networks, their initialisations and collapse_linear."""

import math

import pytest
import torch
from torch import nn

from coursepkg.models import plain
from coursepkg.models.plain import ACTIVATIONS, activation, collapse_linear, deep_cnn, deep_mlp


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_builds_a_fresh_module_by_name(name):
    first, second = activation(name), activation(name)
    assert isinstance(first, nn.Module) and first is not second


def test_activation_rejects_an_unknown_name_listing_the_valid_ones():
    with pytest.raises(ValueError, match="activation must be one of identity, relu"):
        activation("swish")


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_deep_mlp_has_depth_linear_layers_and_names_them(depth):
    model = deep_mlp(depth, 16, "tanh")
    linears = [name for name, m in model.named_children() if isinstance(m, nn.Linear)]
    assert len(linears) == depth
    assert linears == [f"linear{k}" for k in range(1, depth)] + ["out"]
    acts = [m for m in model.children() if isinstance(m, nn.Tanh)]
    assert len(acts) == depth - 1


def test_deep_mlp_maps_images_to_logits():
    model = deep_mlp(3, 32, "relu", in_features=64, num_classes=7)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 7)
    assert deep_mlp(1, 8, in_features=16)(torch.zeros(2, 16)).shape == (2, 10)


def test_deep_cnn_keeps_the_size_and_maps_images_to_logits():
    model = deep_cnn(3, 8, "gelu", in_channels=3, num_classes=4)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 and convs[0].in_channels == 3 and convs[-1].out_channels == 8
    assert all(isinstance(model.get_submodule(f"act{k}"), nn.GELU) for k in (1, 2, 3))
    assert model(torch.zeros(2, 3, 9, 11)).shape == (2, 4)


def test_a_seed_fixes_the_weights_without_touching_the_global_generator():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b = deep_mlp(3, 8, seed=4), deep_mlp(3, 8, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    c = deep_mlp(3, 8, seed=5)
    assert not torch.equal(a.linear1.weight, c.linear1.weight)


def test_seed_none_draws_from_the_global_generator():
    torch.manual_seed(0)
    a = deep_cnn(2, 4, seed=None)
    torch.manual_seed(0)
    b = deep_cnn(2, 4, seed=None)
    assert torch.equal(a.conv1.weight, b.conv1.weight)


def test_default_init_matches_pytorchs_bounds():
    model = deep_mlp(2, 400, init="default")
    bound = 1 / math.sqrt(64)
    weight, bias = model.linear1.weight, model.linear1.bias
    assert weight.abs().max() <= bound and weight.abs().max() > 0.95 * bound
    assert bias.abs().max() <= bound and bias.abs().max() > 0.9 * bound


@pytest.mark.parametrize(("init", "variance"), [("he", 2 / 256), ("glorot", 2 / (256 + 512))])
def test_he_and_glorot_draw_the_documented_variance(init, variance):
    model = deep_mlp(2, 512, init=init, in_features=256)
    weight = model.linear1.weight
    assert weight.var().item() == pytest.approx(variance, rel=0.02)
    assert torch.count_nonzero(model.linear1.bias) == 0


def test_he_init_for_convolutions_counts_the_kernel_in_fan_in():
    model = deep_cnn(2, 64, init="he", in_channels=16)
    assert model.conv1.weight.var().item() == pytest.approx(2 / (16 * 9), rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"depth": 0}, "depth"),
        ({"width": 0}, "width"),
        ({"in_features": 1.5}, "in_features"),
        ({"num_classes": -1}, "num_classes"),
        ({"activation": "swish"}, "activation"),
        ({"init": "xavier"}, "init"),
        ({"seed": -1}, "seed"),
    ],
)
def test_deep_mlp_rejects_bad_arguments_by_name(kwargs, name):
    args = {"depth": 2, "width": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        deep_mlp(**args)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"depth": 0}, "depth"),
        ({"channels": True}, "channels"),
        ({"in_channels": 0}, "in_channels"),
        ({"num_classes": 0}, "num_classes"),
        ({"activation": "Relu"}, "activation"),
    ],
)
def test_deep_cnn_rejects_bad_arguments_by_name(kwargs, name):
    args = {"depth": 2, "channels": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        deep_cnn(**args)


def test_collapse_linear_computes_what_the_stack_computes():
    stack = deep_mlp(4, 16, "identity", in_features=12, num_classes=3, init="he").double()
    single = collapse_linear(stack)
    x = torch.randn(20, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert isinstance(single, nn.Linear) and single.weight.dtype == torch.float64
    assert torch.allclose(single(x), stack(x), rtol=0, atol=1e-12)


def test_collapse_linear_handles_layers_without_bias():
    stack = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Identity(), nn.Linear(4, 2))
    x = torch.randn(5, 3)
    assert torch.allclose(collapse_linear(stack)(x), stack(x), atol=1e-6)
    one = nn.Sequential(nn.Linear(3, 2, bias=False))
    assert torch.count_nonzero(collapse_linear(one).bias) == 0


def test_collapse_linear_refuses_a_non_linearity_naming_the_layer():
    with pytest.raises(ValueError, match="act1 is ReLU"):
        collapse_linear(deep_mlp(3, 4, "relu"))


def test_collapse_linear_needs_a_sequential_with_a_linear_layer():
    with pytest.raises(TypeError, match="model must be an nn.Sequential"):
        collapse_linear(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="at least one Linear"):
        collapse_linear(nn.Sequential(nn.Flatten()))


def test_module_lists_its_public_names():
    assert set(plain.__all__) == {
        "ACTIVATIONS",
        "INITS",
        "activation",
        "collapse_linear",
        "deep_cnn",
        "deep_mlp",
    }
