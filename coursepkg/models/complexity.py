"""What a network costs: parameters, multiply-accumulates (MACs) and receptive fields.

A convolution with ``C_in`` input maps, ``groups`` groups and a ``KH x KW`` kernel computes each
of its outputs with ``C_in / groups * KH * KW`` multiply-accumulates; a linear layer needs
``in_features`` per output. :func:`layer_summary` runs one forward pass with hooks on every layer
and counts them from the output shapes; papers that quote "FLOPs" or "multiply-adds" mean these
MACs (one multiplication and one addition each), without biases, normalisations, activations or
poolings. PyTorch's ``torch.utils.flop_counter.FlopCounterMode`` counts 2 FLOPs per MAC.

Build a model on the meta device (``with torch.device("meta"): model = vgg16()``) and the
pass computes shapes only: no memory for the weights, no arithmetic, well under a second
even for ResNet-50 at 224 x 224.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from coursepkg._checks import as_int

__all__ = [
    "LayerStats",
    "count_parameters",
    "format_summary",
    "layer_summary",
    "macs",
    "receptive_field",
]


class LayerStats(NamedTuple):
    """One row of :func:`layer_summary`: what one layer of a network holds and computes."""

    name: str  # as in model.named_modules(), e.g. "features.conv1" or "layer1.0.conv2"
    kind: str  # the module's class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]  # for one example: (C, H, W) or (features,)
    params: int  # parameters the layer itself holds
    macs: int  # multiply-accumulates for one example (Conv2d and Linear; 0 for the others)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model`` (those with ``requires_grad`` if asked).

    Buffers, such as batch normalisation's running statistics, are not parameters.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def layer_summary(model: nn.Module, input_size) -> list[LayerStats]:
    """One :class:`LayerStats` per layer with no sub-layers, in the order the forward calls them.

    input_size: the shape of one example, ``(C, H, W)``; the model runs once on a batch of one
    zero image, on the device of its parameters (the meta device computes shapes only), in
    evaluation mode and without gradients; its mode is restored afterwards. A layer called
    twice appears twice. Parameters of modules that are not leaves (rare) are not listed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    shape = _input_size(input_size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.get_default_dtype()
    rows: list[LayerStats] = []
    handles = []

    def record(name):
        def hook(module, inputs, output):
            own = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(
                LayerStats(
                    name, type(module).__name__, tuple(output.shape[1:]), own, _macs(module, output)
                )
            )

        return hook

    was_training = model.training
    try:
        for name, module in model.named_modules():
            if next(module.children(), None) is None:  # a leaf: a layer, not a container
                handles.append(module.register_forward_hook(record(name or type(module).__name__)))
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *shape), device=device, dtype=dtype))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return rows


def macs(model: nn.Module, input_size) -> int:
    """Multiply-accumulates of one forward pass on one example of shape ``input_size``."""
    return sum(row.macs for row in layer_summary(model, input_size))


def format_summary(rows: Sequence[LayerStats], kinds: Sequence[str] | None = None) -> str:
    """A text table of :func:`layer_summary` rows, with a total line.

    kinds: only list the rows of these layer kinds (e.g. ``["Conv2d", "Linear"]``); the total
    still counts every row.
    """
    shown = [row for row in rows if kinds is None or row.kind in kinds]
    name_width = max([len("layer"), *(len(row.name) for row in shown)])
    header = f"{'layer':<{name_width}}  {'kind':<17} {'output shape':<16}{'params':>13}{'MACs':>16}"
    lines = [header, "-" * len(header)]
    for row in shown:
        shape = " x ".join(str(n) for n in row.output_shape)
        lines.append(
            f"{row.name:<{name_width}}  {row.kind:<17} {shape:<16}{row.params:>13,}{row.macs:>16,}"
        )
    lines.append("-" * len(header))
    total_params = sum(row.params for row in rows)
    total_macs = sum(row.macs for row in rows)
    lines.append(f"{'total':<{name_width}}  {'':<17} {'':<16}{total_params:>13,}{total_macs:>16,}")
    return "\n".join(lines)


def receptive_field(kernel_sizes: Sequence[int], strides: Sequence[int] | None = None) -> int:
    """Side of the input window that one output of a stack of convolutions / poolings sees.

    kernel_sizes, strides: one entry per layer, input side first (strides default to 1).
    Each layer widens the window by ``(k - 1)`` times the product of the strides below it:
    two 3 x 3 convolutions see 5 x 5, three see 7 x 7.
    """
    if isinstance(kernel_sizes, (str, bytes)) or not isinstance(kernel_sizes, Sequence):
        raise TypeError(f"kernel_sizes must be a sequence of ints, got {kernel_sizes!r}")
    kernel_sizes = [as_int(k, "kernel_sizes") for k in kernel_sizes]
    if strides is None:
        strides = [1] * len(kernel_sizes)
    if isinstance(strides, (str, bytes)) or not isinstance(strides, Sequence):
        raise TypeError(f"strides must be a sequence of ints, got {strides!r}")
    strides = [as_int(s, "strides") for s in strides]
    if len(strides) != len(kernel_sizes):
        raise ValueError(
            f"strides must have one entry per kernel size, got {len(strides)} and "
            f"{len(kernel_sizes)}"
        )
    field, jump = 1, 1
    for k, s in zip(kernel_sizes, strides, strict=True):
        field += (k - 1) * jump
        jump *= s
    return field


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulates of one example through ``module``, given its output."""
    per_example = output[0].numel()
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_example * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return per_example * module.in_features
    return 0


def _input_size(input_size) -> tuple[int, ...]:
    if not isinstance(input_size, (tuple, list)) or not input_size:
        raise ValueError(f"input_size must be the shape of one example, got {input_size!r}")
    return tuple(as_int(n, "input_size") for n in input_size)
