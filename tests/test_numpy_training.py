"""The NumPy training loop: batches, one epoch, evaluation and fit, on real digits."""

import numpy as np
import pytest

from coursepkg import layers as L
from coursepkg import numpy_training as nt
from coursepkg import optim
from coursepkg.data import load_digits_split
from coursepkg.training import History


def _net(seed: int = 0) -> L.Sequential:
    """A tiny CNN for 8 x 8 digits: (N, 1, 8, 8) -> (N, 10), with dropout to test the modes."""
    rng = np.random.default_rng(seed)
    return L.Sequential(
        L.Conv2d(1, 4, 3, padding=1, seed=rng),
        L.ReLU(),
        L.MaxPool2d(2),
        L.Flatten(),
        L.Dropout(0.1, seed=rng),
        L.Linear(64, 10, seed=rng),
    )


@pytest.fixture(scope="module")
def digits():
    split = load_digits_split(seed=0)
    return split.x_train[:200], split.y_train[:200], split.x_val, split.y_val


# --- minibatches ----------------------------------------------------------------------------


def test_minibatches_in_order_cover_every_index_once():
    batches = list(nt.minibatches(10, 4))
    assert [len(b) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), np.arange(10))


def test_minibatches_shuffle_with_the_generator_and_repeat_with_its_seed():
    first = np.concatenate(list(nt.minibatches(50, 8, np.random.default_rng(3))))
    again = np.concatenate(list(nt.minibatches(50, 8, np.random.default_rng(3))))
    other = np.concatenate(list(nt.minibatches(50, 8, np.random.default_rng(4))))
    np.testing.assert_array_equal(np.sort(first), np.arange(50))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(50))


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_minibatches_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        list(nt.minibatches(10, bad))


def test_minibatches_rejects_a_seed_instead_of_a_generator():
    with pytest.raises(TypeError, match="rng"):
        list(nt.minibatches(10, 2, rng=0))


# --- train_epoch and evaluate ---------------------------------------------------------------


def test_train_epoch_is_the_four_step_loop_written_out(digits):
    x, y, _, _ = digits
    net, by_hand = _net(), _net()
    opt, opt_by_hand = optim.SGD(net, lr=0.1), optim.SGD(by_hand, lr=0.1)
    loss, acc = nt.train_epoch(net, opt, x, y, batch_size=64, rng=np.random.default_rng(1))
    losses, correct = [], 0
    for index in nt.minibatches(len(x), 64, np.random.default_rng(1)):
        logits = by_hand.forward(x[index])
        value, grad = L.softmax_cross_entropy(logits, y[index])
        by_hand.backward(grad)
        opt_by_hand.step()
        losses.append(value * len(index))
        correct += np.sum(logits.argmax(1) == y[index])
    assert loss == pytest.approx(sum(losses) / len(x), abs=1e-12)
    assert acc == pytest.approx(correct / len(x))
    for name, value in net.params().items():
        np.testing.assert_array_equal(value, by_hand.params()[name])


def test_train_epoch_can_show_a_progress_bar(digits, capsys):
    x, y, _, _ = digits
    net = _net()
    nt.train_epoch(net, optim.SGD(net, lr=0.1), x, y, batch_size=100, progress=True)
    assert "2/2" in capsys.readouterr().err


@pytest.mark.parametrize("mode", [True, False])
def test_evaluate_uses_eval_mode_and_restores_the_mode(digits, mode):
    x, y, _, _ = digits
    net = _net().train(mode)
    scores = nt.evaluate(net, x, y, batch_size=64)
    assert net.training is mode
    logits = net.eval().forward(x)
    expected_loss, _ = L.softmax_cross_entropy(logits, y)
    assert scores["loss"] == pytest.approx(expected_loss, abs=1e-12)
    assert scores["accuracy"] == np.mean(logits.argmax(1) == y)


# --- fit ------------------------------------------------------------------------------------


def test_fit_learns_and_records_every_epoch(digits):
    x, y, x_val, y_val = digits
    net = _net()
    history = nt.fit(
        net, optim.Adam(net, lr=1e-2), (x, y), (x_val, y_val), epochs=4, progress=False
    )
    assert isinstance(history, History) and len(history) == 4
    assert len(history.val_loss) == len(history.val_accuracy) == 4
    assert history.lr == [1e-2] * 4
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_accuracy[-1] > 0.5


def test_fit_repeats_with_the_same_seed_and_not_with_another(digits):
    x, y, _, _ = digits

    def run(seed):
        net = _net()
        return nt.fit(net, optim.SGD(net, lr=0.1), (x, y), epochs=2, seed=seed, progress=False)

    assert run(5) == run(5)
    assert run(5) != run(6)
    assert run(np.random.default_rng(5)) == run(5)
    assert run(5).val_loss == []


@pytest.mark.parametrize(
    "change, error, match",
    [
        (dict(train=[1, 2, 3]), TypeError, "train must be an"),
        (dict(train="xy"), TypeError, "train must be an"),
        (dict(val=(np.ones((3, 1, 8, 8)), np.zeros(2, int))), ValueError, "val must pair"),
        (dict(train=(np.ones((0, 1, 8, 8)), np.zeros(0, int))), ValueError, "non-zero"),
        (dict(train=(np.ones((2, 1, 8, 8), int), np.zeros(2, int))), TypeError, "floating"),
        (dict(train=(np.ones((2, 1, 8, 8)), np.zeros(2))), ValueError, "labels"),
        (dict(train=(np.ones((2, 1, 8, 8)), np.zeros((2, 1), int))), ValueError, "labels"),
        (dict(epochs=0), ValueError, "epochs"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(model=object()), TypeError, "model must have a forward"),
    ],
)
def test_fit_rejects_bad_arguments(digits, change, error, match):
    x, y, _, _ = digits
    net = _net()
    kwargs = dict(model=net, optimizer=optim.SGD(net, lr=0.1), train=(x, y), progress=False)
    with pytest.raises(error, match=match):
        nt.fit(**(kwargs | change))
