"""A small CNN for 8 x 8 digits whose only variable part is how it downsamples.

Two stages of 3 x 3 convolution + ReLU, each followed by a 2x downsampling chosen by ``pool``,
then one linear layer on the flattened feature maps:

=========  ==============================================================================
pool       downsampling after each stage (8 x 8 -> 4 x 4 -> 2 x 2 for digits)
=========  ==============================================================================
"max"      ``nn.MaxPool2d(2)``
"avg"      ``nn.AvgPool2d(2)``
"blur"     max with stride 1, then a binomial blur with stride 2 (Zhang 2019, BlurPool)
"stride"   none: the stage's convolution itself has stride 2 (the all-convolutional net of
           Springenberg et al. 2014)
None       none at all: the maps stay 8 x 8, and the linear layer is larger
=========  ==============================================================================

The convolutions are the same in every variant, so differences in accuracy or in sensitivity
to shifts come from the downsampling (and, for ``None``, from the larger linear layer).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from coursepkg._checks import as_int, as_pair
from coursepkg.invariance import MaxBlurPool2d
from coursepkg.models import seeded

__all__ = [
    "POOLS",
    "SmallCNN",
    "avg_pool_cnn",
    "blur_pool_cnn",
    "max_pool_cnn",
    "no_pool_cnn",
    "strided_cnn",
]

#: Values accepted by ``SmallCNN(pool=...)``.
POOLS = ("max", "avg", "blur", "stride", None)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3 x 3 convolution with padding 1: keeps the size at stride 1, halves it at stride 2."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1)


def downsample(pool: str | None) -> nn.Module:
    """The layer that follows each stage: a 2x pooling, or nothing for "stride" and None."""
    if pool == "max":
        return nn.MaxPool2d(2)
    if pool == "avg":
        return nn.AvgPool2d(2)
    if pool == "blur":
        return MaxBlurPool2d(kernel_size=2, stride=2, filter_size=3)
    return nn.Identity()


class SmallCNN(nn.Module):
    """conv-ReLU-downsample twice, flatten, linear: images (N, C, H, W) -> logits (N, K).

    pool: one of :data:`POOLS` (see the module docstring). channels: the two stages' widths.
    image_size: H or (H, W) of the inputs, which sets the linear layer's size.
    seed: fixes the initial weights (PyTorch's default init) without touching torch's global
    generator; None draws them from it.
    """

    def __init__(
        self,
        pool: str | None = "max",
        num_classes: int = 10,
        in_channels: int = 1,
        channels: tuple[int, int] = (16, 32),
        image_size=8,
        seed: int | None = 0,
    ):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}; got {pool!r}")
        num_classes = as_int(num_classes, "num_classes")
        in_channels = as_int(in_channels, "in_channels")
        c1, c2 = as_pair(channels, "channels")
        height, width = as_pair(image_size, "image_size", minimum=4)
        self.pool = pool
        stride = 2 if pool == "stride" else 1
        with seeded(seed):
            self.features = nn.Sequential(
                OrderedDict(
                    [
                        ("conv1", conv3x3(in_channels, c1, stride)),
                        ("relu1", nn.ReLU()),
                        ("pool1", downsample(pool)),
                        ("conv2", conv3x3(c1, c2, stride)),
                        ("relu2", nn.ReLU()),
                        ("pool2", downsample(pool)),
                    ]
                )
            )
            with torch.no_grad():
                probe = torch.zeros(1, in_channels, height, width)
                n_features = self.features(probe).numel()
            self.classifier = nn.Linear(n_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return self.classifier(torch.flatten(x, 1))


def max_pool_cnn(**kwargs) -> SmallCNN:
    """:class:`SmallCNN` downsampling by 2 x 2 max pooling."""
    return SmallCNN(pool="max", **kwargs)


def avg_pool_cnn(**kwargs) -> SmallCNN:
    """:class:`SmallCNN` downsampling by 2 x 2 average pooling."""
    return SmallCNN(pool="avg", **kwargs)


def blur_pool_cnn(**kwargs) -> SmallCNN:
    """:class:`SmallCNN` downsampling by max (stride 1) then blur (stride 2), Zhang 2019."""
    return SmallCNN(pool="blur", **kwargs)


def strided_cnn(**kwargs) -> SmallCNN:
    """:class:`SmallCNN` downsampling by stride-2 convolutions, no pooling (Springenberg 2014)."""
    return SmallCNN(pool="stride", **kwargs)


def no_pool_cnn(**kwargs) -> SmallCNN:
    """:class:`SmallCNN` without downsampling: stride-1 convolutions on 8 x 8 maps throughout."""
    return SmallCNN(pool=None, **kwargs)
