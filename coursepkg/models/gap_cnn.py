"""A small CNN that ends in global average pooling and one linear layer, the shape CAM needs.

Three convolution stages, then the mean of each channel of the last one, then a linear layer
(the network-in-network head of Lin et al. 2014, which Zhou et al. 2016 used for class
activation maps):

=========  ========================================  ===================================
name       layer                                     output for a 32 x 32 grey image
=========  ========================================  ===================================
conv1      5 x 5 convolution, padding 2, + ReLU      (N, c1, 32, 32)
pool1      2 x 2 max pooling                         (N, c1, 16, 16)
conv2      3 x 3 convolution, padding 1, + ReLU      (N, c2, 16, 16)
pool2      2 x 2 max pooling                         (N, c2, 8, 8)
conv3      3 x 3 convolution, padding 1, + ReLU      (N, c3, 8, 8)
gap        global average pooling, flattened         (N, c3)
fc         linear                                    (N, num_classes)
=========  ========================================  ===================================

The ReLUs are named ``relu1``... so that ``model.features.relu3`` is the last feature map, the
one CAM and Grad-CAM look at. The first layer's 5 x 5 filters are large enough to show what
they learned.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from coursepkg._checks import as_int
from coursepkg.models import seeded

__all__ = ["GapCNN", "gap_cnn"]


class GapCNN(nn.Module):
    """conv-ReLU(-pool) three times, global average pooling, linear: (N, C, H, W) -> (N, K).

    channels: the widths ``(c1, c2, c3)`` of the three stages. Any image size of at least
    4 x 4 works: the global average pooling hides it from the linear layer. seed: fixes the
    initial weights (PyTorch's default init) without touching torch's global generator; None
    draws them from it.
    """

    def __init__(
        self,
        num_classes: int = 4,
        in_channels: int = 1,
        channels: tuple[int, int, int] = (8, 16, 32),
        seed: int | None = 0,
    ):
        super().__init__()
        num_classes = as_int(num_classes, "num_classes")
        in_channels = as_int(in_channels, "in_channels")
        if not (isinstance(channels, (tuple, list)) and len(channels) == 3):
            raise ValueError(f"channels must be three positive ints, got {channels!r}")
        c1, c2, c3 = (as_int(c, "channels") for c in channels)
        with seeded(seed):
            self.features = nn.Sequential(
                OrderedDict(
                    [
                        ("conv1", nn.Conv2d(in_channels, c1, kernel_size=5, padding=2)),
                        ("relu1", nn.ReLU()),
                        ("pool1", nn.MaxPool2d(2)),
                        ("conv2", nn.Conv2d(c1, c2, kernel_size=3, padding=1)),
                        ("relu2", nn.ReLU()),
                        ("pool2", nn.MaxPool2d(2)),
                        ("conv3", nn.Conv2d(c2, c3, kernel_size=3, padding=1)),
                        ("relu3", nn.ReLU()),
                    ]
                )
            )
            self.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.fc = nn.Linear(c3, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.gap(self.features(x)))


def gap_cnn(**kwargs) -> GapCNN:
    """:class:`GapCNN` with the default widths (8, 16, 32) for four classes; random init."""
    return GapCNN(**kwargs)
