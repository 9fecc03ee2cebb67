"""Judge a submission's answers against the reference solution's, outside the submission.

A *judge* takes the student's answer and the reference's answer (both NumPy arrays) and returns
``(passed, reason)``. Judges are self-contained (NumPy only, imported inside; scikit-learn too for
the digits' labels) because the release step copies their source into the otter tests: the batch
grader and otter's checks then judge with the very same code. A judge may call the functions in
``HELPERS`` (self-contained too): the release copies each one it names along with it.

``read_answer`` is the only way answers come back from a sandbox: it refuses links, special files,
oversized files, pickles and non-numeric data, so reading an answer cannot run code or hang.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np


def same_values(got, expected):
    """Pass when ``got`` has ``expected``'s shape and values (relative tolerance 1e-6)."""
    import numpy as np

    got, expected = np.asarray(got), np.asarray(expected)
    if got.dtype.kind not in "biuf":
        return False, f"expected numbers, got {got.dtype} data"
    if got.shape != expected.shape:
        return False, f"expected shape {expected.shape}, got {got.shape}"
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        error = np.max(np.abs(got.astype(float) - expected), initial=0.0)
        return False, f"wrong values (largest error {error:.3g})"
    return True, "ok"


def vertical_edges(got, expected):
    """Pass when the 2-D kernel ``got`` responds to vertical edges but not to horizontal ones.

    The kernel is slid (cross-correlation) over three 24 x 24 test images: a vertical step
    edge, the same edge turned horizontal, and a flat image. A vertical-edge detector gives a
    strong response to the first, at most a tenth of it to the second, and none to the flat
    image. ``expected`` (the reference kernel) is not needed: many kernels are right.
    """
    import numpy as np

    kernel = np.asarray(got)
    if kernel.dtype.kind not in "biuf" or kernel.ndim != 2 or not 1 <= min(kernel.shape) <= 7:
        return False, f"expected a small 2-D kernel, got {kernel.dtype} shape {kernel.shape}"
    kernel = kernel.astype(float)
    if not np.all(np.isfinite(kernel)):
        return False, "the kernel holds inf or nan"
    step = np.zeros((24, 24))
    step[:, 12:] = 1.0

    def strongest(image):
        windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
        return np.abs(np.einsum("ijkl,kl->ij", windows, kernel)).max()

    vertical, horizontal, flat = strongest(step), strongest(step.T), strongest(np.ones((24, 24)))
    if vertical < 1e-6:
        return False, "no response to a vertical edge"
    if horizontal > 0.1 * vertical:
        return False, f"responds to horizontal edges too ({horizontal:.3g} vs {vertical:.3g})"
    if flat > 1e-6 * vertical:
        return False, "responds to a flat image (the weights should sum to 0)"
    return True, "ok"


def label_problem(got, shape):
    """Why ``got`` is not one integer label per example for ``shape`` labels; None if it is."""
    import numpy as np

    got = np.asarray(got)
    if got.dtype.kind not in "biuf":
        return f"expected numbers, got {got.dtype} data"
    if got.shape != shape:
        return f"expected shape {shape} (one label per image), got {got.shape}"
    if not np.all(np.isfinite(got)) or np.any(got != np.round(got)):
        return "expected integer labels, e.g. from np.argmax"
    return None


def mostly_same_labels(got, expected):
    """Pass when ``got`` holds one integer label per example, 90 % or more equal to ``expected``'s.

    For classifiers, which need not agree with the reference solution on every example: a public
    check that a trained model answers in the right form and fits digits it was trained on.
    """
    import numpy as np

    got, expected = np.asarray(got), np.asarray(expected)
    problem = label_problem(got, expected.shape)
    if problem:
        return False, problem
    same, needed = int(np.sum(got == expected)), -(-9 * expected.size // 10)  # 90 %, rounded up
    if same < needed:
        return False, f"{same} of {expected.size} labels agree with the reference's, needs {needed}"
    return True, "ok"


def held_out_accuracy(got, expected):
    """Pass when ``got`` labels the held-out digits with an accuracy of 90 % or more.

    ``got`` answers ``digits("held_out", count)``: the first ``len(expected)`` of the images of
    ``sklearn.datasets.load_digits()`` whose index is 3 modulo 4. Their true labels are looked
    up here, in the judge's process, so they never reach the submission's. ``expected`` (the
    reference solution's labels) sets the count and shows what the reference reaches.
    """
    import numpy as np
    from sklearn.datasets import load_digits

    got, expected = np.asarray(got), np.asarray(expected)
    labels = load_digits().target[3::4][: len(expected)]
    problem = label_problem(got, labels.shape)
    if problem:
        return False, problem
    right, needed = int(np.sum(got == labels)), -(-9 * labels.size // 10)  # 90 %, rounded up
    if right < needed:
        reference = int(np.sum(expected == labels))
        return False, (
            f"{right} of {labels.size} held-out digits right ({right / labels.size:.1%}), needs "
            f"{needed} (90%); the reference solution gets {reference}"
        )
    return True, "ok"


HELPERS: dict[str, Callable] = {"label_problem": label_problem}
JUDGES: dict[str, Callable] = {
    "same_values": same_values,
    "vertical_edges": vertical_edges,
    "mostly_same_labels": mostly_same_labels,
    "held_out_accuracy": held_out_accuracy,
}


class AnswerError(ValueError):
    """An answer file that cannot be read safely; the message is shown in the grade report."""


def read_capped(path: str | Path, limit: int) -> bytes:
    """Read a regular file of at most ``limit`` bytes without following a link at ``path``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise AnswerError(f"cannot open {Path(path).name}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise AnswerError(f"{Path(path).name} is not a regular file")
        if info.st_size > limit:
            raise AnswerError(f"{Path(path).name} is larger than {limit} bytes")
        return handle.read(limit + 1)[:limit]


def read_answer(path: str | Path, limit: int = 16 * 2**20) -> np.ndarray:
    """Load one ``.npy`` answer written in the sandbox: numeric data only, never a pickle."""
    data = read_capped(path, limit)
    try:
        answer = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise AnswerError(f"unreadable answer ({exc})") from exc
    if not isinstance(answer, np.ndarray) or answer.dtype.kind not in "biuf":
        raise AnswerError("the answer is not an array of numbers")
    return answer


def judge(name: str, got: np.ndarray, expected: np.ndarray) -> tuple[bool, str]:
    """Run the judge called ``name``; any exception it raises counts as a failure."""
    try:
        passed, reason = JUDGES[name](got, expected)
    except Exception as exc:  # a judge must never take the batch down
        return False, f"could not judge the answer ({type(exc).__name__}: {exc})"
    return bool(passed), str(reason)
