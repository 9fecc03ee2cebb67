"""Optimisers for the NumPy layers: SGD (momentum, Nesterov, weight decay) and Adam.

Each update follows the algorithm printed in PyTorch's documentation of ``torch.optim.SGD`` and
``torch.optim.Adam``, in the same order of operations, so one step of ours from a given state
equals one step of PyTorch's from the same state (to rounding).

An optimiser holds the parameters to train: a layer (anything with ``params()`` and ``grads()``,
such as :class:`coursepkg.layers.Sequential`) or a dict ``{name: ndarray}``. ``step()`` reads
the gradients from the layer (or takes a dict with the same names) and updates every parameter
**in place**, so the layer sees the new values without being told.
"""

from __future__ import annotations

import numpy as np

from coursepkg._checks import as_real

__all__ = ["SGD", "Adam", "Optimizer"]


class Optimizer:
    """What SGD and Adam share: the parameters, per-parameter state and the gradient lookup.

    params: a layer with ``params()`` / ``grads()``, or a dict ``{name: float ndarray}``.
    ``state[name]`` holds each parameter's buffers (momentum, moment estimates).
    """

    def __init__(self, params, lr: float, weight_decay: float):
        if hasattr(params, "params") and hasattr(params, "grads"):
            self._layer, self.params = params, dict(params.params())
        elif isinstance(params, dict):
            self._layer, self.params = None, dict(params)
        else:
            raise TypeError(f"params must be a layer or a dict of arrays, got {params!r}")
        if not self.params:
            raise ValueError("params must hold at least one parameter, got none")
        for name, value in self.params.items():
            if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
                raise TypeError(f"params[{name!r}] must be a float ndarray, got {value!r}")
        self.lr = as_real(lr, "lr")
        self.weight_decay = as_real(weight_decay, "weight_decay")
        self.state: dict[str, dict] = {name: {} for name in self.params}

    def step(self, grads: dict[str, np.ndarray] | None = None) -> None:
        """Update every parameter in place from its gradient.

        grads: ``{name: gradient}`` with each parameter's shape; None reads ``grads()`` of the
        layer the optimiser was built with.
        """
        if grads is None:
            if self._layer is None:
                raise ValueError("grads must be given when the optimiser was built from a dict")
            grads = self._layer.grads()
        for name, param in self.params.items():
            if name not in grads:
                raise ValueError(f"grads has no entry for parameter {name!r}")
            grad = np.asarray(grads[name])
            if grad.shape != param.shape:
                raise ValueError(f"grads[{name!r}] must have shape {param.shape}, got {grad.shape}")
            if self.weight_decay != 0:
                grad = grad + self.weight_decay * param
            param -= self._update(grad, param, self.state[name])

    def _update(self, grad: np.ndarray, param: np.ndarray, state: dict) -> np.ndarray:
        """The amount to subtract from ``param``, given its (decayed) gradient."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, like ``torch.optim.SGD``.

    With ``g = grad + weight_decay * param``: the momentum buffer starts as ``b = g`` and then
    becomes ``b = momentum * b + (1 - dampening) * g``; the step uses ``g + momentum * b``
    (Nesterov) or ``b``, times ``lr``. With ``momentum=0`` the step is ``lr * g``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr, weight_decay)
        self.momentum = as_real(momentum, "momentum")
        self.dampening = as_real(dampening, "dampening")
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov must be a bool, got {nesterov!r}")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov needs momentum > 0 and dampening = 0")
        self.nesterov = nesterov

    def _update(self, grad, param, state):
        if self.momentum == 0:
            return self.lr * grad
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = grad.copy()
        else:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += (1 - self.dampening) * grad
        buf = state["momentum_buffer"]
        direction = grad + self.momentum * buf if self.nesterov else buf
        return self.lr * direction


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), like ``torch.optim.Adam`` (weight decay added to the gradient).

    With ``g = grad + weight_decay * param`` and step count ``t``:
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``, and the step is
    ``lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr, weight_decay)
        try:
            beta1, beta2 = (as_real(b, "betas") for b in betas)
        except (TypeError, ValueError):
            beta1 = beta2 = 1.0  # reported just below
        if not (beta1 < 1 and beta2 < 1):
            raise ValueError(f"betas must be a pair of floats in [0, 1), got {betas!r}")
        self.betas = (beta1, beta2)
        self.eps = as_real(eps, "eps")

    def _update(self, grad, param, state):
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
        state["step"] += 1
        exp_avg, exp_avg_sq, step = state["exp_avg"], state["exp_avg_sq"], state["step"]
        exp_avg += (grad - exp_avg) * (1 - beta1)  # torch's lerp_: m + (1 - b1) (g - m)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = self.lr / (1 - beta1**step)
        denom = np.sqrt(exp_avg_sq) / np.sqrt(1 - beta2**step) + self.eps
        return step_size * exp_avg / denom
