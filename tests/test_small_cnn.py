"""coursepkg.models.small_cnn: shapes, parameter counts, seeds and argument checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coursepkg.invariance import MaxBlurPool2d
from coursepkg.models import small_cnn
from coursepkg.models.small_cnn import POOLS, SmallCNN

FACTORIES = {
    "max": small_cnn.max_pool_cnn,
    "avg": small_cnn.avg_pool_cnn,
    "blur": small_cnn.blur_pool_cnn,
    "stride": small_cnn.strided_cnn,
    None: small_cnn.no_pool_cnn,
}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv_params(c_in: int, c_out: int) -> int:
    return c_out * c_in * 9 + c_out


@pytest.mark.parametrize("pool", POOLS)
def test_output_and_feature_shapes(pool):
    model = SmallCNN(pool=pool)
    x = torch.zeros(5, 1, 8, 8)
    assert model(x).shape == (5, 10)
    side = 8 if pool is None else 2
    assert model.features(x).shape == (5, 32, side, side)


@pytest.mark.parametrize("pool", POOLS)
def test_parameter_counts(pool):
    side = 8 if pool is None else 2
    expected = conv_params(1, 16) + conv_params(16, 32) + 32 * side * side * 10 + 10
    assert n_params(SmallCNN(pool=pool)) == expected
    assert n_params(SmallCNN(pool=pool)) == {None: 25290}.get(pool, 6090)


def test_other_sizes_channels_and_classes():
    model = SmallCNN(
        pool="blur", num_classes=3, in_channels=3, channels=(4, 6), image_size=(12, 10)
    )
    assert model(torch.zeros(2, 3, 12, 10)).shape == (2, 3)
    assert model.features(torch.zeros(1, 3, 12, 10)).shape == (1, 6, 3, 2)  # 12-6-3, 10-5-2
    assert SmallCNN(pool="max", image_size=9)(torch.zeros(1, 1, 9, 9)).shape == (1, 10)
    assert n_params(SmallCNN(pool="avg", channels=8)) == conv_params(1, 8) + conv_params(8, 8) + 330


def test_downsampling_layers():
    assert isinstance(SmallCNN(pool="max").features.pool1, nn.MaxPool2d)
    assert isinstance(SmallCNN(pool="avg").features.pool2, nn.AvgPool2d)
    assert isinstance(SmallCNN(pool="blur").features.pool1, MaxBlurPool2d)
    strided = SmallCNN(pool="stride").features
    assert isinstance(strided.pool1, nn.Identity) and strided.conv1.stride == (2, 2)
    assert SmallCNN(pool=None).features.conv2.stride == (1, 1)


@pytest.mark.parametrize("pool, factory", FACTORIES.items())
def test_factories(pool, factory):
    model = factory(num_classes=4)
    assert isinstance(model, SmallCNN) and model.pool == pool
    assert model(torch.zeros(1, 1, 8, 8)).shape == (1, 4)


def test_seed_fixes_weights_without_touching_the_global_generator():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first, second = SmallCNN(seed=7), SmallCNN(seed=7)
    after = torch.rand(3)
    assert torch.equal(before, after)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    other = SmallCNN(seed=8)
    assert not torch.equal(first.features.conv1.weight, other.features.conv1.weight)


def test_seed_none_draws_from_the_global_generator():
    torch.manual_seed(0)
    a = SmallCNN(seed=None)
    torch.manual_seed(0)
    b = SmallCNN(seed=None)
    c = SmallCNN(seed=None)
    assert torch.equal(a.classifier.weight, b.classifier.weight)
    assert not torch.equal(b.classifier.weight, c.classifier.weight)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pool="min"), "pool must be one of"),
        (dict(pool="Max"), "pool must be one of"),
        (dict(num_classes=0), "num_classes"),
        (dict(in_channels=1.0), "in_channels"),
        (dict(channels=(16, 0)), "channels"),
        (dict(channels=(1, 2, 3)), "channels"),
        (dict(image_size=3), "image_size"),
        (dict(image_size=(8, 2)), "image_size"),
        (dict(seed=-1), "seed"),
        (dict(seed=0.5), "seed"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmallCNN(**kwargs)
