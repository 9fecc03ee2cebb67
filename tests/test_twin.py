"""The same small CNN in NumPy (coursepkg.layers) and in PyTorch, trained side by side.

With the weights copied across (layers.to_torch), the two must agree to 1e-10 in float64 on
real digits: logits, loss, every gradient, and the parameters after three optimiser steps.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursepkg import layers as L
from coursepkg import optim
from coursepkg.data import load_digits_split

TOL = 1e-10


def _lenet_like(seed: int = 0) -> L.Sequential:
    """Conv-ReLU-MaxPool-Conv-ReLU-Flatten-Linear for 8 x 8 digits: (N, 1, 8, 8) -> (N, 10)."""
    rng = np.random.default_rng(seed)
    return L.Sequential(
        L.Conv2d(1, 4, 3, padding=1, seed=rng),  # (N, 4, 8, 8)
        L.ReLU(),
        L.MaxPool2d(2),  # (N, 4, 4, 4)
        L.Conv2d(4, 8, 3, seed=rng),  # (N, 8, 2, 2)
        L.ReLU(),
        L.Flatten(),  # (N, 32)
        L.Linear(32, 10, seed=rng),
    )


def _with_batchnorm(seed: int = 0) -> L.Sequential:
    """Conv-BN-ReLU-AvgPool-Flatten-Linear: batch statistics in the forward and backward."""
    rng = np.random.default_rng(seed)
    return L.Sequential(
        L.Conv2d(1, 4, 3, padding=1, bias=False, seed=rng),
        L.BatchNorm2d(4),
        L.ReLU(),
        L.AvgPool2d(2),
        L.Flatten(),
        L.Linear(64, 10, seed=rng),
    )


ARCHITECTURES = {"lenet_like": _lenet_like, "with_batchnorm": _with_batchnorm}


@pytest.fixture(scope="module")
def batch():
    split = load_digits_split(seed=0)
    return split.x_train[:16], split.y_train[:16]


def _numpy_step(net, x, y):
    """Forward, loss, backward in NumPy: (logits, loss, grad_x)."""
    logits = net.forward(x)
    loss, grad_logits = L.softmax_cross_entropy(logits, y)
    return logits, loss, net.backward(grad_logits)


def _torch_step(module, x, y):
    """The same in PyTorch; gradients land in ``.grad`` (zeroed first)."""
    module.zero_grad()
    x_t = torch.from_numpy(x.copy()).requires_grad_()
    logits = module(x_t)
    loss = F.cross_entropy(logits, torch.from_numpy(y))
    loss.backward()
    return logits.detach().numpy(), loss.item(), x_t.grad.numpy()


def _max_differences(net, module) -> dict[str, float]:
    """Largest absolute difference of each parameter and of its gradient."""
    theirs = dict(module.named_parameters())
    diffs = {}
    for name, value in net.params().items():
        diffs[name] = np.abs(value - theirs[name].detach().numpy()).max()
        diffs[f"grad {name}"] = np.abs(net.grads()[name] - theirs[name].grad.numpy()).max()
    return diffs


@pytest.mark.parametrize("make", ARCHITECTURES.values(), ids=ARCHITECTURES)
def test_forward_loss_and_every_gradient_agree(make, batch):
    x, y = batch
    net = make()
    module = L.to_torch(net)
    logits, loss, grad_x = _numpy_step(net, x, y)
    logits_t, loss_t, grad_x_t = _torch_step(module, x, y)
    np.testing.assert_allclose(logits, logits_t, rtol=0, atol=TOL)
    assert abs(loss - loss_t) < TOL
    np.testing.assert_allclose(grad_x, grad_x_t, rtol=0, atol=TOL)
    diffs = _max_differences(net, module)
    assert len(diffs) == 2 * len(list(module.parameters()))
    assert max(diffs.values()) < TOL, diffs


OPTIMISERS = {
    "sgd_momentum_weight_decay": (
        optim.SGD,
        torch.optim.SGD,
        dict(lr=0.1, momentum=0.9, weight_decay=1e-3),
    ),
    "sgd_nesterov": (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (optim.Adam, torch.optim.Adam, dict(lr=1e-2, weight_decay=1e-3)),
}


@pytest.mark.parametrize("make", ARCHITECTURES.values(), ids=ARCHITECTURES)
@pytest.mark.parametrize("optimisers", OPTIMISERS.values(), ids=OPTIMISERS)
def test_three_optimiser_steps_agree(make, optimisers, batch):
    ours_cls, theirs_cls, kwargs = optimisers
    x, y = batch
    net = make()
    module = L.to_torch(net)
    ours, theirs = ours_cls(net, **kwargs), theirs_cls(module.parameters(), **kwargs)
    losses = []
    for _ in range(3):
        _, loss, _ = _numpy_step(net, x, y)
        _, loss_t, _ = _torch_step(module, x, y)
        ours.step()
        theirs.step()
        losses.append(loss)
        assert abs(loss - loss_t) < TOL
    assert losses[-1] < losses[0]  # the steps did something
    diffs = _max_differences(net, module)
    assert max(diffs.values()) < TOL, diffs
    for name, buffer in net.buffers().items():
        np.testing.assert_allclose(buffer, module.state_dict()[name].numpy(), rtol=0, atol=TOL)


def test_weights_trained_in_torch_load_back_into_numpy(batch):
    x, _ = batch
    module = L.to_torch(_lenet_like(seed=1))
    with torch.no_grad():
        for param in module.parameters():
            param.mul_(1.5)
    net = L.load_torch_state(_lenet_like(seed=2), module)
    np.testing.assert_allclose(
        net.forward(x), module(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=TOL
    )
