"""Tests for coursepkg.layers: each layer against its torch.nn twin, gradient checks, modes."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursepkg import layers as L
from coursepkg.gradcheck import check_layer

TOL = 1e-10


def _normal(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def _away_from_zero(shape, seed=1):
    """Normal values pushed at least 0.1 away from 0, where ReLU has its kink."""
    x = _normal(shape, seed)
    return np.sign(x) * (0.1 + np.abs(x))


def _assert_matches_torch(layer, x, seed=2):
    """Forward, input gradient and parameter gradients of ``layer`` and of ``to_torch(layer)``."""
    module = L.to_torch(layer)
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    out_t = module(x_t)
    grad_out = _normal(tuple(out_t.shape), seed)
    out_t.backward(torch.from_numpy(grad_out))
    out = layer.forward(x)
    grad_x = layer.backward(grad_out)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(grad_x, x_t.grad.numpy(), rtol=0, atol=TOL)
    theirs = dict(module.named_parameters())
    assert set(layer.grads()) == set(theirs)
    for name, grad in layer.grads().items():
        np.testing.assert_allclose(grad, theirs[name].grad.numpy(), rtol=0, atol=TOL)
    for name, buffer in layer.buffers().items():
        np.testing.assert_allclose(buffer, module.state_dict()[name].numpy(), rtol=0, atol=TOL)


# --------------------------------------------------------------------------------------------
# Agreement with torch.nn over random shapes
# --------------------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    k=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    bias=st.booleans(),
    seed=st.integers(0, 100),
)
def test_conv2d_matches_torch(c_in, c_out, k, stride, padding, dilation, bias, seed):
    layer = L.Conv2d(c_in, c_out, k, stride, padding, dilation, bias=bias, seed=seed)
    _assert_matches_torch(layer, _normal((2, c_in, 7, 6), seed))


@settings(max_examples=15, deadline=None)
@given(
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 1),
    dilation=st.integers(1, 2),
    ceil_mode=st.booleans(),
)
def test_max_pool_matches_torch(k, stride, padding, dilation, ceil_mode):
    padding = min(padding, k // 2)
    layer = L.MaxPool2d(k, stride, padding, dilation, ceil_mode)
    _assert_matches_torch(layer, _normal((2, 2, 7, 8)))


@settings(max_examples=15, deadline=None)
@given(
    k=st.integers(1, 3),
    stride=st.one_of(st.none(), st.integers(1, 3)),
    padding=st.integers(0, 1),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
)
def test_avg_pool_matches_torch(k, stride, padding, ceil_mode, count_include_pad):
    padding = min(padding, k // 2)
    layer = L.AvgPool2d(k, stride, padding, ceil_mode, count_include_pad)
    _assert_matches_torch(layer, _normal((2, 2, 7, 8)))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 4), d_in=st.integers(1, 6), d_out=st.integers(1, 5), bias=st.booleans())
def test_linear_matches_torch(n, d_in, d_out, bias):
    _assert_matches_torch(L.Linear(d_in, d_out, bias=bias, seed=n), _normal((n, d_in)))


@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(1, 3),
    c=st.integers(1, 3),
    hw=st.integers(2, 4),
    training=st.booleans(),
    affine=st.booleans(),
)
def test_batchnorm_matches_torch_in_both_modes(n, c, hw, training, affine):
    layer = L.BatchNorm2d(c, affine=affine).train(training)
    rng = np.random.default_rng(c)
    layer.running_mean[:] = rng.standard_normal(c)
    layer.running_var[:] = rng.uniform(0.5, 2, c)
    if affine:
        layer.weight[:] = rng.standard_normal(c)
        layer.bias[:] = rng.standard_normal(c)
    _assert_matches_torch(layer, 3 * _normal((n, c, hw, hw)) + 1)


@pytest.mark.parametrize(
    "layer", [L.ReLU(), L.Flatten(), L.GlobalAvgPool2d(), L.Dropout(0.5).eval()], ids=repr
)
def test_parameter_free_layers_match_torch(layer):
    _assert_matches_torch(layer, _normal((2, 3, 4, 5)))


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_statistics_follow_torch_over_several_batches(momentum):
    ours = L.BatchNorm2d(3, momentum=momentum)
    theirs = L.to_torch(ours)
    for seed in range(4):
        x = 2 * _normal((4, 3, 3, 3), seed) + seed
        ours.forward(x)
        theirs(torch.from_numpy(x))
    for name, value in ours.buffers().items():
        np.testing.assert_allclose(value, theirs.state_dict()[name].numpy(), atol=TOL)
    assert int(ours.num_batches_tracked) == 4


def test_batchnorm_uses_the_unbiased_variance_for_running_var_only():
    layer = L.BatchNorm2d(1, momentum=1.0, eps=1e-12)
    x = np.array([1.0, 2.0, 3.0, 6.0]).reshape(4, 1, 1, 1)
    out = layer.forward(x)
    assert out.std() == pytest.approx(1.0)  # normalised with the biased variance
    assert layer.running_var[0] == pytest.approx(np.var(x, ddof=1))


def test_batchnorm_in_eval_mode_leaves_the_statistics_alone():
    layer = L.BatchNorm2d(2).eval()
    x = _normal((3, 2, 2, 2))
    np.testing.assert_allclose(layer.forward(x), x / math.sqrt(1 + 1e-5))
    np.testing.assert_array_equal(layer.running_mean, 0)
    assert int(layer.num_batches_tracked) == 0


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), k=st.integers(2, 6), seed=st.integers(0, 1000))
def test_softmax_cross_entropy_matches_torch(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = 3 * rng.standard_normal((n, k))
    labels = rng.integers(0, k, n)
    loss, grad = L.softmax_cross_entropy(logits, labels)
    logits_t = torch.from_numpy(logits).requires_grad_()
    loss_t = F.cross_entropy(logits_t, torch.from_numpy(labels))
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), abs=TOL)
    np.testing.assert_allclose(grad, logits_t.grad.numpy(), atol=TOL)


# --------------------------------------------------------------------------------------------
# Gradient checks: every layer below 1e-7 in float64
# --------------------------------------------------------------------------------------------

GRADCHECK_CASES = [
    (lambda: L.Conv2d(2, 3, 3, padding=1, seed=0), (2, 2, 5, 5)),
    (lambda: L.Conv2d(2, 2, (2, 3), stride=2, dilation=(1, 2), seed=0), (2, 2, 6, 7)),
    (lambda: L.Conv2d(1, 2, 3, padding="same", bias=False, seed=0), (1, 1, 4, 4)),
    (lambda: L.MaxPool2d(2), (2, 2, 4, 4)),
    (lambda: L.MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
    (lambda: L.AvgPool2d(2, stride=1), (2, 2, 4, 4)),
    (lambda: L.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 6, 6)),
    (lambda: L.GlobalAvgPool2d(), (2, 3, 3, 3)),
    (lambda: L.ReLU(), (2, 3, 3, 3)),
    (lambda: L.Flatten(), (2, 3, 2, 2)),
    (lambda: L.Linear(6, 4, seed=0), (3, 6)),
    (lambda: L.Dropout(0.4, seed=3), (2, 3, 3, 3)),
    (lambda: L.Dropout(0.4).eval(), (2, 6)),
    (lambda: L.BatchNorm2d(3), (2, 3, 3, 3)),
    (lambda: L.BatchNorm2d(3, affine=False), (2, 3, 2, 2)),
    (lambda: L.BatchNorm2d(3).eval(), (2, 3, 2, 2)),
    (
        lambda: L.Sequential(
            L.Conv2d(1, 2, 3, padding=1, bias=False, seed=0),
            L.BatchNorm2d(2),
            L.ReLU(),
            L.MaxPool2d(2),
            L.Flatten(),
            L.Dropout(0.25, seed=0),
            L.Linear(8, 3, seed=1),
        ),
        (2, 1, 4, 4),
    ),
]


@pytest.mark.parametrize(("make", "shape"), GRADCHECK_CASES)
def test_every_layer_passes_the_gradient_check(make, shape):
    layer = make()
    report = check_layer(layer, _away_from_zero(shape))
    assert set(report) == {"input"} | set(layer.params())
    assert max(report.values()) < 1e-7, report


# --------------------------------------------------------------------------------------------
# Parameters, initialisation and dtypes
# --------------------------------------------------------------------------------------------


def test_init_is_uniform_within_torch_bounds_and_reproducible():
    layer = L.Conv2d(4, 8, 3, seed=5)
    bound = 1 / math.sqrt(4 * 9)
    assert np.abs(layer.weight).max() <= bound
    assert np.abs(layer.bias).max() <= bound
    # A uniform distribution on [-b, b] has standard deviation b / sqrt(3).
    assert layer.weight.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    np.testing.assert_array_equal(layer.weight, L.Conv2d(4, 8, 3, seed=5).weight)
    assert not np.array_equal(layer.weight, L.Conv2d(4, 8, 3, seed=6).weight)


def test_a_shared_generator_gives_each_layer_its_own_draws():
    rng = np.random.default_rng(0)
    first, second = L.Linear(3, 3, seed=rng), L.Linear(3, 3, seed=rng)
    assert not np.array_equal(first.weight, second.weight)


def test_float32_layers_compute_in_float32():
    conv = L.Conv2d(1, 2, 3, dtype=np.float32)
    linear = L.Linear(4, 2, dtype=np.float32)
    bn = L.BatchNorm2d(2, dtype=np.float32)
    x = _normal((1, 1, 4, 4)).astype(np.float32)
    out = bn.forward(conv.forward(x))
    assert out.dtype == np.float32 and conv.weight.dtype == np.float32
    assert linear.forward(np.ones((2, 4), np.float32)).dtype == np.float32
    assert L.to_torch(linear).weight.dtype == torch.float32


def test_params_and_grads_share_keys_and_shapes():
    layer = L.Conv2d(2, 3, 3, seed=0)
    layer.forward(_normal((1, 2, 4, 4)))
    layer.backward(_normal((1, 3, 2, 2)))
    params, grads = layer.params(), layer.grads()
    assert list(params) == list(grads) == ["weight", "bias"]
    assert all(params[n].shape == grads[n].shape for n in params)
    assert params["weight"] is layer.weight


def test_layers_without_bias_have_no_bias_parameter():
    assert list(L.Conv2d(1, 1, 1, bias=False).params()) == ["weight"]
    assert list(L.Linear(1, 1, bias=False).params()) == ["weight"]
    assert L.BatchNorm2d(2, affine=False).params() == {}


def test_layers_are_callable():
    np.testing.assert_array_equal(L.ReLU()(np.array([-1.0, 2.0])), [0.0, 2.0])


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------


def test_dropout_zeroes_about_p_and_scales_the_rest():
    layer = L.Dropout(0.3, seed=0)
    out = layer.forward(np.ones((100, 100)))
    assert np.mean(out == 0) == pytest.approx(0.3, abs=0.02)
    np.testing.assert_allclose(out[out != 0], 1 / 0.7)
    np.testing.assert_array_equal(layer.backward(np.ones((100, 100))), out)


def test_dropout_masks_repeat_for_a_seed_and_change_between_calls():
    first, again = L.Dropout(0.5, seed=4), L.Dropout(0.5, seed=4)
    x = np.ones((4, 4))
    a = first.forward(x)
    np.testing.assert_array_equal(a, again.forward(x))
    assert not np.array_equal(a, first.forward(x))


@pytest.mark.parametrize(("p", "expected"), [(0.0, 1.0), (1.0, 0.0)])
def test_dropout_extremes(p, expected):
    layer = L.Dropout(p)
    np.testing.assert_array_equal(layer.forward(np.ones(5)), expected)
    np.testing.assert_array_equal(layer.backward(np.ones(5)), expected)


def test_dropout_is_the_identity_in_eval_mode():
    layer = L.Dropout(0.9).eval()
    x = _normal((3, 3))
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


# --------------------------------------------------------------------------------------------
# Sequential
# --------------------------------------------------------------------------------------------


def _small_net():
    rng = np.random.default_rng(0)
    return L.Sequential(
        L.Conv2d(1, 2, 3, seed=rng),
        L.BatchNorm2d(2),
        L.ReLU(),
        L.Flatten(),
        L.Dropout(0.5, seed=rng),
        L.Linear(8, 3, seed=rng),
    )


def test_sequential_names_parameters_like_torch():
    net = _small_net()
    assert list(net.params()) == ["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"]
    assert list(net.grads()) == list(net.params())
    assert list(net.buffers()) == [
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]
    assert set(net.state_dict()) == set(L.to_torch(net).state_dict())


def test_sequential_mode_reaches_every_layer():
    net = L.Sequential(_small_net(), L.ReLU())
    assert net.eval() is net
    assert not any(layer.training for layer in [net, *net, *net[0]])
    net.train()
    assert all(layer.training for layer in [net, *net, *net[0]])


def test_sequential_container_protocol_and_repr():
    net = _small_net()
    assert len(net) == 6 and isinstance(net[2], L.ReLU)
    assert [type(layer).__name__ for layer in net][:2] == ["Conv2d", "BatchNorm2d"]
    text = repr(net)
    assert "(0): Conv2d(1, 2, kernel_size=(3, 3)" in text and "(4): Dropout(p=0.5)" in text
    assert "BatchNorm2d(2, eps=1e-05, momentum=0.1)" in text
    assert "MaxPool2d(kernel_size=(2, 2)" in repr(L.MaxPool2d(2))
    assert "count_include_pad=True" in repr(L.AvgPool2d(2))


def test_sequential_backward_chains_gradients():
    net = _small_net().eval()
    _assert_matches_torch(net, _normal((2, 1, 4, 4)))


# --------------------------------------------------------------------------------------------
# Twins in PyTorch
# --------------------------------------------------------------------------------------------


def test_to_torch_copies_weights_and_mode():
    net = _small_net().eval()
    module = L.to_torch(net)
    assert isinstance(module, torch.nn.Sequential) and not module.training
    assert module[0].weight.dtype == torch.float64
    np.testing.assert_array_equal(module[5].weight.detach().numpy(), net[5].weight)
    module[5].weight.data += 1  # a copy, not a view
    assert not np.array_equal(module[5].weight.detach().numpy(), net[5].weight)


def test_to_torch_of_a_parameter_free_model_is_float64():
    assert isinstance(L.to_torch(L.Sequential(L.ReLU(), L.Flatten())), torch.nn.Sequential)


def test_load_torch_state_copies_into_the_existing_arrays():
    net = _small_net()
    weight = net[0].weight
    torch.manual_seed(0)
    module = L.to_torch(_small_net())
    for param in module.parameters():
        torch.nn.init.normal_(param)
    module[1].running_var.fill_(3.0)
    module[1].num_batches_tracked.fill_(7)
    assert L.load_torch_state(net, module) is net
    assert net[0].weight is weight
    np.testing.assert_array_equal(weight, module[0].weight.detach().numpy())
    np.testing.assert_array_equal(net[1].running_var, 3.0)
    assert int(net[1].num_batches_tracked) == 7


def test_load_torch_state_rejects_other_architectures():
    with pytest.raises(ValueError, match="module must have"):
        L.load_torch_state(L.Linear(2, 2), torch.nn.Conv2d(2, 2, 1, bias=False))
    with pytest.raises(ValueError, match="shape"):
        L.load_torch_state(L.Linear(2, 2), torch.nn.Linear(3, 2))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: L.to_torch(torch.nn.ReLU()), "layer"),
        (lambda: L.load_torch_state(torch.nn.ReLU(), torch.nn.ReLU()), "layer"),
        (lambda: L.load_torch_state(L.ReLU(), L.ReLU()), "module"),
    ],
)
def test_twin_helpers_reject_the_wrong_kind_of_model(call, name):
    with pytest.raises(TypeError, match=name):
        call()


# --------------------------------------------------------------------------------------------
# Bad arguments and misuse
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: L.Conv2d(0, 1, 3), "in_channels"),
        (lambda: L.Conv2d(1, 1.5, 3), "out_channels"),
        (lambda: L.Conv2d(1, 1, (3, 0)), "kernel_size"),
        (lambda: L.Conv2d(1, 1, 3, stride=0), "stride"),
        (lambda: L.Conv2d(1, 1, 3, padding=-1), "padding"),
        (lambda: L.Conv2d(1, 1, 3, padding="full"), "padding"),
        (lambda: L.Conv2d(1, 1, 3, dilation=(1, 0)), "dilation"),
        (lambda: L.Conv2d(1, 1, 3, seed=-1), "seed"),
        (lambda: L.Linear(0, 2), "in_features"),
        (lambda: L.Linear(2, -1), "out_features"),
        (lambda: L.MaxPool2d(0), "kernel_size"),
        (lambda: L.MaxPool2d(2, stride=0), "stride"),
        (lambda: L.MaxPool2d(2, padding=-1), "padding"),
        (lambda: L.MaxPool2d(2, dilation=0), "dilation"),
        (lambda: L.AvgPool2d((2, 2, 2)), "kernel_size"),
        (lambda: L.AvgPool2d(2, stride=-2), "stride"),
        (lambda: L.AvgPool2d(2, padding=(0, -1)), "padding"),
        (lambda: L.Dropout(-0.1), "p"),
        (lambda: L.Dropout(1.5), "p"),
        (lambda: L.Dropout("half"), "p"),
        (lambda: L.BatchNorm2d(0), "num_features"),
        (lambda: L.BatchNorm2d(2, eps=0), "eps"),
        (lambda: L.BatchNorm2d(2, momentum=1.5), "momentum"),
        (lambda: L.BatchNorm2d(2, momentum=-0.1), "momentum"),
    ],
)
def test_constructors_reject_bad_values(make, name):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: L.Conv2d(1, 1, 3, bias=1), "bias"),
        (lambda: L.Linear(1, 1, bias="yes"), "bias"),
        (lambda: L.Linear(1, 1, dtype=np.int32), "dtype"),
        (lambda: L.BatchNorm2d(2, affine=None), "affine"),
        (lambda: L.BatchNorm2d(2, dtype=np.float16), "dtype"),
        (lambda: L.MaxPool2d(2, ceil_mode=0), "ceil_mode"),
        (lambda: L.AvgPool2d(2, count_include_pad="no"), "count_include_pad"),
        (lambda: L.Sequential(L.ReLU(), torch.nn.ReLU()), r"layers\[1\]"),
        (lambda: L.ReLU().train(1), "mode"),
    ],
)
def test_constructors_reject_bad_types(make, name):
    with pytest.raises(TypeError, match=name):
        make()


@pytest.mark.parametrize(
    ("layer", "x", "name"),
    [
        (L.Linear(3, 2), np.ones((2, 4)), "x must have 3 features"),
        (L.Linear(3, 2), np.ones(3), "x must have 2 dimensions"),
        (L.BatchNorm2d(2), np.ones((2, 3, 2, 2)), "x must have 2 channels"),
        (L.BatchNorm2d(2), np.ones((2, 2, 2)), "x must have 4 dimensions"),
        (L.BatchNorm2d(2), np.ones((1, 2, 1, 1)), "more than 1 value per channel"),
        (L.Flatten(), np.float64(3.0), "batch axis"),
        (L.Conv2d(2, 1, 3), np.ones((1, 3, 4, 4)), "channels|C_in|weight"),
    ],
)
def test_forward_rejects_inputs_of_the_wrong_shape(layer, x, name):
    with pytest.raises(ValueError, match=name):
        layer.forward(x)


@pytest.mark.parametrize(
    ("layer", "x", "grad"),
    [
        (L.Linear(3, 2), np.ones((2, 3)), np.ones((2, 3))),
        (L.BatchNorm2d(1), np.arange(4.0).reshape(4, 1, 1, 1), np.ones((4, 1, 1, 2))),
        (L.Flatten(), np.ones((2, 3, 2)), np.ones((2, 5))),
    ],
)
def test_backward_rejects_a_gradient_of_the_wrong_shape(layer, x, grad):
    layer.forward(x)
    with pytest.raises(ValueError, match="grad_out"):
        layer.backward(grad)


@pytest.mark.parametrize(
    "layer", [L.Conv2d(1, 1, 1), L.Linear(1, 1), L.ReLU(), L.MaxPool2d(2), L.Dropout(0.1)]
)
def test_backward_before_forward_says_so(layer):
    with pytest.raises(RuntimeError, match="forward call first"):
        layer.backward(np.ones((1, 1, 2, 2)))


def test_the_base_layer_has_no_maths():
    layer = L.Layer()
    for call in (lambda: layer.forward(1), lambda: layer.backward(1), layer._torch_twin):
        with pytest.raises(NotImplementedError):
            call()
    assert repr(layer) == "Layer()" and layer.params() == layer.grads() == {}


@pytest.mark.parametrize(
    ("logits", "labels", "name"),
    [
        (np.zeros((2, 3)), np.array([0, 3]), "labels"),
        (np.zeros((2, 3)), np.array([0, -1]), "labels"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "labels"),
        (np.zeros((2, 3)), np.array([0]), "labels"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "labels"),
        (np.zeros(3), np.array([0]), "logits"),
    ],
)
def test_softmax_cross_entropy_rejects_bad_input(logits, labels, name):
    with pytest.raises(ValueError, match=name):
        L.softmax_cross_entropy(logits, labels)
