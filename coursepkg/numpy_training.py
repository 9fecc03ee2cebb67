"""Training the NumPy layers of :mod:`coursepkg.layers`: the loop that ``loss.backward()`` hides.

One epoch shuffles the examples with an explicit ``np.random.Generator``, cuts them into
minibatches and, for each one, runs four steps: the forward pass, the softmax cross-entropy
loss with its gradient, the backward pass through every layer, and the optimiser's update
(:mod:`coursepkg.optim`). :func:`fit` repeats epochs and records them in the same
:class:`coursepkg.training.History` that the PyTorch :func:`coursepkg.training.fit` returns, so
both kinds of run plot the same way.

A model is anything with ``forward``, ``backward``, ``params``/``grads`` and ``train``/``eval``,
such as :class:`coursepkg.layers.Sequential`; data are arrays ``x`` (N, ...) and integer labels
``y`` (N,). With the same ``seed`` and the same initial weights, two runs record identical
histories.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from tqdm import tqdm

from coursepkg._checks import as_int
from coursepkg.layers import softmax_cross_entropy
from coursepkg.training import History

__all__ = ["evaluate", "fit", "minibatches", "train_epoch"]


def minibatches(
    n: int, batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[np.ndarray]:
    """Index arrays that cover ``range(n)`` once, ``batch_size`` at a time (the last may be short).

    rng: shuffle the order with this Generator; None keeps 0, 1, ..., n - 1.
    """
    n, batch_size = as_int(n, "n"), as_int(batch_size, "batch_size")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a np.random.Generator or None, got {type(rng).__name__}")
    order = np.arange(n) if rng is None else rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def train_epoch(model, optimizer, x, y, batch_size: int = 32, rng=None, progress: bool = False):
    """One pass of gradient steps over ``(x, y)``; the mean loss and accuracy seen on the way.

    x (N, ...), y (N,) ints. rng: a Generator that shuffles the batches (None: in order).
    progress: a tqdm bar over the batches. Returns ``(loss, accuracy)``, means over examples.
    """
    x, y = _check_data(model, x, y, "x")
    model.train()
    loss_sum = correct = 0.0
    for index in tqdm(list(minibatches(len(x), batch_size, rng)), disable=not progress):
        logits = model.forward(x[index])  # 1. forward
        loss, grad_logits = softmax_cross_entropy(logits, y[index])  # 2. loss and dLoss/dlogits
        model.backward(grad_logits)  # 3. backward: every layer stores its grads
        optimizer.step()  # 4. update the parameters in place
        loss_sum += loss * len(index)
        correct += np.sum(logits.argmax(axis=1) == y[index])
    return loss_sum / len(x), float(correct / len(x))


def evaluate(model, x, y, batch_size: int = 256) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on ``(x, y)`` in evaluation mode.

    x (N, ...), y (N,) ints -> ``{"loss": float, "accuracy": float}``. The model's mode is
    restored afterwards.
    """
    x, y = _check_data(model, x, y, "x")
    was_training = model.training
    model.eval()
    try:
        loss_sum = correct = 0.0
        for index in minibatches(len(x), batch_size):
            logits = model.forward(x[index])
            loss_sum += softmax_cross_entropy(logits, y[index])[0] * len(index)
            correct += np.sum(logits.argmax(axis=1) == y[index])
    finally:
        model.train(was_training)
    return {"loss": loss_sum / len(x), "accuracy": float(correct / len(x))}


def fit(
    model,
    optimizer,
    train,
    val=None,
    epochs: int = 10,
    batch_size: int = 32,
    seed=0,
    progress: bool = True,
) -> History:
    """Train a NumPy ``model`` with ``optimizer`` for ``epochs`` epochs; return the History.

    train, val: ``(x, y)`` pairs, x (N, ...) and y (N,) ints; val may be None. optimizer: built
    on the model's parameters (:class:`coursepkg.optim.SGD` or ``Adam``). seed: an int or a
    Generator that shuffles every epoch's batches. progress: a tqdm bar per epoch.
    """
    epochs = as_int(epochs, "epochs")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(_seed(seed))
    x, y = _check_data(model, *_pair(train, "train"), "train")
    if val is not None:
        val = _check_data(model, *_pair(val, "val"), "val")
    history = History()
    for _ in range(epochs):
        history.lr.append(float(optimizer.lr))
        loss, accuracy = train_epoch(model, optimizer, x, y, batch_size, rng, progress)
        history.train_loss.append(float(loss))
        history.train_accuracy.append(accuracy)
        if val is not None:
            scores = evaluate(model, *val)
            history.val_loss.append(float(scores["loss"]))
            history.val_accuracy.append(scores["accuracy"])
    return history


def _seed(seed) -> int:
    return as_int(seed, "seed", minimum=0)


def _pair(data, name: str) -> tuple:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be an (x, y) pair of arrays, got {type(data).__name__}")
    return tuple(data)


def _check_data(model, x, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    """x as a float array and y as integer labels of one non-zero length; a usable model."""
    for method in ("forward", "backward", "train", "eval"):
        if not hasattr(model, method):
            raise TypeError(f"model must have a {method} method, got {type(model).__name__}")
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must hold floating-point inputs, got dtype {x.dtype}")
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"{name} labels must be integers (N,), got {y.dtype} {y.shape}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"{name} must pair x and y of one non-zero length, got {len(x)}, {len(y)}")
    return x, y
