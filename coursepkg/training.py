"""Training PyTorch models: ``fit``, ``evaluate``, ``predict`` and the ``History`` they record.

Data can be given two ways, wherever a function takes ``train``, ``val`` or ``data``:

* a ``torch.utils.data.DataLoader`` (or any iterable of ``(x, y)`` batches), used as it is;
* a pair ``(x, y)`` of tensors or NumPy arrays holding the whole set, cut here into batches of
  ``batch_size`` (shuffled every epoch when training). Floating-point ``x`` is cast to the
  model's dtype (NumPy's float64 digits feed a float32 model) and integer ``y`` to int64.

Batches go to the model's device (a GPU when the model is on one; see :func:`default_device`).
With the same ``seed``, the same model initialisation and the same machine, two runs of
:func:`fit` record identical histories.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn
from tqdm import tqdm

from coursepkg._checks import as_int
from coursepkg.reproducibility import default_device, set_seed

__all__ = ["History", "default_device", "evaluate", "fit", "predict", "set_seed"]


@dataclass
class History:
    """Per-epoch records of :func:`fit`: mean loss and accuracy on train (and val), and lr.

    Lists have one entry per epoch; ``val_*`` stay empty without validation data. Accuracy is
    NaN when the outputs are not class scores (see :func:`evaluate`).
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.train_loss)

    def plot(self, title: str | None = None) -> Figure:
        """Loss (left) and accuracy (right) against the epoch, train and validation curves."""
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
        epochs = np.arange(1, len(self) + 1)
        for ax, name in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            for split in ("train", "val"):
                values = getattr(self, f"{split}_{name}")
                if values:
                    ax.plot(epochs[: len(values)], values, marker="o", ms=3, label=split)
            ax.set(xlabel="epoch", ylabel=name)
            ax.grid(alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig


def fit(
    model: nn.Module,
    train,
    val=None,
    epochs: int = 10,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: Callable | None = None,
    device=None,
    scheduler=None,
    progress: bool = True,
    batch_size: int = 64,
    seed: int | None = 0,
) -> History:
    """Train ``model`` for ``epochs`` epochs; return the :class:`History`.

    train, val: a DataLoader or an ``(x, y)`` pair (see the module docstring), x (N, ...).
    optimizer: default Adam with lr 1e-3. loss_fn: ``loss_fn(outputs, y)`` returning a batch
    mean; default cross-entropy. device: moves the model there; default: where it already is.
    scheduler: stepped after each epoch (``ReduceLROnPlateau`` gets the validation loss, or the
    training loss without validation data). progress: a tqdm bar per epoch.
    batch_size: batch size for ``(x, y)`` pairs. seed: passed to :func:`set_seed` first, so the
    shuffling and random layers such as dropout repeat from run to run; None leaves the
    generators alone.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    epochs = as_int(epochs, "epochs")
    batch_size = as_int(batch_size, "batch_size")
    if seed is not None:
        set_seed(seed)
    device = _place(model, device)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    if loss_fn is None:
        loss_fn = nn.functional.cross_entropy
    train_batches = _Batches(train, "train", model, batch_size, shuffle=True)
    val_batches = None if val is None else _Batches(val, "val", model, batch_size)
    history = History()
    for epoch in range(1, epochs + 1):
        history.lr.append(float(optimizer.param_groups[0]["lr"]))
        bar = tqdm(train_batches, desc=f"epoch {epoch}/{epochs}", disable=not progress)
        loss, acc = _train_epoch(model, bar, optimizer, loss_fn, device)
        history.train_loss.append(loss)
        history.train_accuracy.append(acc)
        if val_batches is not None:
            scores = _run(model, val_batches, loss_fn, device)
            history.val_loss.append(scores["loss"])
            history.val_accuracy.append(scores["accuracy"])
            bar.set_postfix(loss=f"{loss:.4f}", val_loss=f"{scores['loss']:.4f}")
        bar.close()
        _step_scheduler(scheduler, history)
    return history


def evaluate(model: nn.Module, data, loss_fn: Callable | None = None, batch_size: int = 256):
    """Mean loss and accuracy of ``model`` on ``data``, in eval mode and without gradients.

    data: a DataLoader or an ``(x, y)`` pair. loss_fn: default cross-entropy.
    Returns ``{"loss": float, "accuracy": float}``; accuracy compares ``outputs.argmax(1)``
    with ``y`` (class scores (N, K) against labels (N,), or per-pixel scores (N, K, H, W)
    against (N, H, W)), and is NaN for other outputs. The model's mode is restored after.
    """
    batches = _Batches(data, "data", model, as_int(batch_size, "batch_size"))
    loss_fn = nn.functional.cross_entropy if loss_fn is None else loss_fn
    return _run(model, batches, loss_fn, _device_of(model))


def predict(model: nn.Module, data, batch_size: int = 256) -> torch.Tensor:
    """The model's outputs for every example, on the CPU, in eval mode and without gradients.

    data: a DataLoader of ``(x, y)`` batches, an ``(x, y)`` pair, or inputs ``x`` (N, ...)
    alone -> outputs (N, ...), such as logits (N, K); ``.argmax(1)`` gives the labels.
    """
    if isinstance(data, (torch.Tensor, np.ndarray)):
        data = (data, np.zeros(len(data), dtype=np.int64))
    batches = _Batches(data, "data", model, as_int(batch_size, "batch_size"))
    device = _device_of(model)
    outputs = []
    with _evaluating(model):
        for x, _ in batches:
            outputs.append(model(x.to(device)).cpu())
    return torch.cat(outputs)


class _Batches:
    """Iterate ``(x, y)`` batches from a DataLoader or from a whole ``(x, y)`` pair.

    Pairs are converted once to tensors (x in the model's dtype) and re-shuffled every epoch
    from torch's global generator, which :func:`fit` seeds.
    """

    def __init__(self, data, name: str, model: nn.Module, batch_size: int, shuffle=False):
        self.batch_size, self.shuffle, self.loader = batch_size, shuffle, None
        if _is_pair(data):
            self.x, self.y = _as_tensors(data, name, _dtype_of(model))
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            self.loader = data
        else:
            raise TypeError(
                f"{name} must be a DataLoader or an (x, y) pair of arrays, got {type(data)}"
            )

    def __len__(self) -> int:
        if self.loader is not None:
            return len(self.loader)
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.loader is not None:
            yield from self.loader
            return
        n = len(self.x)
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.x[index], self.y[index]


def _train_epoch(model, batches, optimizer, loss_fn, device) -> tuple[float, float]:
    """One pass of gradient steps; the mean loss and accuracy seen along the way."""
    model.train()
    totals = _Totals()
    for x, y in batches:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        outputs = model(x)
        loss = loss_fn(outputs, y)
        loss.backward()
        optimizer.step()
        totals.add(loss, outputs, y)
        batches.set_postfix(loss=f"{totals.loss:.4f}")
    return totals.loss, totals.accuracy


def _run(model, batches, loss_fn, device) -> dict[str, float]:
    """Mean loss and accuracy over ``batches`` in eval mode, without gradients."""
    totals = _Totals()
    with _evaluating(model):
        for x, y in batches:
            x, y = x.to(device), y.to(device)
            outputs = model(x)
            totals.add(loss_fn(outputs, y), outputs, y)
    return {"loss": totals.loss, "accuracy": totals.accuracy}


class _Totals:
    """Running sums so that means weigh every example, not every batch, equally."""

    def __init__(self):
        self.count = self.loss_sum = self.correct = self.scored = 0.0

    def add(self, loss: torch.Tensor, outputs: torch.Tensor, y: torch.Tensor) -> None:
        n = len(y)
        self.count += n
        self.loss_sum += float(loss.detach()) * n
        if _are_class_scores(outputs, y):
            self.correct += float((outputs.argmax(1) == y).sum())
            self.scored += y.numel()

    @property
    def loss(self) -> float:
        return self.loss_sum / self.count if self.count else math.nan

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else math.nan


class _evaluating:
    """``with _evaluating(model):`` eval mode and no gradients, then the previous mode."""

    def __init__(self, model: nn.Module):
        self.model, self.no_grad = model, torch.no_grad()

    def __enter__(self):
        self.was_training = self.model.training
        self.model.eval()
        self.no_grad.__enter__()

    def __exit__(self, *exc):
        self.no_grad.__exit__(*exc)
        self.model.train(self.was_training)


def _are_class_scores(outputs: torch.Tensor, y: torch.Tensor) -> bool:
    """Scores (N, K, ...) for integer labels (N, ...)."""
    return (
        outputs.ndim == y.ndim + 1
        and not torch.is_floating_point(y)
        and outputs.shape[:1] + outputs.shape[2:] == y.shape
    )


def _step_scheduler(scheduler, history: History) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step((history.val_loss or history.train_loss)[-1])
    else:
        scheduler.step()


def _place(model: nn.Module, device) -> torch.device:
    """Move the model to ``device`` when given; return the device it is on."""
    if device is not None:
        model.to(torch.device(device))
    return _device_of(model)


def _device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without any)."""
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _dtype_of(model: nn.Module) -> torch.dtype:
    param = next(model.parameters(), None)
    return param.dtype if param is not None else torch.get_default_dtype()


def _is_pair(data) -> bool:
    return (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(part, (torch.Tensor, np.ndarray)) for part in data)
    )


def _as_tensors(data, name: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """An ``(x, y)`` pair as tensors: floating x in ``dtype``, integer y as int64."""
    x, y = (torch.as_tensor(part) for part in data)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name} must pair x and y of one non-zero length, got {len(x)}, {len(y)}")
    if torch.is_floating_point(x):
        x = x.to(dtype)
    if not torch.is_floating_point(y):
        y = y.long()
    return x, y
