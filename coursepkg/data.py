"""Datasets for the chapters: real photos shipped with scikit-image, and small synthetic images.

Nothing here touches the network: every photo is a file installed with scikit-image, and every
synthetic image is generated from its arguments (and a ``seed`` where it is random).

Images are float64 in ``[0, 1]``: ``(H, W)`` when gray, ``(H, W, 3)`` when in colour.
"""

from __future__ import annotations

import numpy as np
import skimage.data
from skimage.color import gray2rgb, rgb2gray
from skimage.transform import resize

from coursepkg._checks import as_int, as_pair

__all__ = ["PHOTOS", "integer_image", "load_photo", "stripes"]

# ---------------------------------------------------------------------------------------------
# Photos shipped inside scikit-image (no download needed)
# ---------------------------------------------------------------------------------------------

#: Names accepted by :func:`load_photo`: photographs that scikit-image installs with itself.
PHOTOS: tuple[str, ...] = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
)


def load_photo(name: str = "camera", size=None, gray: bool = True) -> np.ndarray:
    """Load a photo shipped with scikit-image as float64 in ``[0, 1]``.

    name: one of :data:`PHOTOS`. size: None (keep the original size), an int ``s`` for an
    ``(s, s)`` image, or a pair ``(h, w)``; resizing uses anti-aliasing.
    gray: True -> ``(H, W)`` luminance; False -> ``(H, W, 3)`` RGB (gray photos are repeated
    over the three channels).
    """
    if name not in PHOTOS:
        raise ValueError(f"name must be one of {', '.join(PHOTOS)}; got {name!r}")
    shape = None if size is None else as_pair(size, "size")
    photo = getattr(skimage.data, name)()
    photo = photo.astype(np.float64) / 255.0
    if gray and photo.ndim == 3:
        photo = rgb2gray(photo)
    elif not gray and photo.ndim == 2:
        photo = gray2rgb(photo)
    if shape is not None:
        photo = resize(photo, shape + photo.shape[2:], anti_aliasing=True)
    return np.clip(photo, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Small synthetic images
# ---------------------------------------------------------------------------------------------


def integer_image(shape=(6, 6), high: int = 9, seed: int = 0) -> np.ndarray:
    """A small image of random integers in ``[0, high]``, small enough to follow by hand.

    shape: int or pair ``(H, W)`` -> float64 array ``(H, W)`` holding whole numbers.
    """
    h, w = as_pair(shape, "shape")
    high = as_int(high, "high", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    return rng.integers(0, high + 1, size=(h, w)).astype(np.float64)


def stripes(size: int = 32, period: int = 8, orientation: str = "vertical") -> np.ndarray:
    """Black and white stripes, ``period`` pixels per black-white pair, as float64 ``(size, size)``.

    orientation: "vertical" stripes change from column to column (their edges are vertical);
    "horizontal" stripes change from row to row.
    """
    size = as_int(size, "size")
    period = as_int(period, "period", minimum=2)
    if orientation not in ("vertical", "horizontal"):
        raise ValueError(f"orientation must be 'vertical' or 'horizontal', got {orientation!r}")
    profile = (np.arange(size) % period >= period // 2).astype(np.float64)
    image = np.tile(profile, (size, 1))
    return image if orientation == "vertical" else image.T.copy()
