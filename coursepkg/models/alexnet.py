"""AlexNet (Krizhevsky et al. 2012): five convolutions, three dense layers, ReLU and dropout.

The 2012 network was split over two GPUs: each of its convolutions 2, 4 and 5 sees only the
half of the previous layer's maps that lives on its own GPU. Two forms are built here:

=============  ===================================================  ================
variant        convolution widths (and grouping)                    params, 1000 cl.
=============  ===================================================  ================
"one_tower"    64, 192, 384, 256, 256, all on one device            61,100,840
"two_tower"    96, 256, 384, 384, 256, convs 2, 4, 5 in 2 groups,   60,965,224
               local response normalisation after convs 1 and 2
=============  ===================================================  ================

"one_tower" is the single-device form of Krizhevsky's 2014 follow-up, which most frameworks
ship as "AlexNet"; "two_tower" is the 2012 paper's, with the split written as grouped
convolutions (``groups=2``). Both end the same way: 3 x 3 max pooling with stride 2, average
pooling to 6 x 6, then dropout (p=0.5) before two dense layers of ``hidden`` (4096) units and
the output layer.

For a 224 x 224 image the maps are 55 x 55 after conv1, 27 x 27 after conv2, 13 x 13 for
convs 3 to 5 and 6 x 6 after the last pooling; images need at least 63 x 63 pixels.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from coursepkg._checks import as_int
from coursepkg.models import seeded

__all__ = ["VARIANTS", "AlexNet", "alexnet"]

#: Widths of the five convolutions, and which of them are grouped, per variant.
VARIANTS = {
    "one_tower": ((64, 192, 384, 256, 256), (1, 1, 1, 1, 1)),
    "two_tower": ((96, 256, 384, 384, 256), (1, 2, 1, 2, 2)),
}


class AlexNet(nn.Module):
    """AlexNet: images (N, in_channels, H, W) -> logits (N, num_classes), H, W >= 63.

    variant: "one_tower" or "two_tower" (see the module docstring). width: a factor applied to
    every convolution's width (rounded, and kept divisible by the groups), for small versions.
    hidden: units of the two hidden dense layers. dropout: the probability of dropping a unit
    before each of them (Srivastava et al. 2014). seed: fixes the initial weights (PyTorch's
    default init) without touching torch's global generator; None draws them from it.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        in_channels: int = 3,
        variant: str = "one_tower",
        width: float = 1.0,
        hidden: int = 4096,
        dropout: float = 0.5,
        seed: int | None = 0,
    ):
        super().__init__()
        num_classes = as_int(num_classes, "num_classes")
        in_channels = as_int(in_channels, "in_channels")
        hidden = as_int(hidden, "hidden")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
        widths, groups = VARIANTS[variant]
        widths = [scaled_width(c, width, g) for c, g in zip(widths, groups, strict=True)]
        dropout = check_probability(dropout, "dropout")
        two_tower = variant == "two_tower"
        c_in = [in_channels, *widths[:-1]]
        kernels, paddings = (11, 5, 3, 3, 3), (2, 2, 1, 1, 1)
        layers: list[tuple[str, nn.Module]] = []
        with seeded(seed):
            for k in range(5):
                conv = nn.Conv2d(
                    c_in[k],
                    widths[k],
                    kernels[k],
                    stride=4 if k == 0 else 1,
                    padding=paddings[k],
                    groups=groups[k],
                )
                layers += [(f"conv{k + 1}", conv), (f"relu{k + 1}", nn.ReLU(inplace=True))]
                if two_tower and k < 2:  # the paper's local response normalisation
                    layers.append((f"norm{k + 1}", nn.LocalResponseNorm(5, 1e-4, 0.75, 2.0)))
                if k in (0, 1, 4):
                    layers.append((f"pool{k + 1}", nn.MaxPool2d(3, stride=2)))
            self.features = nn.Sequential(OrderedDict(layers))
            self.avgpool = nn.AdaptiveAvgPool2d(6)
            self.classifier = nn.Sequential(
                OrderedDict(
                    [
                        ("flatten", nn.Flatten()),
                        ("drop6", nn.Dropout(dropout)),
                        ("fc6", nn.Linear(widths[-1] * 6 * 6, hidden)),
                        ("relu6", nn.ReLU(inplace=True)),
                        ("drop7", nn.Dropout(dropout)),
                        ("fc7", nn.Linear(hidden, hidden)),
                        ("relu7", nn.ReLU(inplace=True)),
                        ("fc8", nn.Linear(hidden, num_classes)),
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))


def alexnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNet:
    """AlexNet (Krizhevsky et al. 2012), one-tower form; random init. See :class:`AlexNet`."""
    return AlexNet(num_classes, in_channels, **kwargs)


def scaled_width(channels: int, width: float, multiple: int = 1) -> int:
    """``channels * width`` rounded to a multiple of ``multiple``, at least ``multiple``.

    width: a positive number; 1 keeps the published widths, 1/8 makes a network for digits.
    """
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
        raise ValueError(f"width must be a positive number, got {width!r}")
    return max(multiple, round(channels * width / multiple) * multiple)


def check_probability(p, name: str) -> float:
    """``p`` as a float in [0, 1); ``ValueError`` naming ``name`` otherwise."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
    return float(p)
