"""Tests for coursepkg.gradcheck: central differences and the per-layer report.

Every layer of coursepkg.layers is checked with check_layer in tests/test_layers.py; here the
checker itself is tested on functions and toy layers whose gradients are known.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coursepkg.gradcheck import check_layer, numerical_gradient, relative_error


@settings(max_examples=20, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 4)), elements=st.floats(-2, 2))
)
def test_numerical_gradient_of_a_cubic_polynomial(x):
    grad = numerical_gradient(lambda v: np.sum(v**3 - 2 * v), x)
    np.testing.assert_allclose(grad, 3 * x**2 - 2, atol=1e-8)


def test_numerical_gradient_leaves_x_as_it_was_bit_for_bit():
    x = np.random.default_rng(0).standard_normal((3, 4))
    before = x.copy()
    numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])

    def fails_on_second_entry(v):
        if v[1] != 2.0:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(fails_on_second_entry, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_numerical_gradient_sees_x_through_other_references():
    weight = np.array([[1.0, 2.0], [3.0, 4.0]])
    data = np.array([1.0, -1.0])
    holder = {"w": weight}
    grad = numerical_gradient(lambda _: float(np.sum(holder["w"] @ data)), weight)
    np.testing.assert_allclose(grad, [[1, -1], [1, -1]], atol=1e-9)


def test_numerical_gradient_rejects_a_function_that_is_not_callable():
    with pytest.raises(TypeError, match="f must be callable"):
        numerical_gradient(3.0, np.zeros(2))


@pytest.mark.parametrize("bad", [[1.0, 2.0], np.zeros(2, np.float32), np.arange(3)])
def test_numerical_gradient_rejects_x_that_is_not_a_float64_array(bad):
    with pytest.raises(TypeError, match="x must be a float64 ndarray"):
        numerical_gradient(np.sum, bad)


@pytest.mark.parametrize("bad", [0, -1e-6, float("nan"), True, "1e-6"])
def test_numerical_gradient_rejects_a_bad_eps(bad):
    with pytest.raises(ValueError, match="eps"):
        numerical_gradient(np.sum, np.zeros(2), eps=bad)


def test_relative_error_is_relative_to_the_largest_entry():
    assert relative_error([1.0, 1e-9], [1.0, 2e-9]) == pytest.approx(1e-9)
    assert relative_error([2.0, 0.0], [1.0, 0.0]) == pytest.approx(0.5)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


def test_relative_error_rejects_shapes_that_differ():
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error(np.zeros(2), np.zeros(3))


class Scale:
    """out = weight * x elementwise, x (N, D), weight (D,): a toy layer, right or wrong."""

    forward_calls = 0  # on the class: deep copies of the layer share it

    def __init__(self, wrong=False):
        self.weight = np.array([0.5, -1.5, 2.0])
        self.grad_weight = np.zeros(3)
        self.wrong = wrong

    def forward(self, x):
        self.x = x
        Scale.forward_calls += 1
        return x * self.weight

    def backward(self, grad_out):
        self.grad_weight = (grad_out * self.x).sum(axis=0)
        if self.wrong:  # a typical slip: the gradient not summed over the batch, but its mean
            self.grad_weight = self.grad_weight / len(self.x)
        return grad_out * self.weight

    def params(self):
        return {"weight": self.weight}

    def grads(self):
        return {"weight": self.grad_weight}


def test_check_layer_passes_a_right_layer_and_leaves_it_alone():
    layer = Scale()
    x = np.random.default_rng(1).standard_normal((4, 3))
    report = check_layer(layer, x)
    assert set(report) == {"input", "weight"}
    assert max(report.values()) < 1e-8
    # The checks ran on copies: the layer never saw x.
    assert not hasattr(layer, "x")
    np.testing.assert_array_equal(layer.grad_weight, 0)


def test_check_layer_flags_a_wrong_parameter_gradient():
    report = check_layer(Scale(wrong=True), np.ones((4, 3)))
    assert report["input"] < 1e-8
    assert report["weight"] > 0.5


def test_check_layer_evaluates_twice_per_entry_plus_two():
    before = Scale.forward_calls
    check_layer(Scale(), np.ones((2, 3)))
    # 1 (output shape) + 1 (analytic) + 2 per entry of x (6) and of weight (3)
    assert Scale.forward_calls - before == 2 + 2 * (6 + 3)


def test_check_layer_depends_on_the_seed():
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert check_layer(Scale(), x, seed=1) != check_layer(Scale(), x, seed=2)


def test_check_layer_rejects_an_object_that_is_not_a_layer():
    with pytest.raises(TypeError, match="layer"):
        check_layer(lambda x: x, np.zeros((1, 3)))


def test_check_layer_rejects_x_that_is_not_float64():
    with pytest.raises(TypeError, match="x"):
        check_layer(Scale(), np.zeros((1, 3), np.float32))


def test_check_layer_rejects_float32_parameters():
    layer = Scale()
    layer.weight = layer.weight.astype(np.float32)
    with pytest.raises(TypeError, match="parameter 'weight' must be float64"):
        check_layer(layer, np.zeros((1, 3)))


def test_check_layer_rejects_a_negative_seed():
    with pytest.raises(ValueError, match="seed"):
        check_layer(Scale(), np.zeros((1, 3)), seed=-1)
