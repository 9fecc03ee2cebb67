"""Residual networks (He et al. 2016), and the plain networks they were compared with.

A *residual* block computes a branch F(x) of two or three convolutions and adds its input back:
``relu(F(x) + shortcut(x))``. The shortcut is the identity, or a 1 x 1 convolution with batch
normalisation where the block changes the size or the number of maps (the paper's option B).
A *plain* block is the same block without the addition: ``relu(F(x))``.

=========  ================================  ================  ==============
network    blocks per stage (block)          params, 1000 cl.  MACs, 224
=========  ================================  ================  ==============
ResNet-18  2, 2, 2, 2 (:class:`BasicBlock`)  11,689,512        1.8 x 10^9
ResNet-34  3, 4, 6, 3 (:class:`BasicBlock`)  21,797,672        3.6 x 10^9
ResNet-50  3, 4, 6, 3 (:class:`Bottleneck`)  25,557,032        3.8-4.1 x 10^9
=========  ================================  ================  ==============

ImageNet networks start with a 7 x 7 convolution of stride 2 and a 3 x 3 max pooling of stride
2 (``stem="imagenet"``), so a 224 x 224 image reaches the first stage at 56 x 56. For small
images, ``stem="small"`` is the paper's CIFAR-10 start: one 3 x 3 convolution, no pooling.
Every stage after the first halves the maps and doubles the width; the network ends with global
average pooling and one linear layer.

ResNet-50's count of 3.8 x 10^9 multiply-adds is the paper's, whose bottleneck blocks stride in
their first 1 x 1 convolution (``stride_in_1x1=True``); most frameworks today stride in the 3 x 3
convolution (the default here), which costs 4.1 x 10^9 and is a little more accurate.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from coursepkg._checks import as_int
from coursepkg.models import seeded

__all__ = [
    "STEMS",
    "BasicBlock",
    "Block",
    "Bottleneck",
    "PlainBlock",
    "ResNet",
    "ResidualBlock",
    "conv1x1",
    "conv3x3",
    "resnet18",
    "resnet34",
    "resnet50",
    "small_resnet",
]

#: Values accepted by ``ResNet(stem=...)``.
STEMS = ("imagenet", "small")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3 x 3 convolution, padding 1, no bias (a batch normalisation follows it)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1 x 1 convolution, no bias: mixes channels, and subsamples when stride is 2."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """The shortcut: identity when the shapes match, else 1 x 1 convolution + batch norm."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(
        OrderedDict(
            [
                ("conv", conv1x1(in_channels, out_channels, stride)),
                ("bn", nn.BatchNorm2d(out_channels)),
            ]
        )
    )


class Block(nn.Module):
    """What every block does with its branch F: ``relu(F(x) + shortcut(x))``, or ``relu(F(x))``.

    Subclasses build ``branch``, ``relu``, ``residual`` and, when residual, ``shortcut``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.residual:
            out = out + self.shortcut(x)
        return self.relu(out)


class BasicBlock(Block):
    """Two 3 x 3 convolutions with batch norm: x (N, C_in, H, W) -> (N, C_out, H/s, W/s).

    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``; stride s in conv1 (and in the
    shortcut). residual=False drops the addition and the shortcut: a plain block.
    """

    expansion = 1  # output width / the width argument

    def __init__(self, in_channels: int, width: int, stride: int = 1, residual: bool = True):
        super().__init__()
        out_channels = _check_block(in_channels, width, stride, residual) * self.expansion
        self.residual = residual
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(width, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if residual:
            self.shortcut = projection(in_channels, out_channels, stride)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the block's output before the addition and the last ReLU."""
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


#: The residual block of ResNet-18 and ResNet-34 (the paper's "building block").
ResidualBlock = BasicBlock


class PlainBlock(BasicBlock):
    """:class:`BasicBlock` without its shortcut: ``relu(F(x))``, same layers, same init."""

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__(in_channels, width, stride, residual=False)


class Bottleneck(Block):
    """1 x 1 (reduce), 3 x 3, 1 x 1 (expand 4x): x (N, C_in, H, W) -> (N, 4 width, H/s, W/s).

    The 3 x 3 convolution works on ``width`` maps, a quarter of the output's, which makes a
    deep network affordable. stride_in_1x1: stride in the first 1 x 1 convolution (the paper)
    rather than in the 3 x 3 one (the default, as in most frameworks). residual=False drops
    the addition and the shortcut.
    """

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        residual: bool = True,
        stride_in_1x1: bool = False,
    ):
        super().__init__()
        out_channels = _check_block(in_channels, width, stride, residual) * self.expansion
        if not isinstance(stride_in_1x1, bool):
            raise TypeError(f"stride_in_1x1 must be a bool, got {type(stride_in_1x1).__name__}")
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.residual = residual
        self.conv1 = conv1x1(in_channels, width, s1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, s3)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        if residual:
            self.shortcut = projection(in_channels, out_channels, stride)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """F(x): the block's output before the addition and the last ReLU."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


class ResNet(nn.Module):
    """A residual (or plain) network: images (N, in_channels, H, W) -> logits (N, num_classes).

    block: :class:`BasicBlock` or :class:`Bottleneck`. layers: blocks per stage, e.g.
    ``[2, 2, 2, 2]``; stage k (from 0) has ``width * 2**k`` maps before the block's expansion
    and halves the maps when k > 0. stem: "imagenet" or "small" (see the module docstring).
    residual: False builds the plain network, the same layers without shortcuts.
    zero_init_residual: start each block's last batch norm at 0, so that every residual block
    starts as the identity (Goyal et al. 2017). Stages are named ``layer1``, ``layer2``, ...
    Convolutions start He-normal (fan out); seed fixes them without touching torch's global
    generator (None draws from it).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers,
        num_classes: int = 1000,
        in_channels: int = 3,
        width: int = 64,
        stem: str = "imagenet",
        residual: bool = True,
        zero_init_residual: bool = False,
        stride_in_1x1: bool = False,
        seed: int | None = 0,
    ):
        super().__init__()
        if block not in (BasicBlock, Bottleneck):
            raise TypeError(f"block must be BasicBlock or Bottleneck, got {block!r}")
        if not isinstance(layers, (list, tuple)) or not layers:
            raise ValueError(f"layers must be a non-empty list of positive ints, got {layers!r}")
        layers = [as_int(n, "layers") for n in layers]
        num_classes = as_int(num_classes, "num_classes")
        in_channels, width = as_int(in_channels, "in_channels"), as_int(width, "width")
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}; got {stem!r}")
        if block is BasicBlock and stride_in_1x1:
            raise ValueError("stride_in_1x1 applies to Bottleneck blocks only")
        extra = {"stride_in_1x1": stride_in_1x1} if block is Bottleneck else {}
        with seeded(seed):
            if stem == "imagenet":
                self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
                self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            else:
                self.conv1 = conv3x3(in_channels, width)
                self.maxpool = nn.Identity()
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU()
            c_in = width
            for k, count in enumerate(layers):
                blocks = []
                for i in range(count):
                    stride = 2 if k > 0 and i == 0 else 1
                    blocks.append(block(c_in, width * 2**k, stride, residual, **extra))
                    c_in = width * 2**k * block.expansion
                self.add_module(f"layer{k + 1}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(c_in, num_classes)
            self._initialise(zero_init_residual)
        self.stages = len(layers)

    def _initialise(self, zero_init_residual: bool) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, (BasicBlock, Bottleneck)):
                    last_bn = module.bn3 if isinstance(module, Bottleneck) else module.bn2
                    nn.init.zeros_(last_bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for k in range(1, self.stages + 1):
            x = getattr(self, f"layer{k}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-18 (He et al. 2016); random init. See :class:`ResNet` for the options."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kwargs)


def resnet34(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-34 (He et al. 2016); random init. See :class:`ResNet` for the options."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


def resnet50(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> ResNet:
    """ResNet-50 (He et al. 2016), bottleneck blocks; random init. See :class:`ResNet`."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


def small_resnet(
    depth: int,
    residual: bool = True,
    num_classes: int = 10,
    in_channels: int = 1,
    width: int = 16,
    **kwargs,
) -> ResNet:
    """The paper's networks for small images: ``depth = 6 n + 2`` weight layers.

    One 3 x 3 convolution, three stages of n basic blocks (``width``, 2 ``width`` and
    4 ``width`` maps, each stage after the first halving the maps), global average pooling
    and a linear layer. residual=False gives the plain network of the same depth, which the
    paper compares with it (its section 4.2: depths 20, 32, 44, 56, 110).
    """
    depth = as_int(depth, "depth", minimum=8)
    if (depth - 2) % 6:
        raise ValueError(f"depth must be 6 n + 2 (8, 14, 20, 26, ...), got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, [n] * 3, num_classes, in_channels, width, "small", residual, **kwargs)


def _check_block(in_channels, width, stride, residual) -> int:
    """Check a block's arguments; return ``width``."""
    as_int(in_channels, "in_channels")
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ValueError(f"stride must be 1 or 2, got {stride!r}")
    if not isinstance(residual, bool):
        raise TypeError(f"residual must be a bool, got {type(residual).__name__}")
    return as_int(width, "width")
