"""Classification metrics: accuracy and the confusion matrix, with a figure for the latter.

Labels may be NumPy arrays, lists or torch tensors (on any device). Predictions may be labels
``(N,)`` or scores ``(N, K)`` (logits or probabilities), in which case the predicted label is
the arg-max of each row.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from coursepkg._checks import as_int

__all__ = ["accuracy", "confusion_matrix", "plot_confusion_matrix"]


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions.

    y_true: labels (N,); y_pred: labels (N,) or scores (N, K) -> float in [0, 1].
    """
    y_true, y_pred = _labels(y_true, "y_true"), _predicted(y_pred)
    _same_length(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts of (true, predicted) label pairs, as ``sklearn.metrics.confusion_matrix``.

    y_true: labels (N,); y_pred: labels (N,) or scores (N, K); num_classes: K, by default one
    more than the largest label seen (or K of the scores) -> int64 (K, K), entry ``[i, j]``
    counting examples of class ``i`` predicted as ``j``.
    """
    scores = _to_numpy(y_pred)
    y_true, y_pred = _labels(y_true, "y_true"), _predicted(scores)
    _same_length(y_true, y_pred)
    seen = max(int(y_true.max(initial=-1)), int(y_pred.max(initial=-1))) + 1
    if scores.ndim == 2:
        seen = max(seen, scores.shape[1])
    if num_classes is None:
        num_classes = max(seen, 1)
    num_classes = as_int(num_classes, "num_classes")
    if seen > num_classes:
        raise ValueError(f"num_classes must exceed every label ({seen - 1}), got {num_classes}")
    pairs = y_true * num_classes + y_pred
    counts = np.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def plot_confusion_matrix(
    cm, class_names=None, normalize: bool = False, title: str | None = None
) -> Figure:
    """Draw a confusion matrix as a heat map with the count (or row fraction) in each cell.

    cm: (K, K) counts, rows = true class; class_names: K names (default "0", "1", ...);
    normalize: divide each row by its total, so the diagonal shows per-class recall.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.dtype.kind not in "iuf":
        raise ValueError(f"cm must be a square (K, K) array of counts, got shape {cm.shape}")
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(n) for n in class_names]
    if len(names) != k:
        raise ValueError(f"class_names must have {k} entries, got {len(names)}")
    values = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * k, 0.8 + 0.45 * k))
    image = ax.imshow(values, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = values.max() / 2 if values.size else 0
    for (i, j), value in np.ndenumerate(values):
        text = f"{value:.2f}" if normalize else f"{value:g}"
        color = "white" if value > threshold else "black"
        ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted", ylabel="true")
    ax.set_xticklabels(names, rotation=45 if max(map(len, names)) > 2 else 0)
    ax.set_yticklabels(names)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _to_numpy(values) -> np.ndarray:
    """Torch tensors (any device) and array-likes as a NumPy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _labels(values, name: str) -> np.ndarray:
    """Non-negative integer labels (N,) as int64."""
    labels = _to_numpy(values)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D labels (N,), got shape {labels.shape}")
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)  # float labels holding whole numbers are fine
    if labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
        raise ValueError(f"{name} must hold non-negative integer labels, got {labels.dtype}")
    return labels.astype(np.int64)


def _predicted(values) -> np.ndarray:
    """Predicted labels (N,) from labels (N,) or scores (N, K)."""
    scores = _to_numpy(values)
    if scores.ndim == 2:
        return scores.argmax(axis=1).astype(np.int64)
    return _labels(scores, "y_pred")


def _same_length(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}"
        )
