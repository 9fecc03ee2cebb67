"""LeNet-5 (LeCun et al. 1998), in the form most courses and frameworks use today.

==========  ============================================  ==============================  =======
name        layer                                         output for a 32 x 32 image      params
==========  ============================================  ==============================  =======
c1          5 x 5 convolution, 6 maps, + activation       (N, 6, 28, 28)                  156
s2          2 x 2 average pooling                         (N, 6, 14, 14)                  0
c3          5 x 5 convolution, 16 maps, + activation      (N, 16, 10, 10)                 2,416
s4          2 x 2 average pooling                         (N, 16, 5, 5)                   0
c5          5 x 5 convolution, 120 maps, + activation     (N, 120, 1, 1)                  48,120
f6          linear, 84 units, + activation                (N, 84)                         10,164
out         linear, one score per class                   (N, 10)                         850
==========  ============================================  ==============================  =======

61,706 parameters for one grey channel and ten classes. The paper's network differs in three
places, which together bring its count to the 60,000 it states: C3 connects each of its 16 maps
to only some of S2's 6 maps (1,516 parameters instead of 2,416), each subsampling map has a
trainable coefficient and bias (12 parameters in S2, 32 in S4), and the output layer is made of
fixed radial basis functions (no trainable parameter) instead of a linear layer. Its activation
is a scaled tanh; ``activation="tanh"`` (the default) is the plain one, "relu" the modern choice.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from coursepkg._checks import as_int, as_pair
from coursepkg.models import seeded

__all__ = ["ACTIVATIONS", "LeNet5", "lenet5"]

#: Activations :class:`LeNet5` accepts.
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class LeNet5(nn.Module):
    """LeNet-5: images (N, in_channels, H, W) -> logits (N, num_classes); see the module table.

    image_size: H or (H, W), at least 32 (the paper's input size): larger images leave C5 with
    maps larger than 1 x 1, and F6 then sees all of them. activation: "tanh" or "relu".
    pool: "avg" (the paper's subsampling) or "max". seed: fixes the initial weights (PyTorch's
    default init) without touching torch's global generator; None draws them from it.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        image_size=32,
        activation: str = "tanh",
        pool: str = "avg",
        seed: int | None = 0,
    ):
        super().__init__()
        num_classes = as_int(num_classes, "num_classes")
        in_channels = as_int(in_channels, "in_channels")
        height, width = as_pair(image_size, "image_size", minimum=32)
        if activation not in ACTIVATIONS:
            names = ", ".join(ACTIVATIONS)
            raise ValueError(f"activation must be one of {names}; got {activation!r}")
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        act, subsample = ACTIVATIONS[activation], nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
        c5_size = ((height - 4) // 2 - 4) // 2 - 4, ((width - 4) // 2 - 4) // 2 - 4
        with seeded(seed):
            self.features = nn.Sequential(
                OrderedDict(
                    [
                        ("c1", nn.Conv2d(in_channels, 6, kernel_size=5)),
                        ("act1", act()),
                        ("s2", subsample(2)),
                        ("c3", nn.Conv2d(6, 16, kernel_size=5)),
                        ("act3", act()),
                        ("s4", subsample(2)),
                        ("c5", nn.Conv2d(16, 120, kernel_size=5)),
                        ("act5", act()),
                    ]
                )
            )
            self.classifier = nn.Sequential(
                OrderedDict(
                    [
                        ("flatten", nn.Flatten()),
                        ("f6", nn.Linear(120 * c5_size[0] * c5_size[1], 84)),
                        ("act6", act()),
                        ("out", nn.Linear(84, num_classes)),
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def lenet5(num_classes: int = 10, in_channels: int = 1, **kwargs) -> LeNet5:
    """LeNet-5 (LeCun et al. 1998) for 32 x 32 images; random init. See :class:`LeNet5`."""
    return LeNet5(num_classes, in_channels, **kwargs)
