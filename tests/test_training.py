"""Tests for coursepkg.training: fit / evaluate / predict / History on tiny models."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from coursepkg import reproducibility, training  # noqa: E402
from coursepkg.training import History, evaluate, fit, predict  # noqa: E402


def _blobs(n=96, seed=0):
    """Two well-separated Gaussian blobs in 4-D as float64 NumPy arrays."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.standard_normal((n, 4)) + 4.0 * y[:, None]
    return x, y


def _model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, 2))


def test_reexports_the_reproducibility_helpers():
    assert training.set_seed is reproducibility.set_seed
    assert training.default_device is reproducibility.default_device


def test_fit_learns_separable_blobs_from_numpy_arrays():
    model = _model()
    history = fit(model, _blobs(), val=_blobs(seed=1), epochs=8, batch_size=16, progress=False)
    assert len(history) == 8 and len(history.val_loss) == 8
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_accuracy[-1] > 0.95
    assert history.lr == [1e-3] * 8


def test_two_runs_with_the_same_seed_record_identical_histories():
    def run():
        model = _model(dropout=0.3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return fit(model, _blobs(), _blobs(seed=1), epochs=3, optimizer=opt, seed=7, progress=0)

    first, second = run(), run()
    assert first == second
    other = fit(_model(dropout=0.3), _blobs(), epochs=3, seed=8, progress=False)
    assert other.train_loss != first.train_loss


def test_fit_accepts_dataloaders_and_a_device(capsys):
    x, y = (torch.as_tensor(a) for a in _blobs())
    loader = DataLoader(TensorDataset(x.float(), y), batch_size=32, shuffle=True)
    history = fit(_model(), loader, val=loader, epochs=2, device="cpu", seed=None)
    assert len(history.val_accuracy) == 2
    assert "epoch 2/2" in capsys.readouterr().err  # the progress bar


def test_fit_steps_the_scheduler_every_epoch():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = fit(model, _blobs(), epochs=3, optimizer=opt, scheduler=sched, progress=False)
    assert history.lr == pytest.approx([0.1, 0.05, 0.025])


def test_fit_gives_reduce_on_plateau_the_loss():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # Only the first epoch counts as progress (from inf), so the second halves the rate.
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, patience=0, factor=0.5, threshold=1e3, threshold_mode="abs"
    )
    history = fit(model, _blobs(), _blobs(1), epochs=3, optimizer=opt, scheduler=sched, progress=0)
    assert history.lr == pytest.approx([0.1, 0.1, 0.05])


def test_accuracy_is_nan_for_outputs_that_are_not_class_scores():
    x, _ = _blobs()
    target = x.sum(axis=1, keepdims=True)
    model = nn.Linear(4, 1).double()
    history = fit(model, (x, target), epochs=2, loss_fn=nn.functional.mse_loss, progress=False)
    assert math.isnan(history.train_accuracy[0])
    assert history.train_loss[1] < history.train_loss[0]


def test_evaluate_reports_loss_and_accuracy_and_keeps_the_mode():
    model = _model()
    fit(model, _blobs(), epochs=5, progress=False)
    model.train()
    scores = evaluate(model, _blobs(seed=2))
    assert set(scores) == {"loss", "accuracy"}
    assert scores["accuracy"] > 0.9
    assert model.training


def test_evaluate_scores_per_pixel_predictions():
    model = nn.Conv2d(1, 3, 1)
    x = np.zeros((4, 1, 5, 5))
    y = np.zeros((4, 5, 5), dtype=np.int64)
    with torch.no_grad():
        model.bias.copy_(torch.tensor([1.0, 0.0, 0.0]))
        model.weight.zero_()
    assert evaluate(model, (x, y))["accuracy"] == 1.0


def test_predict_returns_cpu_outputs_for_every_input_kind():
    model = _model()
    x, y = _blobs(n=10)
    loader = DataLoader(TensorDataset(torch.as_tensor(x).float(), torch.as_tensor(y)), 4)
    from_x = predict(model, x, batch_size=3)
    assert from_x.shape == (10, 2) and from_x.device.type == "cpu"
    torch.testing.assert_close(predict(model, (x, y)), from_x)
    torch.testing.assert_close(predict(model, loader), from_x)
    assert not from_x.requires_grad


def test_predict_works_with_a_model_without_parameters():
    out = predict(nn.Flatten(), torch.ones(2, 3, 4))
    assert out.shape == (2, 12) and out.dtype == torch.float32


def test_history_plot_draws_loss_and_accuracy():
    history = History([1.0, 0.5], [0.5, 0.8], [1.1, 0.7], [0.4, 0.7], [0.1, 0.1])
    fig = history.plot(title="run")
    try:
        assert isinstance(fig, Figure)
        loss_ax, acc_ax = fig.axes
        assert [line.get_label() for line in loss_ax.lines] == ["train", "val"]
        assert acc_ax.get_ylabel() == "accuracy"
    finally:
        plt.close(fig)


def test_history_plot_without_validation_has_one_curve():
    fig = History([1.0], [0.5]).plot()
    try:
        assert len(fig.axes[0].lines) == 1
    finally:
        plt.close(fig)


def test_fit_rejects_a_model_that_is_not_a_module():
    with pytest.raises(TypeError, match="model"):
        fit(lambda x: x, _blobs())


@pytest.mark.parametrize("name", ["epochs", "batch_size"])
@pytest.mark.parametrize("bad", [0, 1.5])
def test_fit_rejects_bad_counts(name, bad):
    with pytest.raises(ValueError, match=name):
        fit(_model(), _blobs(), progress=False, **{name: bad})


@pytest.mark.parametrize("bad", [3, "data", None])
def test_fit_rejects_train_data_of_an_unknown_kind(bad):
    with pytest.raises(TypeError, match="train"):
        fit(_model(), bad, progress=False)


def test_evaluate_rejects_pairs_of_different_lengths():
    with pytest.raises(ValueError, match="data"):
        evaluate(_model(), (np.zeros((3, 4)), np.zeros(2, dtype=int)))


def test_evaluate_rejects_empty_data():
    with pytest.raises(ValueError, match="data"):
        evaluate(_model(), (np.zeros((0, 4)), np.zeros(0, dtype=int)))


def test_predict_rejects_a_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        predict(_model(), np.zeros((2, 4)), batch_size=0)
