"""Layers for a CNN written in NumPy, each a forward pass and the backward pass that undoes it.

Every layer has

* ``forward(x) -> out``: computes the output and keeps what the backward pass needs;
* ``backward(grad_out) -> grad_x``: given dLoss/dout (out's shape), returns dLoss/dx (x's
  shape) and stores the gradient of each parameter beside it. Gradients are overwritten, not
  accumulated: one backward per forward;
* ``params()`` / ``grads()``: dicts ``{name: array}`` with the same keys (``"weight"``,
  ``"bias"``; ``"0.weight"``... inside :class:`Sequential`, the names PyTorch's ``state_dict``
  uses). The arrays are the layer's own, so an optimiser updating them in place updates the
  layer (see :mod:`coursepkg.optim`);
* ``train()`` / ``eval()``: the mode, which changes what :class:`Dropout` and
  :class:`BatchNorm2d` do.

The maths of convolution, pooling and activations lives in :mod:`coursepkg.conv`,
:mod:`coursepkg.pooling` and :mod:`coursepkg.activations`; the layers only call it and keep
the cache. Parameters start as PyTorch's do (see :func:`_uniform_init`), drawn from an explicit
``seed``: an int, or a ``np.random.Generator`` shared by the layers of a model so that each
draws different numbers. Parameters are float64 unless ``dtype=np.float32``.

:func:`to_torch` builds the equivalent ``torch.nn`` model with the same weights and
:func:`load_torch_state` copies a torch model's weights into ours, so both can be compared.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from coursepkg import activations, conv, pooling
from coursepkg._checks import as_float_array, as_int, as_pair, as_real

__all__ = [
    "AvgPool2d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GlobalAvgPool2d",
    "Layer",
    "Linear",
    "MaxPool2d",
    "ReLU",
    "Sequential",
    "load_torch_state",
    "softmax_cross_entropy",
    "to_torch",
]


class Layer:
    """What every layer shares: the mode, the parameter dicts and the forward cache.

    Subclasses list their parameters in ``param_names`` (arrays stored as attributes, their
    gradients as ``grad_<name>``) and their non-trained state in ``buffer_names``.
    """

    param_names: tuple[str, ...] = ()
    buffer_names: tuple[str, ...] = ()

    def __init__(self):
        self.training = True
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def params(self) -> dict[str, np.ndarray]:
        """The trainable arrays ``{name: array}`` (the layer's own, not copies)."""
        return {name: getattr(self, name) for name in self.param_names}

    def grads(self) -> dict[str, np.ndarray]:
        """The gradients from the last backward pass, keyed like :meth:`params`."""
        return {name: getattr(self, f"grad_{name}") for name in self.param_names}

    def buffers(self) -> dict[str, np.ndarray]:
        """State that is not trained by gradients, such as batch norm's running statistics."""
        return {name: getattr(self, name) for name in self.buffer_names}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers under PyTorch's ``state_dict`` names."""
        return self.params() | self.buffers()

    def train(self, mode: bool = True) -> Layer:
        """Switch to training (``mode=True``) or evaluation mode; returns the layer."""
        if not isinstance(mode, bool):
            raise TypeError(f"mode must be a bool, got {mode!r}")
        self.training = mode
        return self

    def eval(self) -> Layer:
        """Switch to evaluation mode; returns the layer."""
        return self.train(False)

    def _saved(self):
        """The forward cache, or a clear error when backward comes first."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs a forward call first")
        return self._cache

    @property
    def has_bias(self) -> bool:
        """Whether the layer has a ``bias`` parameter."""
        return "bias" in self.param_names

    def _zero_grads(self) -> None:
        for name in self.param_names:
            setattr(self, f"grad_{name}", np.zeros_like(getattr(self, name)))

    def _torch_twin(self) -> nn.Module:
        """The ``torch.nn`` module computing the same function (weights not copied)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""


# --------------------------------------------------------------------------------------------
# Layers with parameters
# --------------------------------------------------------------------------------------------


def _rng(seed) -> np.random.Generator:
    """A Generator from an int seed, or the Generator itself (shared across layers)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(as_int(seed, "seed", minimum=0))


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _uniform_init(rng: np.random.Generator, shape, fan_in: int, dtype) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for conv and linear layers.

    Weights use kaiming_uniform_ with a = sqrt(5): bound = gain * sqrt(3 / fan_in) with
    gain = sqrt(2 / (1 + a**2)) = sqrt(1 / 3), which is 1 / sqrt(fan_in); biases use the same.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


class Conv2d(Layer):
    """Convolutional layer, like ``torch.nn.Conv2d``: x (N, C_in, H, W) -> (N, C_out, OH, OW).

    weight (C_out, C_in, kH, kW), bias (C_out,) (absent with ``bias=False``). ``stride``,
    ``padding`` (also "same" / "valid") and ``dilation`` as in :func:`coursepkg.conv.conv2d`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        bias: bool = True,
        seed=0,
        dtype=np.float64,
    ):
        super().__init__()
        self.in_channels = as_int(in_channels, "in_channels")
        self.out_channels = as_int(out_channels, "out_channels")
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride, self.dilation = as_pair(stride, "stride"), as_pair(dilation, "dilation")
        self.padding = padding if padding in ("same", "valid") else as_pair(padding, "padding", 0)
        rng, dtype = _rng(seed), _float_dtype(dtype)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = _uniform_init(rng, shape, fan_in, dtype)
        self.param_names = ("weight",)
        if _check_bool(bias, "bias"):
            self.bias = _uniform_init(rng, (self.out_channels,), fan_in, dtype)
            self.param_names = ("weight", "bias")
        self._zero_grads()

    def forward(self, x):
        self._cache = x
        bias = self.bias if self.has_bias else None
        return conv.conv2d(x, self.weight, bias, self.stride, self.padding, self.dilation)

    def backward(self, grad_out):
        x = self._saved()
        grad_x, self.grad_weight, grad_bias = conv.conv2d_backward(
            grad_out, x, self.weight, self.stride, self.padding, self.dilation
        )
        if self.has_bias:
            self.grad_bias = grad_bias
        return grad_x

    def _torch_twin(self):
        return nn.Conv2d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            bias=self.has_bias,
        )

    def extra_repr(self):
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}"
        )


class Linear(Layer):
    """Fully connected layer, like ``torch.nn.Linear``: x (N, in_features) -> (N, out_features).

    out = x @ weight.T + bias, with weight (out_features, in_features) and bias (out_features,).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, seed=0, dtype=np.float64
    ):
        super().__init__()
        self.in_features = as_int(in_features, "in_features")
        self.out_features = as_int(out_features, "out_features")
        rng, dtype = _rng(seed), _float_dtype(dtype)
        shape = (self.out_features, self.in_features)
        self.weight = _uniform_init(rng, shape, self.in_features, dtype)
        self.param_names = ("weight",)
        if _check_bool(bias, "bias"):
            self.bias = _uniform_init(rng, (self.out_features,), self.in_features, dtype)
            self.param_names = ("weight", "bias")
        self._zero_grads()

    def forward(self, x):
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have {self.in_features} features, got shape {x.shape}")
        self._cache = x
        out = x @ self.weight.T
        return out + self.bias if self.has_bias else out

    def backward(self, grad_out):
        x = self._saved()
        grad_out = _check_grad(grad_out, (len(x), self.out_features))
        self.grad_weight = grad_out.T @ x
        if self.has_bias:
            self.grad_bias = grad_out.sum(axis=0)
        return grad_out @ self.weight

    def _torch_twin(self):
        return nn.Linear(self.in_features, self.out_features, bias=self.has_bias)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}"


class BatchNorm2d(Layer):
    """Batch normalisation over (N, H, W) for each channel, like ``torch.nn.BatchNorm2d``.

    x (N, C, H, W) -> same shape: ``weight * (x - mean) / sqrt(var + eps) + bias``. Training
    uses the batch's mean and biased variance, and updates the running statistics as
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased* variance
    (``momentum=None``: a cumulative average). Evaluation uses the running statistics.
    Parameters weight, bias (C,) (without ``affine=False``); buffers running_mean,
    running_var (C,) and num_batches_tracked (a 0-d int64 array).
    """

    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        dtype=np.float64,
    ):
        super().__init__()
        self.num_features = as_int(num_features, "num_features")
        self.eps = as_real(eps, "eps", positive=True)
        if momentum is not None and not 0 <= as_real(momentum, "momentum") <= 1:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.affine = _check_bool(affine, "affine")
        dtype = _float_dtype(dtype)
        self.param_names = ("weight", "bias") if self.affine else ()
        self.weight = np.ones(self.num_features, dtype)
        self.bias = np.zeros(self.num_features, dtype)
        self.running_mean = np.zeros(self.num_features, dtype)
        self.running_var = np.ones(self.num_features, dtype)
        self.num_batches_tracked = np.zeros((), np.int64)
        self._zero_grads()

    def forward(self, x):
        x = as_float_array(x, "x", ndim=4)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} channels, got shape {x.shape}")
        if self.training:
            mean, var, count = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)), x.size // x.shape[1]
            if count < 2:
                raise ValueError(
                    f"x must hold more than 1 value per channel to train, got {x.shape}"
                )
            self._update_running_stats(mean, var * count / (count - 1))
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mean[:, None, None]) * inv_std[:, None, None]
        self._cache = (x_hat, inv_std, self.training)
        return self.weight[:, None, None] * x_hat + self.bias[:, None, None]

    def _update_running_stats(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        self.num_batches_tracked += 1
        factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean *= 1 - factor
        self.running_mean += factor * mean
        self.running_var *= 1 - factor
        self.running_var += factor * unbiased_var

    def backward(self, grad_out):
        x_hat, inv_std, trained = self._saved()
        grad_out = _check_grad(grad_out, x_hat.shape)
        axes = (0, 2, 3)
        self.grad_weight = (grad_out * x_hat).sum(axis=axes)
        self.grad_bias = grad_out.sum(axis=axes)
        grad_x_hat = grad_out * self.weight[:, None, None]
        if not trained:  # running statistics are constants
            return grad_x_hat * inv_std[:, None, None]
        # The batch mean and variance depend on every x: subtract the gradient's mean and its
        # projection on x_hat (the usual simplified form of the chain rule through them).
        mean_grad = grad_x_hat.mean(axis=axes, keepdims=True)
        mean_proj = (grad_x_hat * x_hat).mean(axis=axes, keepdims=True)
        return (grad_x_hat - mean_grad - x_hat * mean_proj) * inv_std[:, None, None]

    def _torch_twin(self):
        return nn.BatchNorm2d(self.num_features, self.eps, self.momentum, self.affine)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


# --------------------------------------------------------------------------------------------
# Layers without parameters
# --------------------------------------------------------------------------------------------


class ReLU(Layer):
    """max(x, 0), elementwise: any shape -> same shape; gradient 0 where x <= 0."""

    def forward(self, x):
        self._cache = x
        return activations.relu(x)

    def backward(self, grad_out):
        return activations.relu_backward(grad_out, self._saved())

    def _torch_twin(self):
        return nn.ReLU()


class _Pooling(Layer):
    """A pooling layer: a pair of functions from :mod:`coursepkg.pooling` and their options.

    Subclasses set the pair (``_forward``, ``_backward``), the torch twin's class and
    ``_options()``, the keyword arguments both functions take.
    """

    _forward = _backward = None
    _torch_class: type[nn.Module]

    def forward(self, x):
        self._cache = x
        return type(self)._forward(x, **self._options())

    def backward(self, grad_out):
        return type(self)._backward(grad_out, self._saved(), **self._options())

    def _torch_twin(self):
        return self._torch_class(**self._options())

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self._options().items())


class MaxPool2d(_Pooling):
    """Max pooling, like ``torch.nn.MaxPool2d``: x (N, C, H, W) -> (N, C, OH, OW).

    Arguments as in :func:`coursepkg.pooling.max_pool2d` (stride defaults to the kernel size).
    """

    _forward = staticmethod(pooling.max_pool2d)
    _backward = staticmethod(pooling.max_pool2d_backward)
    _torch_class = nn.MaxPool2d

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride")
        self.padding = as_pair(padding, "padding", minimum=0)
        self.dilation = as_pair(dilation, "dilation")
        self.ceil_mode = _check_bool(ceil_mode, "ceil_mode")

    def _options(self) -> dict:
        return dict(
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            ceil_mode=self.ceil_mode,
        )


class AvgPool2d(_Pooling):
    """Average pooling, like ``torch.nn.AvgPool2d``: x (N, C, H, W) -> (N, C, OH, OW).

    Arguments as in :func:`coursepkg.pooling.avg_pool2d` (stride defaults to the kernel size).
    """

    _forward = staticmethod(pooling.avg_pool2d)
    _backward = staticmethod(pooling.avg_pool2d_backward)
    _torch_class = nn.AvgPool2d

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ):
        super().__init__()
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else as_pair(stride, "stride")
        self.padding = as_pair(padding, "padding", minimum=0)
        self.ceil_mode = _check_bool(ceil_mode, "ceil_mode")
        self.count_include_pad = _check_bool(count_include_pad, "count_include_pad")

    def _options(self) -> dict:
        return dict(
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            ceil_mode=self.ceil_mode,
            count_include_pad=self.count_include_pad,
        )


class GlobalAvgPool2d(Layer):
    """Mean of each channel plane: x (N, C, H, W) -> (N, C, 1, 1), like AdaptiveAvgPool2d(1)."""

    def forward(self, x):
        self._cache = x
        return pooling.global_avg_pool2d(x)

    def backward(self, grad_out):
        return pooling.global_avg_pool2d_backward(grad_out, self._saved())

    def _torch_twin(self):
        return nn.AdaptiveAvgPool2d(1)


class Flatten(Layer):
    """Keep the batch axis, flatten the rest: x (N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(f"x must have a batch axis, got shape {x.shape}")
        self._cache = x.shape
        return x.reshape(len(x), -1)

    def backward(self, grad_out):
        shape = self._saved()
        grad_out = _check_grad(grad_out, (shape[0], math.prod(shape[1:])))
        return grad_out.reshape(shape)

    def _torch_twin(self):
        return nn.Flatten()


class Dropout(Layer):
    """Inverted dropout, like ``torch.nn.Dropout``: any shape -> same shape.

    Training: each entry is zeroed with probability ``p`` and the others are scaled by
    1 / (1 - p), so the expected output equals the input; the mask comes from ``seed`` (an int
    or a Generator) and is kept for the backward pass. Evaluation: the identity.
    """

    def __init__(self, p: float = 0.5, seed=0):
        super().__init__()
        self.p = as_real(p, "p")
        if self.p > 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.rng = _rng(seed)

    def forward(self, x):
        x = as_float_array(x, "x")
        if not self.training or self.p == 0:
            self._cache = np.ones((), x.dtype)
            return x
        keep = self.rng.random(x.shape) >= self.p
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)  # p = 1 drops everything
        self._cache = (keep * scale).astype(x.dtype)
        return x * self._cache

    def backward(self, grad_out):
        return np.asarray(grad_out) * self._saved()

    def _torch_twin(self):
        return nn.Dropout(self.p)

    def extra_repr(self):
        return f"p={self.p}"


# --------------------------------------------------------------------------------------------
# Containers and losses
# --------------------------------------------------------------------------------------------


class Sequential(Layer):
    """Layers applied one after another; backward runs them in reverse.

    Parameters, gradients and buffers are named ``"<index>.<name>"`` (``"0.weight"``), as in
    ``torch.nn.Sequential``'s ``state_dict``. ``train()`` / ``eval()`` reach every layer.
    """

    def __init__(self, *layers: Layer):
        super().__init__()
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{index}] must be a Layer, got {type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def _named(self, method: str) -> dict[str, np.ndarray]:
        return {
            f"{index}.{name}": value
            for index, layer in enumerate(self.layers)
            for name, value in getattr(layer, method)().items()
        }

    def params(self):
        return self._named("params")

    def grads(self):
        return self._named("grads")

    def buffers(self):
        return self._named("buffers")

    def train(self, mode: bool = True):
        super().train(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def __getitem__(self, index: int) -> Layer:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def _torch_twin(self):
        return nn.Sequential(*(layer._torch_twin() for layer in self.layers))

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


def softmax_cross_entropy(logits, labels) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits), like ``torch.nn.functional.cross_entropy``.

    logits (N, K) float, labels (N,) ints in [0, K) -> (loss: float, grad_logits (N, K)), where
    grad_logits = (softmax(logits) - one_hot(labels)) / N is dLoss/dlogits.
    """
    logits = as_float_array(logits, "logits", ndim=2)
    labels = np.asarray(labels)
    n, k = logits.shape
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be {n} integers (N,), got {labels.dtype} {labels.shape}")
    if n == 0 or labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must be class indices in [0, {k}) for N >= 1 examples")
    log_probs = activations.log_softmax(logits, axis=1)
    rows = np.arange(n)
    loss = -log_probs[rows, labels].mean()
    grad = np.exp(log_probs)
    grad[rows, labels] -= 1.0
    return float(loss), grad / n


# --------------------------------------------------------------------------------------------
# Twins in PyTorch
# --------------------------------------------------------------------------------------------


def to_torch(layer: Layer) -> nn.Module:
    """The ``torch.nn`` model computing what ``layer`` computes, with copies of its weights.

    Conv2d -> nn.Conv2d, Linear -> nn.Linear, BatchNorm2d -> nn.BatchNorm2d (running
    statistics included), pooling, ReLU, Flatten and Dropout -> their nn namesakes,
    Sequential -> nn.Sequential. The dtype follows the parameters (float64 by default), the
    mode (train / eval) follows ``layer``'s. Dropout masks are drawn independently.
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"layer must be a Layer, got {type(layer).__name__}")
    module = layer._torch_twin()
    floats = [v for v in layer.params().values()]
    dtype = floats[0].dtype if floats else np.dtype(np.float64)
    module.to(getattr(torch, dtype.name))
    state = {name: torch.from_numpy(np.array(value)) for name, value in layer.state_dict().items()}
    module.load_state_dict(state, strict=True)
    return module.train(layer.training)


def load_torch_state(layer: Layer, module: nn.Module) -> Layer:
    """Copy a torch model's parameters and buffers into ``layer`` (in place); return ``layer``.

    The names must match (as they do for a model from :func:`to_torch` or built with the same
    structure). Values are copied into the existing arrays, so optimisers that hold them keep
    working, and cast to their dtype.
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"layer must be a Layer, got {type(layer).__name__}")
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    theirs, ours = module.state_dict(), layer.state_dict()
    if set(theirs) != set(ours):
        raise ValueError(
            f"module must have the layer's parameters {sorted(ours)}, got {sorted(theirs)}"
        )
    for name, target in ours.items():
        value = theirs[name].detach().cpu().numpy()
        if value.shape != target.shape:
            raise ValueError(f"module's {name} has shape {value.shape}, expected {target.shape}")
        target[...] = value
    return layer


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)


def _check_grad(grad_out, shape: tuple[int, ...]) -> np.ndarray:
    grad_out = as_float_array(grad_out, "grad_out")
    if grad_out.shape != tuple(shape):
        raise ValueError(
            f"grad_out must have the output's shape {tuple(shape)}, got {grad_out.shape}"
        )
    return grad_out
