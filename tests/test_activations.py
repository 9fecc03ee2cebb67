"""coursepkg.activations against torch.nn.functional and autograd."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from coursepkg import activations as act

# (name, ours, our backward, torch op, keyword arguments, backward takes the output)
ELEMENTWISE = [
    ("relu", act.relu, act.relu_backward, F.relu, {}, False),
    ("leaky_relu", act.leaky_relu, act.leaky_relu_backward, F.leaky_relu, {}, False),
    (
        "leaky_relu_0.2",
        act.leaky_relu,
        act.leaky_relu_backward,
        F.leaky_relu,
        {"negative_slope": 0.2},
        False,
    ),
    ("elu", act.elu, act.elu_backward, F.elu, {}, False),
    ("elu_1.5", act.elu, act.elu_backward, F.elu, {"alpha": 1.5}, False),
    ("sigmoid", act.sigmoid, act.sigmoid_backward, torch.sigmoid, {}, True),
    ("tanh", act.tanh, act.tanh_backward, torch.tanh, {}, True),
    ("softplus", act.softplus, act.softplus_backward, F.softplus, {}, False),
    (
        "softplus_beta",
        act.softplus,
        act.softplus_backward,
        F.softplus,
        {"beta": 2.0, "threshold": 5.0},
        False,
    ),
    ("gelu", act.gelu, act.gelu_backward, F.gelu, {}, False),
    ("gelu_tanh", act.gelu, act.gelu_backward, F.gelu, {"approximate": "tanh"}, False),
]


def arrays(min_dims: int = 0):
    """Float32 or float64 arrays of up to 3 dims, with values in [-40, 40] (0 included)."""
    return st.sampled_from([np.float32, np.float64]).flatmap(
        lambda dtype: hnp.arrays(
            dtype,
            hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=5),
            elements=st.floats(-40, 40, width=np.dtype(dtype).itemsize * 8),
        )
    )


def assert_close(ours: np.ndarray, theirs: torch.Tensor) -> None:
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    if ours.dtype == np.float64:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def check_against_torch(forward, backward, torch_op, x: np.ndarray, takes_out: bool, **kwargs):
    x_t = torch.from_numpy(x).requires_grad_(True)
    theirs = torch_op(x_t, **kwargs)
    ours = forward(x, **kwargs)
    assert_close(ours, theirs)
    grad = np.random.default_rng(0).standard_normal(x.shape).astype(x.dtype)
    (dx,) = torch.autograd.grad(theirs, x_t, torch.from_numpy(grad))
    assert_close(backward(grad, ours if takes_out else x, **kwargs), dx)


@pytest.mark.parametrize(
    ("forward", "backward", "torch_op", "kwargs", "takes_out"),
    [case[1:] for case in ELEMENTWISE],
    ids=[case[0] for case in ELEMENTWISE],
)
@settings(max_examples=50, deadline=None)
@given(x=arrays())
def test_elementwise_matches_torch(forward, backward, torch_op, kwargs, takes_out, x):
    check_against_torch(forward, backward, torch_op, x, takes_out, **kwargs)


@pytest.mark.parametrize(
    ("forward", "backward", "torch_op", "kwargs", "takes_out"),
    [case[1:] for case in ELEMENTWISE],
    ids=[case[0] for case in ELEMENTWISE],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_derivative_at_zero_is_torchs(forward, backward, torch_op, kwargs, takes_out, dtype):
    """relu has slope 0 at 0, leaky_relu has negative_slope, elu has alpha: as in torch."""
    x = np.array([-0.0, 0.0, -1e-30, 1e-30], dtype=dtype)
    check_against_torch(forward, backward, torch_op, x, takes_out, **kwargs)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=80, deadline=None)
@given(x=arrays(min_dims=1), data=st.data())
def test_softmax_matches_torch_on_any_axis(name, x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    forward, backward = getattr(act, name), getattr(act, f"{name}_backward")
    check_against_torch(
        lambda v, axis: forward(v, axis=axis),
        lambda g, out, axis: backward(g, out, axis=axis),
        lambda t, axis: getattr(F, name)(t, dim=axis),
        x,
        takes_out=True,
        axis=axis,
    )


def test_softmax_rows_sum_to_one():
    x = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_allclose(act.softmax(x, axis=0).sum(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(act.log_softmax(x)).sum(axis=1), 1.0, rtol=1e-12)


EXTREME = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite_without_warnings(dtype):
    x = EXTREME.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(act.softmax(np.array([1000.0, 0.0], dtype)), [1.0, 0.0])
        np.testing.assert_array_equal(act.log_softmax(np.array([1000.0, 0.0], dtype)), [0, -1000])
        assert act.sigmoid(np.array(-1000.0, dtype)) == 0.0
        assert act.sigmoid(np.array(1000.0, dtype)) == 1.0
        big = np.array([-1000.0, 1000.0], dtype)
        np.testing.assert_array_equal(act.softplus(big, threshold=1e4), [0.0, 1000.0])
        for _, forward, backward, _, kwargs, takes_out in ELEMENTWISE:
            out = forward(x, **kwargs)
            grad = backward(np.ones_like(x), out if takes_out else x, **kwargs)
            assert np.isfinite(out).all() and np.isfinite(grad).all()
        for name in ["softmax", "log_softmax"]:
            out = getattr(act, name)(x)
            grad = getattr(act, f"{name}_backward")(np.ones_like(x), out)
            assert np.isfinite(out).all() and np.isfinite(grad).all()


def test_integer_input_becomes_float64_and_float32_stays():
    assert act.relu([-1, 2]).dtype == np.float64
    assert act.gelu(np.ones(3, np.float32)).dtype == np.float32
    grad = act.gelu_backward(np.ones(3, np.float32), np.ones(3, np.float32), approximate="tanh")
    assert grad.dtype == np.float32
    assert act.relu_backward(np.ones(2), np.ones(2, np.float32)).dtype == np.float64


X = np.ones((2, 3))

BAD_ARGUMENTS = [
    # (function, args, kwargs, error, name in the message)
    (act.relu, (X.astype(complex),), {}, TypeError, "x"),
    (act.sigmoid_backward, (X, X.astype(complex)), {}, TypeError, "out"),
    (act.relu_backward, (np.ones(3), X), {}, ValueError, "grad_out"),
    (act.tanh_backward, (X, X.T), {}, ValueError, "grad_out"),
    (act.leaky_relu, (X,), {"negative_slope": "0.1"}, TypeError, "negative_slope"),
    (act.leaky_relu_backward, (X, X), {"negative_slope": None}, TypeError, "negative_slope"),
    (act.elu, (X,), {"alpha": np.nan}, TypeError, "alpha"),
    (act.elu_backward, (X, X), {"alpha": True}, TypeError, "alpha"),
    (act.softplus, (X,), {"beta": 0}, ValueError, "beta"),
    (act.softplus_backward, (X, X), {"threshold": "big"}, TypeError, "threshold"),
    (act.gelu, (X,), {"approximate": "erf"}, ValueError, "approximate"),
    (act.gelu_backward, (X, X), {"approximate": None}, ValueError, "approximate"),
    (act.softmax, (X,), {"axis": 2}, ValueError, "axis"),
    (act.log_softmax, (X,), {"axis": -3}, ValueError, "axis"),
    (act.softmax_backward, (X, X), {"axis": 1.0}, TypeError, "axis"),
    (act.log_softmax_backward, (X, X), {"axis": None}, TypeError, "axis"),
]


@pytest.mark.parametrize(
    ("function", "args", "kwargs", "error", "name"),
    BAD_ARGUMENTS,
    ids=[f"{f.__name__}-{name}-{i}" for i, (f, _, _, _, name) in enumerate(BAD_ARGUMENTS)],
)
def test_bad_arguments_raise_naming_the_argument(function, args, kwargs, error, name):
    with pytest.raises(error, match=name):
        function(*args, **kwargs)
