"""Tests for coursepkg.optim: each step equals torch.optim's from the same state."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursepkg.optim import SGD, Adam, Optimizer

SHAPES = {"weight": (3, 2), "bias": (3,)}


def _params_and_grads(seed, steps):
    """Random float64 parameters and a list of ``steps`` gradient dicts."""
    rng = np.random.default_rng(seed)
    params = {name: rng.standard_normal(shape) for name, shape in SHAPES.items()}
    grads = [{n: rng.standard_normal(s) for n, s in SHAPES.items()} for _ in range(steps)]
    return params, grads


def _run_both(ours_cls, torch_cls, kwargs, seed=0, steps=4):
    """Parameters after ``steps`` steps of our optimiser and of torch's, same gradients."""
    params, grads = _params_and_grads(seed, steps)
    tensors = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in params.items()}
    ours = ours_cls(params, **kwargs)
    theirs = torch_cls(list(tensors.values()), **kwargs)
    for grad in grads:
        ours.step(grad)
        for name, tensor in tensors.items():
            tensor.grad = torch.from_numpy(grad[name].copy())
        theirs.step()
    return params, {n: t.detach().numpy() for n, t in tensors.items()}


def _assert_same(ours, theirs, tol=1e-12):
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=0, atol=tol)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.3},
        {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 1e-2},
        {"lr": 0.1, "weight_decay": 0.5},
    ],
)
def test_sgd_matches_torch_over_several_steps(kwargs):
    _assert_same(*_run_both(SGD, torch.optim.SGD, kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 1e-3},
        {"lr": 0.1, "betas": (0.5, 0.9), "eps": 1e-6},
        {"lr": 0.01, "weight_decay": 0.1},
    ],
)
def test_adam_matches_torch_over_several_steps(kwargs):
    _assert_same(*_run_both(Adam, torch.optim.Adam, kwargs))


@settings(max_examples=15, deadline=None)
@given(
    lr=st.floats(1e-4, 1.0),
    momentum=st.floats(0.0, 0.99),
    dampening=st.floats(0.0, 0.9),
    weight_decay=st.floats(0.0, 0.1),
    nesterov=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sgd_matches_torch_over_random_hyperparameters(
    lr, momentum, dampening, weight_decay, nesterov, seed
):
    if nesterov:
        momentum, dampening = max(momentum, 0.1), 0.0
    kwargs = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
    _assert_same(*_run_both(SGD, torch.optim.SGD, kwargs | {"nesterov": nesterov}, seed))


@settings(max_examples=15, deadline=None)
@given(
    lr=st.floats(1e-4, 0.5),
    beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999),
    eps=st.floats(1e-10, 1e-4),
    weight_decay=st.floats(0.0, 0.1),
    seed=st.integers(0, 2**16),
)
def test_adam_matches_torch_over_random_hyperparameters(lr, beta1, beta2, eps, weight_decay, seed):
    kwargs = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    _assert_same(*_run_both(Adam, torch.optim.Adam, kwargs, seed))


class _TwoParams:
    """The smallest object an optimiser accepts as a layer."""

    def __init__(self):
        self.w = np.array([1.0, -2.0])
        self.dw = np.array([0.5, 0.5])

    def params(self):
        return {"w": self.w}

    def grads(self):
        return {"w": self.dw}


def test_step_reads_the_layer_gradients_and_updates_its_arrays_in_place():
    layer = _TwoParams()
    weight = layer.w
    SGD(layer, lr=0.1).step()
    assert layer.w is weight
    np.testing.assert_allclose(layer.w, [0.95, -2.05])


def test_momentum_buffer_lives_in_state():
    layer = _TwoParams()
    opt = SGD(layer, lr=0.1, momentum=0.9)
    opt.step()
    opt.step()
    np.testing.assert_allclose(opt.state["w"]["momentum_buffer"], [0.95, 0.95])


def test_base_class_has_no_update_rule():
    with pytest.raises(NotImplementedError):
        Optimizer({"w": np.zeros(2)}, lr=0.1, weight_decay=0.0).step({"w": np.zeros(2)})


@pytest.mark.parametrize("bad", [[np.zeros(2)], None, 3])
def test_rejects_params_that_are_neither_layer_nor_dict(bad):
    with pytest.raises(TypeError, match="params"):
        SGD(bad)


def test_rejects_empty_params():
    with pytest.raises(ValueError, match="params"):
        Adam({})


@pytest.mark.parametrize("bad", [[1.0, 2.0], np.arange(3)])
def test_rejects_params_that_are_not_float_arrays(bad):
    with pytest.raises(TypeError, match=r"params\['w'\]"):
        SGD({"w": bad})


@pytest.mark.parametrize("name", ["lr", "momentum", "dampening", "weight_decay"])
@pytest.mark.parametrize("bad", [-0.1, float("nan"), True, "0.1"])
def test_sgd_rejects_bad_hyperparameters(name, bad):
    with pytest.raises(ValueError, match=name):
        SGD({"w": np.zeros(2)}, **{name: bad})


def test_sgd_rejects_non_bool_nesterov():
    with pytest.raises(TypeError, match="nesterov"):
        SGD({"w": np.zeros(2)}, momentum=0.9, nesterov=1)


@pytest.mark.parametrize("kwargs", [{"momentum": 0.0}, {"momentum": 0.9, "dampening": 0.1}])
def test_sgd_rejects_nesterov_without_plain_momentum(kwargs):
    with pytest.raises(ValueError, match="nesterov"):
        SGD({"w": np.zeros(2)}, nesterov=True, **kwargs)


@pytest.mark.parametrize("bad", [(0.9,), (1.0, 0.9), (0.9, -0.1), 0.9, ("a", 0.9)])
def test_adam_rejects_bad_betas(bad):
    with pytest.raises(ValueError, match="betas"):
        Adam({"w": np.zeros(2)}, betas=bad)


@pytest.mark.parametrize("name", ["lr", "eps", "weight_decay"])
def test_adam_rejects_negative_hyperparameters(name):
    with pytest.raises(ValueError, match=name):
        Adam({"w": np.zeros(2)}, **{name: -1.0})


def test_step_needs_grads_when_built_from_a_dict():
    with pytest.raises(ValueError, match="grads"):
        SGD({"w": np.zeros(2)}).step()


def test_step_rejects_missing_gradient():
    with pytest.raises(ValueError, match="'w'"):
        SGD({"w": np.zeros(2)}).step({"v": np.zeros(2)})


def test_step_rejects_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"grads\['w'\]"):
        Adam({"w": np.zeros(2)}).step({"w": np.zeros(3)})
