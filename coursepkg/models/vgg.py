"""VGG networks (Simonyan and Zisserman 2014): stacks of 3 x 3 convolutions, then dense layers.

Every convolution is 3 x 3 with stride 1 and padding 1, so it keeps the size of its maps; only
the 2 x 2 max poolings ("M" in a configuration) halve them. A configuration lists the widths of
the convolutions in order, with "M" where a pooling goes. The paper's four:

=====  ==============  ===================================  ================
depth  paper's column  convolutions in the five stages      params, 1000 cl.
=====  ==============  ===================================  ================
11     A               1, 1, 2, 2, 2                        132,863,336
13     B               2, 2, 2, 2, 2                        133,047,848
16     D               2, 2, 3, 3, 3                        138,357,544
19     E               2, 2, 4, 4, 4                        143,667,240
=====  ==============  ===================================  ================

The stages' widths are 64, 128, 256, 512 and 512 maps.

After the convolutions, average pooling to ``pool_size`` x ``pool_size`` (7: a 224 x 224 image
has 7 x 7 maps left, and the pooling then changes nothing) and three dense layers: two of
``hidden`` (4096) units with ReLU and dropout, and the output layer.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from coursepkg._checks import as_int
from coursepkg.models import seeded
from coursepkg.models.alexnet import check_probability, scaled_width

__all__ = ["CONFIGS", "VGG", "vgg11", "vgg13", "vgg16", "vgg19"]

#: The paper's configurations by depth (weight layers): widths, and "M" for 2 x 2 max pooling.
CONFIGS: dict[int, list] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", *[256] * 3, "M", *[512] * 3, "M", *[512] * 3, "M"],
    19: [64, 64, "M", 128, 128, "M", *[256] * 4, "M", *[512] * 4, "M", *[512] * 4, "M"],
}


class VGG(nn.Module):
    """A VGG network: images (N, in_channels, H, W) -> logits (N, num_classes).

    config: a depth of :data:`CONFIGS` (11, 13, 16, 19) or a list of positive ints and "M",
    e.g. ``[16, "M", 32, "M"]`` for a small network; an image needs at least 2^(number of
    "M") pixels a side. width: a factor on every convolution's width. batch_norm: a batch
    normalisation after each convolution (Ioffe and Szegedy 2015; not in the paper).
    pool_size: side of the average pooling's output before the dense layers. hidden: units of
    the two hidden dense layers. dropout: the probability of
    dropping a unit after each of them. Layers are named as in
    the paper: ``conv3_2`` is the second convolution of the third stage, ``pool3`` ends it.
    Weights: He-normal convolutions, normal(0, 0.01) dense layers, zero biases; seed fixes them
    without touching torch's global generator (None draws from it).
    """

    def __init__(
        self,
        config=16,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: float = 1.0,
        batch_norm: bool = False,
        pool_size: int = 7,
        hidden: int = 4096,
        dropout: float = 0.5,
        seed: int | None = 0,
    ):
        super().__init__()
        config = _config(config)
        num_classes = as_int(num_classes, "num_classes")
        in_channels = as_int(in_channels, "in_channels")
        pool_size, hidden = as_int(pool_size, "pool_size"), as_int(hidden, "hidden")
        dropout = check_probability(dropout, "dropout")
        if not isinstance(batch_norm, bool):
            raise TypeError(f"batch_norm must be a bool, got {type(batch_norm).__name__}")
        with seeded(seed):
            layers, c_in, stage, index = [], in_channels, 1, 1
            for item in config:
                if item == "M":
                    layers.append((f"pool{stage}", nn.MaxPool2d(2)))
                    stage, index = stage + 1, 1
                    continue
                c_out = scaled_width(item, width)
                layers.append((f"conv{stage}_{index}", nn.Conv2d(c_in, c_out, 3, padding=1)))
                if batch_norm:
                    layers.append((f"bn{stage}_{index}", nn.BatchNorm2d(c_out)))
                layers.append((f"relu{stage}_{index}", nn.ReLU(inplace=True)))
                c_in, index = c_out, index + 1
            self.features = nn.Sequential(OrderedDict(layers))
            self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
            self.classifier = nn.Sequential(
                OrderedDict(
                    [
                        ("flatten", nn.Flatten()),
                        ("fc6", nn.Linear(c_in * pool_size**2, hidden)),
                        ("relu6", nn.ReLU(inplace=True)),
                        ("drop6", nn.Dropout(dropout)),
                        ("fc7", nn.Linear(hidden, hidden)),
                        ("relu7", nn.ReLU(inplace=True)),
                        ("drop7", nn.Dropout(dropout)),
                        ("fc8", nn.Linear(hidden, num_classes)),
                    ]
                )
            )
            self._initialise()

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def vgg11(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-11, the paper's configuration A; random init. See :class:`VGG`."""
    return VGG(11, num_classes, in_channels, **kwargs)


def vgg13(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-13, the paper's configuration B; random init. See :class:`VGG`."""
    return VGG(13, num_classes, in_channels, **kwargs)


def vgg16(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-16, the paper's configuration D; random init. See :class:`VGG`."""
    return VGG(16, num_classes, in_channels, **kwargs)


def vgg19(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> VGG:
    """VGG-19, the paper's configuration E; random init. See :class:`VGG`."""
    return VGG(19, num_classes, in_channels, **kwargs)


def _config(config) -> list:
    """A configuration as a list of widths and "M"; a depth picks one of :data:`CONFIGS`."""
    if isinstance(config, int) and not isinstance(config, bool):
        if config not in CONFIGS:
            raise ValueError(f"config must be one of the depths {list(CONFIGS)}, got {config}")
        return CONFIGS[config]
    items = list(config) if isinstance(config, (list, tuple)) else None
    valid = items and all(
        item == "M" or (isinstance(item, int) and not isinstance(item, bool) and item > 0)
        for item in items
    )
    if not valid or items[0] == "M" or all(item == "M" for item in items):
        raise ValueError(
            "config must be a depth (11, 13, 16, 19) or a list of positive ints and 'M' that "
            f"starts with a convolution, got {config!r}"
        )
    return items
