"""Look at what a CNN computes: filters, feature maps, saliency, occlusion, CAM and Grad-CAM.

Every function takes a model, images ``x`` (N, C, H, W) and, where it explains a decision,
``target``: the class (an int for every image, or one int per image) whose score is explained.
Heat maps come back as tensors (N, H', W'), on the model's device, detached. Every function
leaves the model as it found it: its training / evaluation mode and the ``requires_grad`` flag of
every parameter are restored, no ``.grad`` is written (gradients come from
``torch.autograd.grad``) and no hook outlives the call. The explanations run in evaluation mode,
so that batch norm and dropout act as they do at test time.

Layers are given as modules or by name, as in ``model.named_modules()`` (``"features.relu3"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coursepkg._checks import as_int, as_pair, as_real

__all__ = [
    "Optimised",
    "activation_maximisation",
    "cam",
    "capture",
    "conv_filters",
    "feature_maps",
    "grad_cam",
    "invert_features",
    "mass_inside",
    "normalise",
    "occlusion",
    "pointing_game",
    "saliency",
    "upsample",
]


# ---------------------------------------------------------------------------------------------
# Hooks and the model's state
# ---------------------------------------------------------------------------------------------


@contextmanager
def capture(model: nn.Module, layers) -> Iterator[dict[str, torch.Tensor]]:
    """``with capture(model, ["conv1", "relu3"]) as seen:`` keeps the outputs of named layers.

    layers: a name, a module, or a sequence of them. Inside the block, each forward pass stores
    each layer's output in ``seen[name]`` (the last pass wins), *not* detached, so gradients
    can be taken with respect to it. The hooks are removed when the block ends, even on error.
    """
    modules = _layers(model, layers)
    seen: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(_keeper(seen, name)))
        yield seen
    finally:
        for handle in handles:
            handle.remove()


def _keeper(seen: dict, name: str) -> Callable:
    def hook(module, inputs, output):
        seen[name] = output
        # The rest of the network gets a copy, so that an in-place layer that follows, such as
        # nn.ReLU(inplace=True), changes the copy and not the values kept here.
        return output.clone() if isinstance(output, torch.Tensor) else None

    return hook


@contextmanager
def _inspecting(model: nn.Module) -> Iterator[None]:
    """Evaluation mode and frozen parameters inside; the previous mode and flags afterwards."""
    modes = {module: module.training for module in model.modules()}
    flags = {param: param.requires_grad for param in model.parameters()}
    model.eval()
    try:
        for param in flags:
            param.requires_grad_(False)
        yield
    finally:
        for module, mode in modes.items():
            module.training = mode
        for param, flag in flags.items():
            param.requires_grad_(flag)


# ---------------------------------------------------------------------------------------------
# What a layer holds: filters and feature maps
# ---------------------------------------------------------------------------------------------


def conv_filters(model: nn.Module, layer) -> np.ndarray:
    """The weights of a convolution layer as float64 NumPy, (F, C, kH, kW), ready to draw.

    layer: an ``nn.Conv2d`` of ``model``, or its name. Filter ``f`` looks for the pattern
    ``weights[f]`` in its C input channels; draw it with a colormap centred at 0.
    """
    ((name, module),) = _layers(model, layer).items()
    if not isinstance(module, nn.Conv2d):
        raise TypeError(f"layer must be an nn.Conv2d, got {type(module).__name__} for {name!r}")
    return module.weight.detach().cpu().double().numpy().copy()


def feature_maps(model: nn.Module, x: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    """The outputs of ``layers`` for images x (N, C, H, W): ``{name: (N, C_l, H_l, W_l)}``.

    layers: a name, a module, or a sequence of them. One forward pass in evaluation mode,
    without gradients; the outputs are detached.
    """
    x = _images(x, model)
    with _inspecting(model), capture(model, layers) as seen, torch.no_grad():
        model(x)
    return {name: out.detach() for name, out in seen.items()}


# ---------------------------------------------------------------------------------------------
# Which pixels matter: saliency and occlusion
# ---------------------------------------------------------------------------------------------


def saliency(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Vanilla-gradient saliency (Simonyan et al. 2014): x (N, C, H, W) -> (N, H, W).

    The gradient of each image's ``target`` score with respect to its pixels, in absolute
    value, and the largest over the channels: how much a small change of each pixel would move
    the score. Scores are the model's outputs (logits), not probabilities.
    """
    x = _images(x, model)
    with _inspecting(model):
        x = x.detach().clone().requires_grad_(True)
        scores = model(x)
        index = _targets(target, scores)
        (grad,) = torch.autograd.grad(scores.gather(1, index[:, None]).sum(), x)
    return grad.abs().amax(1)


def occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target,
    window=8,
    stride=4,
    baseline: float = 0.0,
    batch_size: int = 256,
) -> torch.Tensor:
    """Occlusion sensitivity (Zeiler and Fergus 2014): x (N, C, H, W) -> (N, H, W).

    A ``window`` (int or pair) of ``baseline`` pixels, covering all channels, slides over each
    image ``stride`` (int or pair, at most the window) pixels at a time, starting at the top
    left; windows reaching past the bottom or right edge are cut there, so every pixel is
    covered. Each placement scores ``score(x) - score(x occluded)`` for the ``target`` class;
    a pixel gets the mean over the placements that cover it. Large values: hiding this region
    lowers the score. Occluded copies run through the model ``batch_size`` at a time.
    """
    x = _images(x, model)
    (kh, kw), (sh, sw) = as_pair(window, "window"), as_pair(stride, "stride")
    n, _, h, w = x.shape
    if kh > h or kw > w:
        raise ValueError(f"window must fit in the image {(h, w)}, got {window!r}")
    if sh > kh or sw > kw:
        raise ValueError(f"stride must be at most the window {(kh, kw)}, got {stride!r}")
    if isinstance(baseline, bool) or not isinstance(baseline, (int, float)):
        raise TypeError(f"baseline must be a number, got {baseline!r}")
    batch_size = as_int(batch_size, "batch_size")
    tops = range(0, sh * math.ceil((h - kh) / sh) + 1, sh)
    lefts = range(0, sw * math.ceil((w - kw) / sw) + 1, sw)
    corners = [(top, left) for top in tops for left in lefts]
    total = torch.zeros(n, h, w, dtype=x.dtype, device=x.device)  # sum of the drops per pixel
    count = torch.zeros(h, w, dtype=x.dtype, device=x.device)  # placements covering each pixel
    with _inspecting(model), torch.no_grad():
        scores = model(x)
        index = _targets(target, scores)
        base = scores.gather(1, index[:, None])[:, 0]  # (N,) the unoccluded scores
        for start in range(0, len(corners), batch_size):
            batch = corners[start : start + batch_size]
            masks = torch.zeros(len(batch), h, w, dtype=x.dtype, device=x.device)
            for mask, (top, left) in zip(masks, batch, strict=True):
                mask[top : top + kh, left : left + kw] = 1  # (P, H, W): 1 where it is hidden
            count += masks.sum(0)
            for i in range(n):
                occluded = x[i] * (1 - masks[:, None]) + baseline * masks[:, None]  # (P, C, H, W)
                drops = base[i] - model(occluded)[:, index[i]]  # (P,)
                total[i] += torch.einsum("p,phw->hw", drops, masks)
    return total / count


# ---------------------------------------------------------------------------------------------
# Where the class is: CAM and Grad-CAM
# ---------------------------------------------------------------------------------------------


def cam(model: nn.Module, x: torch.Tensor, target, layer, classifier, size="input") -> torch.Tensor:
    """Class activation map (Zhou et al. 2016) of a network ending in GAP + one linear layer.

    layer: the last feature map (its output A, (N, K, h, w), is averaged over space and fed to
    ``classifier``, an ``nn.Linear`` with K inputs). The map of class c is
    ``sum_k W[c, k] A_k``: each channel weighted by what the classifier gives it for c, so
    that its spatial mean plus the bias is exactly the class score. Returns (N, h, w), or
    upsampled bilinearly to ``size`` ("input": the images' H x W; None: keep h x w; or a pair).
    Not passed through a ReLU, not normalised: see :func:`normalise`.
    """
    x = _images(x, model)
    ((_, linear),) = _layers(model, classifier).items()
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"classifier must be an nn.Linear, got {type(linear).__name__}")
    with _inspecting(model), capture(model, layer) as seen, torch.no_grad():
        scores = model(x)
        index = _targets(target, scores)
        (maps,) = seen.values()
        _check_map(maps, layer)
        if maps.shape[1] != linear.in_features:
            raise ValueError(
                f"classifier must take the {maps.shape[1]} channels of layer as its inputs, "
                f"but it has {linear.in_features} in_features"
            )
        heat = torch.einsum("nk,nkhw->nhw", linear.weight[index], maps)
    return _resized(heat, size, x)


def grad_cam(
    model: nn.Module, x: torch.Tensor, target, layer, relu: bool = True, size="input"
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) for any convolutional layer: x (N, C, H, W) -> heat maps.

    A = the layer's output (N, K, h, w). Each channel k gets the weight alpha_k, the spatial
    mean of the gradient of the ``target`` score with respect to A_k; the map is
    ``sum_k alpha_k A_k``, then ``relu`` keeps its positive part (the evidence *for* the
    class). Returns (N, h, w), or upsampled bilinearly to ``size`` ("input": H x W; None: keep
    h x w; or a pair ``(H', W')``). Not normalised: see :func:`normalise`.
    """
    x = _images(x, model)
    with _inspecting(model), capture(model, layer) as seen:
        scores = model(x.detach().clone().requires_grad_(True))
        index = _targets(target, scores)
        (activations,) = seen.values()
        _check_map(activations, layer)
        # autograd.grad, not a backward hook on the module: nothing is written to any .grad,
        # and no hook is left to remove.
        (grads,) = torch.autograd.grad(scores.gather(1, index[:, None]).sum(), activations)
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1): alpha_k
    heat = (weights * activations).sum(1).detach()
    return _resized(heat.clamp(min=0) if relu else heat, size, x)


def _check_map(out, layer) -> None:
    if not isinstance(out, torch.Tensor) or out.ndim != 4:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"layer must output feature maps (N, K, h, w), got {shape} ({layer!r})")


# ---------------------------------------------------------------------------------------------
# Images made by gradient ascent: activation maximisation and feature inversion
# ---------------------------------------------------------------------------------------------


class Optimised(NamedTuple):
    """An image made by gradient steps, (1, C, H, W), and its objective after every step."""

    image: torch.Tensor
    objective: list[float]


def activation_maximisation(
    model: nn.Module,
    target: int,
    shape,
    layer=None,
    steps: int = 100,
    lr: float = 0.05,
    l2: float = 1e-2,
    tv: float = 1e-2,
    bounds=(0.0, 1.0),
    log_softmax: bool = False,
    seed: int = 0,
) -> Optimised:
    """An input that makes one unit fire strongly (Erhan et al. 2009; Simonyan et al. 2014).

    shape: (C, H, W) of the image. Without ``layer`` the unit is the class score ``target``:
    its logit, or its log-probability when ``log_softmax`` (which also pushes the other classes
    down); with ``layer``, it is the mean of channel ``target`` of that layer's output.
    Starting from small noise drawn with ``seed`` (clipped to ``bounds``), Adam (learning rate
    ``lr``) climbs ``unit - l2 * mean(x^2) - tv * total variation`` for ``steps`` steps. The two
    regularisers keep the image small and smooth; without them the ascent finds high-frequency
    patterns that no natural image contains. bounds: ``(low, high)``, the pixel range the image
    is clipped to after every step (that of the training images), or None. Returns an
    :class:`Optimised` whose ``objective`` holds the unit's value (without the penalties)
    after each step.
    """
    channels, height, width = _shape(shape)
    steps, seed = as_int(steps, "steps"), as_int(seed, "seed", minimum=0)
    lr, l2, tv = as_real(lr, "lr", positive=True), as_real(l2, "l2"), as_real(tv, "tv")
    target = as_int(target, "target", minimum=0)
    _check_model(model)
    generator = torch.Generator().manual_seed(seed)
    start = 0.01 * torch.randn(1, channels, height, width, generator=generator)
    param = next(model.parameters(), None)
    if param is not None:
        start = start.to(device=param.device, dtype=param.dtype)

    def unit(image: torch.Tensor, seen: dict) -> torch.Tensor:
        scores = model(image)
        if layer is None:
            if target >= scores.shape[1]:
                raise ValueError(f"target must be below {scores.shape[1]}, got {target}")
            return (scores.log_softmax(1) if log_softmax else scores)[0, target]
        (out,) = seen.values()
        if out.ndim < 2 or target >= out.shape[1]:
            raise ValueError(f"target must be a channel of layer, 0 to {out.shape[1] - 1}")
        return out[0, target].mean()

    return _ascend(model, start, unit, layer, steps, lr, l2, tv, _bounds(bounds))


def invert_features(
    model: nn.Module,
    x: torch.Tensor,
    layer,
    steps: int = 200,
    lr: float = 0.05,
    l2: float = 0.0,
    tv: float = 1e-2,
    bounds=(0.0, 1.0),
    seed: int = 0,
) -> Optimised:
    """Reconstruct an image from its feature maps (Mahendran and Vedaldi 2015).

    x (1, C, H, W): the image whose ``layer`` output phi(x) is kept. Starting from small noise,
    Adam finds an image z maximising ``-||phi(z) - phi(x)||^2 / ||phi(x)||^2`` minus the
    ``l2`` and ``tv`` penalties, within ``bounds``, as in :func:`activation_maximisation`.
    What z keeps of x is what
    the layer keeps. ``objective`` holds the relative feature error after each step, negated.
    """
    x = _images(x, model)
    if len(x) != 1:
        raise ValueError(f"x must hold one image (1, C, H, W), got shape {tuple(x.shape)}")
    steps, seed = as_int(steps, "steps"), as_int(seed, "seed", minimum=0)
    lr, l2, tv = as_real(lr, "lr", positive=True), as_real(l2, "l2"), as_real(tv, "tv")
    ((name, _),) = _layers(model, layer).items()
    wanted = feature_maps(model, x, layer)[name]
    generator = torch.Generator().manual_seed(seed)
    start = 0.01 * torch.randn(x.shape, generator=generator).to(device=x.device, dtype=x.dtype)
    scale = wanted.pow(2).sum().clamp(min=1e-12)

    def unit(image: torch.Tensor, seen: dict) -> torch.Tensor:
        model(image)
        return -(seen[name] - wanted).pow(2).sum() / scale

    return _ascend(model, start, unit, layer, steps, lr, l2, tv, _bounds(bounds))


def _ascend(model, start, unit, layer, steps, lr, l2, tv, bounds) -> Optimised:
    """Adam ascent of ``unit(image, seen) - penalties`` from ``start``; see the callers."""
    image = start.clone() if bounds is None else start.clamp(*bounds)
    image.requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    history = []
    with _inspecting(model), capture(model, [] if layer is None else layer) as seen:
        for _ in range(steps):
            value = unit(image, seen)
            objective = value - l2 * image.pow(2).mean() - tv * _total_variation(image)
            optimizer.zero_grad()
            (-objective).backward()
            optimizer.step()
            if bounds is not None:
                with torch.no_grad():
                    image.clamp_(*bounds)
            history.append(float(value.detach()))
    return Optimised(image.detach(), history)


def _total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels, down and across."""
    down = (image[..., 1:, :] - image[..., :-1, :]).pow(2).mean()
    across = (image[..., :, 1:] - image[..., :, :-1]).pow(2).mean()
    return down + across


# ---------------------------------------------------------------------------------------------
# Heat maps: resizing, scaling, and scoring them against where the object is
# ---------------------------------------------------------------------------------------------


def upsample(heat: torch.Tensor, size) -> torch.Tensor:
    """Resize heat maps (N, h, w) to ``size`` (int or pair (H, W)) by bilinear interpolation.

    Like ``F.interpolate(..., mode="bilinear", align_corners=False)``: pixel centres line up,
    so a map of a network's 8 x 8 last layer covers a 32 x 32 image the way its cells do.
    """
    heat = _heat(heat, "heat")
    h, w = as_pair(size, "size")
    return F.interpolate(heat[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]


def normalise(heat: torch.Tensor) -> torch.Tensor:
    """Scale each heat map (N, H, W) to [0, 1]: its minimum to 0, its maximum to 1.

    A constant map becomes all zeros.
    """
    heat = _heat(heat, "heat")
    low = heat.amin(dim=(1, 2), keepdim=True)
    span = heat.amax(dim=(1, 2), keepdim=True) - low
    return torch.where(span > 0, (heat - low) / torch.where(span > 0, span, 1), 0.0)


def pointing_game(heat, masks) -> np.ndarray:
    """Hits of the pointing game (Zhang et al. 2018): does each map's peak fall on the object?

    heat (N, H, W) tensor or array, masks (N, H, W) bool. Returns (N,) bool: True where the
    pixel of the largest value (the first one, in row-major order, when several tie) lies
    inside the mask. A map that points at random hits with the probability of the mask's area.
    """
    heat, masks = _against_masks(heat, masks)
    peak = heat.reshape(len(heat), -1).argmax(1)
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), peak]


def mass_inside(heat, masks) -> np.ndarray:
    """The share of each heat map's total inside the object's mask: (N, H, W) x2 -> (N,).

    heat must be non-negative (a Grad-CAM after its ReLU, a normalised map). A uniform map
    scores the mask's share of the image, the chance level; a map zero outside the mask scores
    1. An all-zero map scores 0.
    """
    heat, masks = _against_masks(heat, masks)
    if np.any(heat < 0):
        raise ValueError("heat must be non-negative, e.g. after a ReLU or normalise()")
    total = heat.sum(axis=(1, 2))
    inside = np.where(masks, heat, 0).sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _images(x, model) -> torch.Tensor:
    """Check the model and x, a floating tensor (N, C, H, W) with N >= 1."""
    _check_model(model)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4 or len(x) == 0 or not torch.is_floating_point(x):
        raise ValueError(f"x must be a float tensor (N, C, H, W), got {x.dtype} {tuple(x.shape)}")
    return x


def _targets(target, scores: torch.Tensor) -> torch.Tensor:
    """``target`` (an int, or one per image) as an int64 tensor (N,) of valid classes."""
    if scores.ndim != 2:
        raise ValueError(f"model must output class scores (N, K), got {tuple(scores.shape)}")
    n, k = scores.shape
    values = target.cpu().numpy() if isinstance(target, torch.Tensor) else np.asarray(target)
    if isinstance(target, bool) or values.dtype.kind not in "iu" or values.ndim > 1:
        raise TypeError(f"target must be an int or a sequence of ints, got {target!r}")
    index = torch.as_tensor(values.reshape(-1), dtype=torch.long, device=scores.device)
    if len(index) == 1:
        index = index.expand(n)
    if len(index) != n or index.min() < 0 or index.max() >= k:
        raise ValueError(
            f"target must be one class in [0, {k}) or one per image ({n}), got {target!r}"
        )
    return index


def _layers(model: nn.Module, layers) -> dict[str, nn.Module]:
    """``{name: module}`` for a name, a module, or a sequence of them, all inside ``model``."""
    _check_model(model)
    items = list(layers) if isinstance(layers, (list, tuple)) else [layers]
    names = {module: name for name, module in model.named_modules()}
    found = {}
    for item in items:
        if isinstance(item, str):
            try:
                found[item] = model.get_submodule(item)
            except AttributeError:
                raise ValueError(f"layer {item!r} is not in the model") from None
        elif isinstance(item, nn.Module) and item in names:
            found[names[item]] = item
        elif isinstance(item, nn.Module):
            raise ValueError(f"layer {type(item).__name__} is not a module of the model")
        else:
            raise TypeError(f"layer must be a module of the model or its name, got {item!r}")
    return found


def _resized(heat: torch.Tensor, size, x: torch.Tensor) -> torch.Tensor:
    if size is None:
        return heat
    return upsample(heat, x.shape[2:] if isinstance(size, str) and size == "input" else size)


def _heat(heat, name: str) -> torch.Tensor:
    if not isinstance(heat, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (N, H, W), got {type(heat).__name__}")
    if heat.ndim != 3 or not torch.is_floating_point(heat):
        raise ValueError(f"{name} must be a float tensor (N, H, W), got {tuple(heat.shape)}")
    return heat


def _against_masks(heat, masks) -> tuple[np.ndarray, np.ndarray]:
    heat = heat.detach().cpu().numpy() if isinstance(heat, torch.Tensor) else np.asarray(heat)
    masks = np.asarray(masks)
    if heat.ndim != 3 or heat.dtype.kind not in "iuf":
        raise ValueError(f"heat must be real heat maps (N, H, W), got {heat.dtype} {heat.shape}")
    if masks.dtype != bool or masks.shape != heat.shape:
        raise ValueError(
            f"masks must be bool (N, H, W) of heat's shape {heat.shape}, got "
            f"{masks.dtype} {masks.shape}"
        )
    return heat.astype(np.float64), masks


def _shape(shape) -> tuple[int, int, int]:
    if not (isinstance(shape, (tuple, list)) and len(shape) == 3):
        raise ValueError(f"shape must be (C, H, W), got {shape!r}")
    return tuple(as_int(s, "shape") for s in shape)


def _bounds(bounds) -> tuple[float, float] | None:
    if bounds is None:
        return None
    pair = tuple(bounds) if isinstance(bounds, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(b, (int, float)) for b in pair) or pair[0] >= pair[1]:
        raise ValueError(
            f"bounds must be None or a pair (low, high) with low < high, got {bounds!r}"
        )
    return float(pair[0]), float(pair[1])
