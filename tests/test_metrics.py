"""Tests for coursepkg.metrics: accuracy, confusion matrix (against scikit-learn) and its figure."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sklearn.metrics  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from coursepkg.metrics import accuracy, confusion_matrix, plot_confusion_matrix  # noqa: E402


def test_accuracy_counts_matching_labels():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75


def test_accuracy_takes_the_argmax_of_scores_and_accepts_tensors():
    scores = torch.tensor([[0.1, 0.9], [2.0, -1.0], [0.0, 3.0]])
    assert accuracy(torch.tensor([1, 0, 0]), scores) == pytest.approx(2 / 3)


def test_accuracy_accepts_whole_float_labels():
    assert accuracy(np.array([1.0, 0.0]), [1, 1]) == 0.5


@settings(max_examples=25, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=40),
)
def test_confusion_matrix_matches_sklearn(pairs):
    y_true, y_pred = np.array(pairs).T
    ours = confusion_matrix(y_true, y_pred, num_classes=6)
    theirs = sklearn.metrics.confusion_matrix(y_true, y_pred, labels=range(6))
    np.testing.assert_array_equal(ours, theirs)
    assert ours.sum() == len(pairs)
    assert np.trace(ours) / len(pairs) == pytest.approx(accuracy(y_true, y_pred))


def test_confusion_matrix_infers_the_number_of_classes():
    cm = confusion_matrix([0, 2], [0, 1])
    assert cm.shape == (3, 3) and cm.dtype == np.int64
    assert cm[2, 1] == 1 and cm[0, 0] == 1


def test_confusion_matrix_uses_the_width_of_scores():
    cm = confusion_matrix([0, 1], np.eye(4)[[0, 1]])
    assert cm.shape == (4, 4)


def test_confusion_matrix_of_nothing_is_one_by_one_zero():
    np.testing.assert_array_equal(confusion_matrix([], []), [[0]])


def test_confusion_matrix_rejects_too_few_classes():
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)


@pytest.mark.parametrize("bad", [0, 2.5, True])
def test_confusion_matrix_rejects_bad_num_classes(bad):
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix([0], [0], num_classes=bad)


@pytest.mark.parametrize("bad", [[-1, 0], [0.5, 1.0], ["a", "b"], [[0, 1]]])
def test_rejects_bad_true_labels(bad):
    with pytest.raises(ValueError, match="y_true"):
        accuracy(bad, [0, 1])


def test_rejects_bad_predicted_labels():
    with pytest.raises(ValueError, match="y_pred"):
        confusion_matrix([0, 1], [0, -1])


def test_rejects_lengths_that_differ():
    with pytest.raises(ValueError, match="same length"):
        accuracy([0, 1, 1], [0, 1])


@pytest.mark.parametrize("normalize", [False, True])
def test_plot_confusion_matrix_draws_every_cell(normalize):
    cm = confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    fig = plot_confusion_matrix(cm, ["cat", "dog", "bird"], normalize=normalize, title="pets")
    try:
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert len(ax.texts) == 9
        assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "bird"]
        assert ax.get_title() == "pets"
        expected = "0.50" if normalize else "1"
        assert ax.texts[4].get_text() == expected
    finally:
        plt.close(fig)


def test_plot_confusion_matrix_names_classes_by_number_by_default():
    fig = plot_confusion_matrix(np.eye(2, dtype=int))
    try:
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["0", "1"]
    finally:
        plt.close(fig)


@pytest.mark.parametrize("bad", [np.ones((2, 3)), np.ones(4), np.array([["a"]])])
def test_plot_confusion_matrix_rejects_non_square_cm(bad):
    with pytest.raises(ValueError, match="cm"):
        plot_confusion_matrix(bad)


def test_plot_confusion_matrix_rejects_wrong_number_of_names():
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_matrix(np.eye(2), ["a"])
