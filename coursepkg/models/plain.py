"""Plain deep networks (no normalisation, no skip connections) with a choice of activation.

They are the test bench for activation functions: the same stack of layers, built with one
activation or another, shows which activations let gradients through many layers and which let
units die. ``deep_mlp`` takes flattened inputs (digits are 8 x 8 = 64 features) and
``deep_cnn`` images ``(N, C, H, W)``. Layers carry readable names (``linear1``, ``act1``, ...,
``out``), which the diagnostics in :mod:`coursepkg.diagnostics` use as keys.

``collapse_linear`` shows why the activation is needed at all: without it, any stack of linear
layers is a single linear layer.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from coursepkg._checks import as_int
from coursepkg.models import seeded

__all__ = ["ACTIVATIONS", "INITS", "activation", "collapse_linear", "deep_cnn", "deep_mlp"]

#: Activation modules by name. "identity" means no non-linearity at all.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,  # negative slope 0.01 (Maas et al. 2013)
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
}

#: Weight initialisations accepted by the factories; biases start at 0 except for "default".
INITS = ("default", "glorot", "he")


def activation(name: str) -> nn.Module:
    """A fresh activation module by name, one of :data:`ACTIVATIONS`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")
    return ACTIVATIONS[name]()


def deep_mlp(
    depth: int,
    width: int,
    activation: str = "relu",
    in_features: int = 64,
    num_classes: int = 10,
    init: str = "default",
    seed: int | None = 0,
) -> nn.Sequential:
    """A fully connected network with ``depth`` Linear layers; input (N, ...) -> logits (N, K).

    The input is flattened to (N, in_features). The first ``depth - 1`` Linear layers have
    ``width`` outputs and are each followed by the activation; the last one (``out``) gives the
    ``num_classes`` logits. ``depth=1`` is a single linear layer (multinomial logistic
    regression). init: "default" keeps PyTorch's, "glorot" (Glorot and Bengio 2010) and "he"
    (He et al. 2015) draw normal weights with variance 2 / (fan_in + fan_out) and 2 / fan_in.
    seed: fixes the initial weights without touching torch's global generator; None draws them
    from it.
    """
    depth, width = as_int(depth, "depth"), as_int(width, "width")
    sizes = [as_int(in_features, "in_features")] + [width] * (depth - 1)
    sizes.append(as_int(num_classes, "num_classes"))
    act_name, generator = _activation_name(activation), _generator(init, seed)
    with seeded(seed):  # constructing a layer draws from the global generator
        layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
        for k in range(1, depth):
            layers += [(f"linear{k}", nn.Linear(sizes[k - 1], sizes[k]))]
            layers += [(f"act{k}", ACTIVATIONS[act_name]())]
        layers.append(("out", nn.Linear(sizes[-2], sizes[-1])))
        return _initialised(nn.Sequential(OrderedDict(layers)), init, generator)


def deep_cnn(
    depth: int,
    channels: int,
    activation: str = "relu",
    in_channels: int = 1,
    num_classes: int = 10,
    init: str = "default",
    seed: int | None = 0,
) -> nn.Sequential:
    """``depth`` 3 x 3 convolutions, global average pooling and a Linear classifier.

    x (N, in_channels, H, W) -> logits (N, num_classes). Every convolution keeps the size
    (padding 1), has ``channels`` outputs and is followed by the activation. ``init`` and
    ``seed`` as in :func:`deep_mlp`.
    """
    depth, channels = as_int(depth, "depth"), as_int(channels, "channels")
    in_channels = as_int(in_channels, "in_channels")
    num_classes = as_int(num_classes, "num_classes")
    act_name, generator = _activation_name(activation), _generator(init, seed)
    with seeded(seed):
        layers: list[tuple[str, nn.Module]] = []
        for k in range(1, depth + 1):
            c_in = in_channels if k == 1 else channels
            layers += [(f"conv{k}", nn.Conv2d(c_in, channels, kernel_size=3, padding=1))]
            layers += [(f"act{k}", ACTIVATIONS[act_name]())]
        layers += [("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten())]
        layers.append(("out", nn.Linear(channels, num_classes)))
        return _initialised(nn.Sequential(OrderedDict(layers)), init, generator)


def collapse_linear(model: nn.Module) -> nn.Linear:
    """The single Linear layer that computes what a stack of linear layers computes.

    model: an ``nn.Sequential`` of Linear layers, with only Flatten / Identity between them.
    A Linear layer maps x to W x + b, so two in a row map x to W2 (W1 x + b1) + b2, that is,
    to (W2 W1) x + (W2 b1 + b2): one Linear layer. Any other layer raises ``ValueError``.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    weight = bias = None
    for name, layer in model.named_children():
        if isinstance(layer, (nn.Flatten, nn.Identity)):
            continue
        if not isinstance(layer, nn.Linear):
            raise ValueError(
                f"model must hold only Linear, Flatten and Identity layers; {name} is "
                f"{type(layer).__name__}"
            )
        w = layer.weight.detach()
        b = layer.bias.detach() if layer.bias is not None else torch.zeros(len(w), dtype=w.dtype)
        weight, bias = (w, b) if weight is None else (w @ weight, w @ bias + b)
    if weight is None:
        raise ValueError("model must hold at least one Linear layer, got none")
    single = nn.Linear(weight.shape[1], weight.shape[0], dtype=weight.dtype)
    with torch.no_grad():
        single.weight.copy_(weight)
        single.bias.copy_(bias)
    return single


def _activation_name(name: str) -> str:
    activation(name)  # raises ValueError listing the valid names
    return name


def _generator(init: str, seed: int | None) -> torch.Generator | None:
    """Check ``init`` and ``seed``; a generator seeded with ``seed`` (None: the global one)."""
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}; got {init!r}")
    if seed is None:
        return None
    return torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))


def _initialised(model: nn.Sequential, init: str, generator) -> nn.Sequential:
    """Draw the weights of every Linear and Conv2d layer of ``model`` as ``init`` says."""
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            _init_layer(layer, init, generator)
    return model


def _init_layer(layer: nn.Linear | nn.Conv2d, init: str, generator) -> None:
    weight, bias = layer.weight, layer.bias
    fan_in = weight[0].numel()
    fan_out = len(weight) * weight[0, 0].numel()
    with torch.no_grad():
        if init == "default":  # PyTorch's reset_parameters, drawn from ``generator``
            bound = 1 / math.sqrt(fan_in)
            weight.uniform_(-bound, bound, generator=generator)
            bias.uniform_(-bound, bound, generator=generator)
            return
        variance = 2 / (fan_in + fan_out) if init == "glorot" else 2 / fan_in
        weight.normal_(0, math.sqrt(variance), generator=generator)
        bias.zero_()
