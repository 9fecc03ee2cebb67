"""Look inside a network: gradient norms per layer, dead units, and the time a function takes.

Every function leaves the model as it found it: no ``.grad`` written, no hook left behind, the
training / evaluation mode restored. :func:`plot_curves` draws what they measure, one line per
network, against the layer or the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from coursepkg._checks import as_int

__all__ = [
    "capture_outputs",
    "dead_unit_fraction",
    "gradient_norms",
    "plot_curves",
    "time_function",
]

#: The layers :func:`dead_unit_fraction` inspects by default: the ReLU family.
RELU_LIKE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU)


def gradient_norms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable | None = None
) -> dict[str, float]:
    """The Euclidean norm of the loss gradient with respect to each layer's weight.

    x (N, ...), y (N,) -> ``{layer name: norm}`` for every submodule with its own ``weight``
    parameter, in the order of ``model.named_modules()`` (input side first). loss_fn:
    ``loss_fn(model(x), y)``, default cross-entropy. One forward and one backward pass in the
    model's current mode; the gradients are returned by ``torch.autograd.grad``, so no ``.grad``
    attribute is written.
    """
    _check_model(model)
    x, y = _check_tensor(x, "x"), _check_tensor(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    layers = {
        name: module.weight
        for name, module in model.named_modules()
        if isinstance(getattr(module, "weight", None), nn.Parameter)
    }
    if not layers:
        raise ValueError("model must have at least one layer with a weight parameter")
    loss = loss_fn(model(x), y)
    grads = torch.autograd.grad(loss, list(layers.values()))
    return {name: float(g.norm()) for name, g in zip(layers, grads, strict=True)}


@contextmanager
def capture_outputs(model: nn.Module, layer_types=RELU_LIKE) -> Iterator[dict[str, list]]:
    """``with capture_outputs(model) as seen:`` records the outputs of chosen layers.

    Inside the block, every forward pass appends each matching layer's output (detached) to
    ``seen[layer name]``. layer_types: a module class or a tuple of them. The hooks are
    removed when the block ends, even on an error.
    """
    _check_model(model)
    layer_types = _check_types(layer_types)
    seen: dict[str, list] = {}
    handles = []
    try:
        for name, module in model.named_modules():
            if isinstance(module, layer_types):
                seen[name] = []
                handles.append(module.register_forward_hook(_recorder(seen[name])))
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def dead_unit_fraction(
    model: nn.Module, x: torch.Tensor, layer_types=RELU_LIKE, batch_size: int = 512
) -> dict[str, float]:
    """For each activation layer, the fraction of its units that are never positive on ``x``.

    x (N, ...): the data, run through the model in evaluation mode without gradients, in
    batches of ``batch_size``. A unit is one feature of a Linear layer's output (N, D) or one
    channel of a convolution's output (N, C, H, W); it is *dead* when its output is <= 0 for
    every example (and every position). A ReLU unit that is dead on the training data outputs
    0 and its weights receive gradient 0 on every example, so training leaves them as they are;
    a leaky ReLU unit that is never positive still passes a small gradient. Returns
    ``{layer name: fraction in [0, 1]}`` for the layers of ``layer_types``.
    """
    x = _check_tensor(x, "x")
    batch_size = as_int(batch_size, "batch_size")
    was_training = model.training if isinstance(model, nn.Module) else None
    with capture_outputs(model, layer_types) as seen:
        if not seen:
            raise ValueError(f"model has no layer of layer_types {layer_types!r}")
        model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(x), batch_size):
                    model(x[start : start + batch_size])
        finally:
            model.train(was_training)
    fractions = {}
    for name, outputs in seen.items():
        # (N, C, ...) -> the largest value each unit (axis 1) reaches on any example / position
        peak = torch.stack([out.transpose(0, 1).flatten(1).amax(1) for out in outputs]).amax(0)
        fractions[name] = float((peak <= 0).float().mean())
    return fractions


def time_function(f: Callable, *args, repeats: int = 5, number: int = 1) -> float:
    """The shortest of ``repeats`` wall-clock timings of ``f(*args)``, in seconds per call.

    Each timing runs ``f`` ``number`` times in a row and divides by ``number``. The minimum is
    the least disturbed by other programs, so ratios of minima compare functions fairly.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    repeats, number = as_int(repeats, "repeats"), as_int(number, "number")
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            f(*args)
        best = min(best, (time.perf_counter() - start) / number)
    return best


def plot_curves(
    curves: dict[str, Sequence[float]],
    xlabel: str,
    ylabel: str,
    log: bool = False,
    title: str | None = None,
) -> Figure:
    """One line per entry of ``curves``, ``{label: values}``, against 1, 2, ... len(values).

    Suits any quantity measured per layer (gradient norms, dead fractions) or per epoch
    (a ``History``'s accuracies). log: a logarithmic y axis, for values spanning several
    orders of magnitude.
    """
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict {label: sequence of values}")
    lines = {label: np.asarray(values, dtype=float) for label, values in curves.items()}
    for label, values in lines.items():
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f"curves[{label!r}] must be a non-empty 1-D sequence of numbers")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for label, values in lines.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers and epochs are counted
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _recorder(store: list) -> Callable:
    def hook(module, inputs, output):
        store.append(output.detach())

    return hook


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _check_tensor(value, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.ndim == 0 or len(value) == 0:
        raise ValueError(f"{name} must hold at least one example, got shape {tuple(value.shape)}")
    return value


def _check_types(layer_types) -> tuple[type, ...]:
    types = layer_types if isinstance(layer_types, tuple) else (layer_types,)
    if not types or not all(isinstance(t, type) and issubclass(t, nn.Module) for t in types):
        raise TypeError(
            f"layer_types must be an nn.Module subclass or a tuple of them, got {layer_types!r}"
        )
    return types
