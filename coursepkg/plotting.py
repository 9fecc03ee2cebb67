"""The few figure helpers every chapter shares.

Call :func:`use_style` once at the top of a chapter. Every helper returns the matplotlib
``Figure`` it drew on, so tests (and readers) can inspect the axes, titles and image data.
"""

from __future__ import annotations

import math

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from coursepkg._checks import as_float_array, as_int, as_pair

__all__ = [
    "show_feature_maps",
    "show_images",
    "show_kernel",
    "show_sliding_window",
    "use_style",
]

#: Colormap for signed data (feature maps, kernels): blue below zero, red above, white at zero.
DIVERGING = "RdBu_r"

_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    # White, not transparent: figures stay readable when the site is in dark theme.
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.titlesize": 10,
    "font.size": 9,
    "image.cmap": "gray",
    "image.interpolation": "nearest",
    "legend.frameon": False,
}


def use_style() -> None:
    """Set the course's matplotlib defaults (size, resolution, white background, light axes)."""
    mpl.rcParams.update(_STYLE)


def show_images(
    images,
    titles=None,
    ncols: int | None = None,
    cmap: str = "gray",
    symmetric=False,
    suptitle: str | None = None,
    size: float = 2.4,
) -> Figure:
    """Draw images in a grid, one per axis, axes off.

    images: a sequence of ``(H, W)`` or ``(H, W, 3)`` arrays, or one array ``(N, H, W)``.
    titles: None or one string per image. ncols: images per row (default: all in one row, at
    most 4). symmetric: draw signed maps with a diverging colormap centred at 0, so that white
    means zero, red positive and blue negative; a bool for all images or one bool per image.
    size: inches per image.
    """
    images = [np.asarray(image) for image in images]
    if not images:
        raise ValueError("images must hold at least one image, got none")
    for k, image in enumerate(images):
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
            raise ValueError(f"images[{k}] must be (H, W) or (H, W, 3), got shape {image.shape}")
    if isinstance(symmetric, bool):
        symmetric = [symmetric] * len(images)
    if len(symmetric) != len(images):
        raise ValueError(
            f"symmetric must be a bool or one bool per image ({len(images)}), got {symmetric!r}"
        )
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    ncols = min(len(images), 4) if ncols is None else as_int(ncols, "ncols")
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(images):
            continue
        _draw(ax, images[k], cmap, symmetric[k])
        if titles is not None:
            ax.set_title(titles[k])
    if suptitle is not None:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_feature_maps(maps, titles=None, ncols: int | None = None, **kwargs) -> Figure:
    """Draw the feature maps of one image, ``(C, H, W)``, with a colormap centred at 0."""
    maps = as_float_array(maps, "maps", ndim=3)
    if titles is None:
        titles = [f"channel {c}" for c in range(len(maps))]
    return show_images(list(maps), titles=titles, ncols=ncols, symmetric=True, **kwargs)


def show_kernel(kernel, ax=None, title: str | None = None) -> Figure:
    """Draw a small 2-D kernel ``(kH, kW)`` as a heat map with its numbers written in the cells.

    Colours are centred at 0 (blue negative, red positive). ax: draw there, else on a new figure.
    """
    kernel = as_float_array(kernel, "kernel", ndim=2)
    if ax is None:
        kh, kw = kernel.shape
        _, ax = plt.subplots(figsize=(0.5 * kw + 0.6, 0.5 * kh + 0.6))
    _draw(ax, kernel, DIVERGING, symmetric=True)
    _write_numbers(ax, kernel, cmap_norm=True)
    _frame(ax)
    if title is not None:
        ax.set_title(title)
    return ax.figure


def show_sliding_window(
    image, kernel, positions, stride=1, dilation=1, annotate: bool = True
) -> Figure:
    """Show a kernel sliding over an image: the window at a few steps, and the output so far.

    image (H, W), kernel (kH, kW); no padding ("valid"), cross-correlation as in deep learning.
    positions: output coordinates ``(i, j)``, in the order to show them. Column ``k`` shows, on
    top, the input with the pixels the kernel reads at step ``k`` outlined; below, the output
    with every entry computed up to that step (raster order) filled in and the rest blank.
    """
    image = as_float_array(image, "image", ndim=2)
    kernel = as_float_array(kernel, "kernel", ndim=2)
    (sh, sw), (dh, dw) = as_pair(stride, "stride"), as_pair(dilation, "dilation")
    output = _correlate(image, kernel, (sh, sw), (dh, dw))
    positions = [tuple(p) for p in positions]
    if not positions:
        raise ValueError("positions must hold at least one (i, j) pair, got none")
    for p in positions:
        if len(p) != 2 or not (0 <= p[0] < output.shape[0] and 0 <= p[1] < output.shape[1]):
            raise ValueError(f"positions must be (i, j) inside the output {output.shape}, got {p}")
    n = len(positions)
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.0), squeeze=False)
    for col, (i, j) in enumerate(positions):
        top, bottom = axes[0, col], axes[1, col]
        top.imshow(image, cmap="gray", vmin=image.min(), vmax=image.max())
        for a in range(kernel.shape[0]):
            for b in range(kernel.shape[1]):
                r, c = i * sh + a * dh, j * sw + b * dw
                top.add_patch(
                    Rectangle(
                        (c - 0.5, r - 0.5),
                        1,
                        1,
                        fill=True,
                        alpha=0.35,
                        facecolor="tab:orange",
                        edgecolor="tab:orange",
                        lw=2,
                    )
                )
        top.set_title(f"step {col + 1}: window at ({i * sh}, {j * sw})")
        done = np.arange(output.size).reshape(output.shape) <= i * output.shape[1] + j
        partial = np.where(done, output, np.nan)
        bottom.imshow(partial, cmap="viridis", vmin=output.min(), vmax=output.max())
        bottom.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="tab:orange", lw=2.5)
        )
        bottom.set_title(f"output[{i}, {j}] = {output[i, j]:g}")
        if annotate:
            _write_numbers(top, image)
            _write_numbers(bottom, partial)
        _frame(top)
        _frame(bottom)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Private helpers
# ---------------------------------------------------------------------------------------------


def _draw(ax, image: np.ndarray, cmap: str, symmetric: bool) -> None:
    """imshow with limits: symmetric around 0 for signed data, else the image's own range."""
    if image.ndim == 3:
        ax.imshow(np.clip(image, 0, 1))
    elif symmetric:
        bound = float(np.nanmax(np.abs(image))) or 1.0
        ax.imshow(image, cmap=DIVERGING if cmap == "gray" else cmap, vmin=-bound, vmax=bound)
    else:
        ax.imshow(image, cmap=cmap)


def _frame(ax) -> None:
    """No ticks, and a thin frame on all four sides (the course style hides two of them)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_linewidth(0.6)


def _write_numbers(ax, values: np.ndarray, cmap_norm: bool = False) -> None:
    """Write each finite value in its cell, whole numbers without decimals."""
    whole = np.all(np.isnan(values) | (values == np.round(values)))
    bound = float(np.nanmax(np.abs(values))) or 1.0
    for (r, c), v in np.ndenumerate(values):
        if np.isnan(v):
            continue
        text = f"{v:.0f}" if whole else f"{v:.2f}"
        # Dark cells get white text; on the diverging map only strong colours are dark.
        dark = abs(v) > 0.6 * bound if cmap_norm else False
        ax.text(
            c,
            r,
            text,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if dark else "black",
            bbox=None
            if cmap_norm
            else {"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6},
        )


def _correlate(image, kernel, stride, dilation) -> np.ndarray:
    """Valid cross-correlation with stride and dilation, by loops (for small figures only)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel.shape, stride, dilation
    span_h, span_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if span_h > image.shape[0] or span_w > image.shape[1]:
        raise ValueError(
            f"kernel must fit inside the image: it spans {(span_h, span_w)} pixels, "
            f"image is {image.shape}"
        )
    oh, ow = (image.shape[0] - span_h) // sh + 1, (image.shape[1] - span_w) // sw + 1
    out = np.empty((oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = image[i * sh : i * sh + span_h : dh, j * sw : j * sw + span_w : dw]
            out[i, j] = np.sum(patch * kernel)
    return out
