"""coursepkg.models.complexity: parameters and MACs, against torch's FLOP counter and the papers."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from coursepkg.models import alexnet, lenet, resnet, vgg
from coursepkg.models.complexity import (
    LayerStats,
    count_parameters,
    format_summary,
    layer_summary,
    macs,
    receptive_field,
)

IMAGENET = (3, 224, 224)
# What the papers state: LeNet-5 ~60 thousand parameters, AlexNet ~60 million, VGG-16 138
# million and 15.3 billion multiply-adds, ResNet-18/34/50 1.8/3.6/3.8 billion (He et al. 2016,
# Table 1; its ResNet-50 strides in the first 1 x 1 convolution of a block).
PAPERS = {  # name: (factory, kwargs, input, stated parameters, stated MACs or None)
    "lenet5": (lenet.lenet5, {}, (1, 32, 32), 60e3, None),
    "alexnet": (alexnet.alexnet, {}, IMAGENET, 60e6, None),
    "vgg16": (vgg.vgg16, {}, IMAGENET, 138e6, 15.3e9),
    "resnet18": (resnet.resnet18, {}, IMAGENET, None, 1.8e9),
    "resnet34": (resnet.resnet34, {}, IMAGENET, None, 3.6e9),
    "resnet50": (resnet.resnet50, {"stride_in_1x1": True}, IMAGENET, None, 3.8e9),
}


def flop_counter_macs(model: nn.Module, size) -> int:
    """Half of what torch.utils.flop_counter counts for one example (it counts 2 per MAC)."""
    param = next(model.parameters())
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, *size, device=param.device))
    return counter.get_total_flops() // 2


def build(name: str) -> tuple[nn.Module, tuple]:
    factory, kwargs, size, *_ = PAPERS[name]
    with torch.device("meta"):
        return factory(**kwargs), size


@pytest.mark.parametrize("name", PAPERS)
def test_macs_agree_with_torchs_flop_counter(name):
    model, size = build(name)
    assert macs(model, size) == flop_counter_macs(model, size)


@pytest.mark.parametrize("name", PAPERS)
def test_counts_are_consistent_with_the_papers(name):
    model, size = build(name)
    *_, stated_params, stated_macs = PAPERS[name]
    if stated_params is not None:  # rounded figures; LeNet-5's variant: see test_architectures
        assert abs(count_parameters(model) - stated_params) / stated_params < 0.03
    if stated_macs is not None:
        assert abs(macs(model, size) - stated_macs) / stated_macs < 0.02


def test_exact_macs_of_known_layers():
    model, size = build("vgg16")
    rows = layer_summary(model, size)
    first = rows[0]
    assert first == LayerStats("features.conv1_1", "Conv2d", (64, 224, 224), 1792, 224**2 * 64 * 27)
    fc6 = next(row for row in rows if row.name == "classifier.fc6")
    assert (fc6.params, fc6.macs) == (25088 * 4096 + 4096, 25088 * 4096)
    conv = sum(row.macs for row in rows if row.kind == "Conv2d")
    assert round(conv / 1e9, 2) == 15.35  # the paper's 15.3 billion counts the convolutions


def test_resnet50_stride_placement_changes_macs_not_parameters():
    with torch.device("meta"):
        v1, v15 = resnet.resnet50(stride_in_1x1=True), resnet.resnet50()
    assert count_parameters(v1) == count_parameters(v15)
    assert macs(v1, IMAGENET) < macs(v15, IMAGENET)
    assert round(macs(v15, IMAGENET) / 1e9, 1) == 4.1


def test_summary_lists_leaves_in_call_order_and_sums_to_the_totals():
    model = lenet.lenet5()
    rows = layer_summary(model, (1, 32, 32))
    assert [row.name for row in rows] == [
        "features.c1",
        "features.act1",
        "features.s2",
        "features.c3",
        "features.act3",
        "features.s4",
        "features.c5",
        "features.act5",
        "classifier.flatten",
        "classifier.f6",
        "classifier.act6",
        "classifier.out",
    ]
    assert [row.output_shape for row in rows[:3]] == [(6, 28, 28), (6, 28, 28), (6, 14, 14)]
    assert sum(row.params for row in rows) == count_parameters(model)
    assert rows[0].macs == 28 * 28 * 6 * 25


def test_summary_restores_the_mode_and_removes_its_hooks():
    model = resnet.small_resnet(8)
    model.train()
    before = dict(model.layer1[0].bn1.state_dict())
    layer_summary(model, (1, 8, 8))
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
    after = model.layer1[0].bn1.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # eval: no statistics updated


def test_summary_of_a_single_layer_and_of_a_model_without_parameters():
    rows = layer_summary(nn.Conv2d(3, 4, 3, groups=1), (3, 5, 5))
    assert rows == [LayerStats("Conv2d", "Conv2d", (4, 3, 3), 112, 4 * 9 * 27)]
    assert layer_summary(nn.ReLU(), (2, 3)) == [LayerStats("ReLU", "ReLU", (2, 3), 0, 0)]


def test_format_summary_shows_rows_and_totals():
    rows = layer_summary(lenet.lenet5(), (1, 32, 32))
    text = format_summary(rows, kinds=["Conv2d", "Linear"])
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "kind", "output", "shape", "params", "MACs"]
    assert "features.c1" in text and "act1" not in text
    assert "6 x 28 x 28" in text
    assert lines[-1].split() == ["total", "61,706", "416,520"]
    assert len(format_summary(rows).splitlines()) == len(rows) + 4


def test_trainable_only_skips_frozen_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    assert count_parameters(model) == 16 + 10
    assert count_parameters(model, trainable_only=True) == 10


@pytest.mark.parametrize(
    ("kernels", "strides", "field"),
    [
        ([3], None, 3),
        ([3, 3], None, 5),
        ([3, 3, 3], None, 7),
        ([5], [1], 5),
        ([3, 2, 3], [1, 2, 1], 8),
    ],
)
def test_receptive_field(kernels, strides, field):
    assert receptive_field(kernels, strides) == field


def test_receptive_field_matches_the_gradient_of_one_output():
    """The input pixels that the centre output depends on form a square of that side."""
    torch.manual_seed(0)
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3))
    x = torch.randn(1, 1, 21, 21, requires_grad=True)
    out = stack(x)
    (grad,) = torch.autograd.grad(out[0, 0, out.shape[2] // 2, out.shape[3] // 2], x)
    rows, cols = (grad[0, 0] != 0).nonzero().T
    side = int(rows.max() - rows.min() + 1)
    assert side == int(cols.max() - cols.min() + 1) == receptive_field([3, 3, 3], [1, 2, 1])


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: count_parameters("model"), TypeError, "model"),
        (lambda: layer_summary("model", (1, 8, 8)), TypeError, "model"),
        (lambda: layer_summary(nn.ReLU(), 8), ValueError, "input_size"),
        (lambda: layer_summary(nn.ReLU(), ()), ValueError, "input_size"),
        (lambda: layer_summary(nn.ReLU(), (1, 0)), ValueError, "input_size"),
        (lambda: receptive_field(3), TypeError, "kernel_sizes"),
        (lambda: receptive_field("33"), TypeError, "kernel_sizes"),
        (lambda: receptive_field([3, 0]), ValueError, "kernel_sizes"),
        (lambda: receptive_field([3, 3], 2), TypeError, "strides"),
        (lambda: receptive_field([3, 3], [1]), ValueError, "strides"),
        (lambda: receptive_field([3], [0]), ValueError, "strides"),
    ],
)
def test_bad_arguments_name_themselves(call, error, name):
    with pytest.raises(error, match=name):
        call()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_macs_agree_with_torchs_flop_counter_on_random_conv_nets(data):
    channels, size = data.draw(st.integers(1, 4)), data.draw(st.integers(6, 16))
    layers, c_in, side = [], channels, size
    for _ in range(data.draw(st.integers(1, 3))):
        groups = data.draw(st.sampled_from([g for g in (1, 2, 3) if c_in % g == 0]))
        c_out = groups * data.draw(st.integers(1, 3))
        kernel, dilation = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2))
        padding, stride = data.draw(st.integers(0, 2)), data.draw(st.integers(1, 3))
        out = (side + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
        if out < 1:
            break
        bias = data.draw(st.booleans())
        layers += [nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation, groups, bias)]
        layers.append(nn.ReLU())
        c_in, side = c_out, out
    if data.draw(st.booleans()):
        layers += [nn.Flatten(), nn.Linear(c_in * side * side, data.draw(st.integers(1, 5)))]
    model = nn.Sequential(*layers) if layers else nn.Sequential(nn.Conv2d(channels, 1, 1))
    size_in = (channels, size, size)
    assert macs(model, size_in) == flop_counter_macs(model, size_in)
    assert sum(r.params for r in layer_summary(model, size_in)) == count_parameters(model)
