"""Datasets for the chapters: real photos shipped with scikit-image, and small synthetic images.

Nothing here touches the network: every photo is a file installed with scikit-image, and every
synthetic image is generated from its arguments (and a ``seed`` where it is random).

Images are float64 in ``[0, 1]``: ``(H, W)`` when gray, ``(H, W, 3)`` when in colour.
Training sets are ``(N, C, H, W)`` arrays with integer labels: scikit-learn's handwritten digits
with the split every chapter shares, MNIST-format (IDX) files and image folders on local disk.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import NamedTuple

import numpy as np
import skimage.data
import torch
from PIL import Image, UnidentifiedImageError
from skimage.color import gray2rgb, rgb2gray
from skimage.transform import resize

from coursepkg._checks import as_int, as_pair

__all__ = [
    "PHOTOS",
    "SHAPES",
    "DigitsSplit",
    "ShapesData",
    "ImageFolderDataset",
    "integer_image",
    "load_digits_split",
    "load_image_folder",
    "load_mnist",
    "load_photo",
    "make_shapes",
    "read_idx",
    "shape_mask",
    "stripes",
]

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


# ---------------------------------------------------------------------------------------------
# Synthetic shapes: one object of a known class, position and outline per image
# ---------------------------------------------------------------------------------------------

#: Classes drawn by :func:`make_shapes`; a label is an index into this tuple.
SHAPES: tuple[str, ...] = ("square", "disc", "triangle", "cross")


class ShapesData(NamedTuple):
    """Images of :func:`make_shapes` with where their object is.

    images (N, 1, H, W) float32 in [0, 1]; labels (N,) int64, indices into :data:`SHAPES`;
    masks (N, H, W) bool, True on the object's pixels; boxes (N, 4) int64
    ``(top, left, bottom, right)``, bottom and right exclusive, the smallest box around the mask.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray


def shape_mask(kind: str, side: int) -> np.ndarray:
    """The pixels of one shape drawn in a ``side x side`` square, as a bool array (side, side).

    kind: one of :data:`SHAPES`. "square" fills the square, "disc" the inscribed circle, the
    "triangle" points up with its base on the bottom row, the "cross" is a plus sign whose bars
    are a third of the side thick. Each touches all four sides of the square.
    """
    if kind not in SHAPES:
        raise ValueError(f"kind must be one of {', '.join(SHAPES)}; got {kind!r}")
    side = as_int(side, "side", minimum=3)
    centre = np.arange(side) + 0.5  # pixel centres, in pixels from the top-left corner
    r, c = np.meshgrid(centre, centre, indexing="ij")
    half = side / 2
    if kind == "square":
        return np.ones((side, side), dtype=bool)
    if kind == "disc":
        return (r - half) ** 2 + (c - half) ** 2 <= half**2
    if kind == "triangle":  # half-width grows from half a pixel at the top to half at the base
        return np.abs(c - half) <= 0.5 + (half - 0.5) * (r - 0.5) / max(side - 1, 1)
    bar = max(side // 3, 1)  # cross: a vertical and a horizontal bar through the centre
    lo = (side - bar) // 2
    band = (np.arange(side) >= lo) & (np.arange(side) < lo + bar)
    return band[:, None] | band[None, :]


def make_shapes(
    n: int,
    size: int = 32,
    sizes=(8, 14),
    noise: float = 0.08,
    clutter: int = 3,
    classes=SHAPES,
    seed: int = 0,
) -> ShapesData:
    """``n`` grey images, each holding one shape of a known class on a noisy, cluttered background.

    size: height and width of the images (at least 8). sizes: ``(smallest, largest)`` side of
    the square each shape is drawn in, drawn uniformly; it must fit in the image. noise: the
    standard deviation of the Gaussian noise added to every pixel. clutter: how many thin
    random line segments, dimmer than the shapes, are drawn on the background before the shape.
    classes: the shape names to use (a subset of :data:`SHAPES`, in any order); labels index
    this sequence. Classes are balanced: each appears ``n // K`` or ``n // K + 1`` times, in a
    shuffled order. The shape is opaque, so it hides any clutter below it, and the same
    ``seed`` gives the same images. Returns a :class:`ShapesData`; images (n, 1, size, size).
    """
    n = as_int(n, "n")
    size = as_int(size, "size", minimum=8)
    smallest, largest = as_pair(sizes, "sizes", minimum=3)
    if smallest > largest or largest > size:
        raise ValueError(
            f"sizes must be (smallest, largest) with 3 <= smallest <= largest <= size "
            f"({size}), got {sizes!r}"
        )
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
        raise ValueError(f"noise must be a number in [0, 1), got {noise!r}")
    clutter = as_int(clutter, "clutter", minimum=0)
    classes = tuple(classes) if not isinstance(classes, str) else (classes,)
    if not classes or len(set(classes)) != len(classes) or not set(classes) <= set(SHAPES):
        raise ValueError(f"classes must be distinct names from {SHAPES}, got {classes!r}")
    rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
    labels = rng.permutation(np.arange(n) % len(classes)).astype(np.int64)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=bool)
    boxes = np.empty((n, 4), dtype=np.int64)
    for i, label in enumerate(labels):
        side = int(rng.integers(smallest, largest + 1))
        top, left = (int(v) for v in rng.integers(0, size - side + 1, size=2))
        masks[i, top : top + side, left : left + side] = shape_mask(classes[label], side)
        background = _cluttered_background(size, clutter, rng)
        image = np.where(masks[i], rng.uniform(0.75, 1.0), background)
        image += noise * rng.standard_normal((size, size))
        images[i, 0] = np.clip(image, 0.0, 1.0)
        rows, cols = np.flatnonzero(masks[i].any(1)), np.flatnonzero(masks[i].any(0))
        boxes[i] = rows[0], cols[0], rows[-1] + 1, cols[-1] + 1
    return ShapesData(images, labels, masks, boxes)


def _cluttered_background(size: int, clutter: int, rng: np.random.Generator) -> np.ndarray:
    """A dim, smoothly varying background (size, size) with ``clutter`` thin line segments."""
    ramp = np.linspace(-1.0, 1.0, size)
    slope_r, slope_c = rng.uniform(-0.08, 0.08, size=2)
    background = 0.2 + slope_r * ramp[:, None] + slope_c * ramp[None, :]
    for _ in range(clutter):
        start = rng.uniform(0, size, size=2)
        angle, length = rng.uniform(0, np.pi), rng.uniform(4, size / 2)
        steps = np.linspace(0, length, int(2 * length) + 1)
        r = np.clip(start[0] + steps * np.sin(angle), 0, size - 1).astype(int)
        c = np.clip(start[1] + steps * np.cos(angle), 0, size - 1).astype(int)
        background[r, c] = rng.uniform(0.4, 0.6)
    return background


# =============================================================================================
# Data sets for training: scikit-learn's digits, MNIST-format (IDX) files, image folders
# =============================================================================================


class DigitsSplit(NamedTuple):
    """Train / validation / test parts: x (N, 1, H, W) float64 in [0, 1], y (N,) int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(
    test_size: float = 0.2, val_size: float = 0.1, seed: int = 0, size=None
) -> DigitsSplit:
    """scikit-learn's 1,797 handwritten digits (8 x 8, ten classes) split three ways.

    test_size, val_size: fractions of the whole set (val_size may be 0: empty val arrays).
    seed: fixes the split; every chapter gets the same split for the same seed. The split is
    stratified, so each part holds the ten digits in the same proportions.
    size: None keeps 8 x 8; an int ``s`` or pair ``(h, w)`` resizes (bilinear), e.g. 32 for
    LeNet-5. Returns a :class:`DigitsSplit`, x (N, 1, H, W) float64 in [0, 1], y (N,) int64.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_size = _fraction(test_size, "test_size", allow_zero=False)
    val_size = _fraction(val_size, "val_size", allow_zero=True)
    if test_size + val_size >= 1:
        raise ValueError(f"test_size + val_size must be < 1, got {test_size} + {val_size}")
    seed = as_int(seed, "seed", minimum=0)
    shape = None if size is None else as_pair(size, "size")
    digits = load_digits()
    x = digits.images / 16.0  # pixel values are counts 0..16 from a 4 x 4 block
    if shape is not None:
        # resize treats the last axis as channels: (8, 8, N) -> (h, w, N), all in one call.
        x = resize(x.transpose(1, 2, 0), shape, order=1, anti_aliasing=False).transpose(2, 0, 1)
    x, y = np.clip(x, 0.0, 1.0)[:, None], digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, random_state=seed
    )
    if val_size == 0:
        return DigitsSplit(x_rest, y_rest, x_rest[:0], y_rest[:0], x_test, y_test)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_size / (1 - test_size), stratify=y_rest, random_state=seed
    )
    return DigitsSplit(x_train, y_train, x_val, y_val, x_test, y_test)


def _fraction(value, name: str, allow_zero: bool) -> float:
    """``value`` as a float in [0, 1) (or (0, 1) when not ``allow_zero``)."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or not (0 <= value < 1) or (value == 0 and not allow_zero):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"{name} must be a fraction in {interval}, got {value!r}")
    return float(value)


# IDX type codes (third byte of the magic number) and the big-endian dtypes they stand for.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not, into a native-endian array.

    Layout: two zero bytes, a type code, the number of dimensions ``ndim``, ``ndim`` big-endian
    uint32 sizes, then the values, big-endian, row-major. Returns an array of that shape, e.g.
    (60000, 28, 28) uint8 for MNIST images. Raises ``ValueError`` naming the file when the magic
    number, the type code or the size does not match (a corrupt or truncated file).
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip magic number: decompress whatever the file's name
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise ValueError(f"{path} is not a valid gzip file: {error}") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise ValueError(f"{path} is not an IDX file: bad magic number {raw[:4].hex()!r}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path} has an unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: its header needs {header} bytes, has {len(raw)}")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = header + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        raise ValueError(
            f"{path} has {len(raw)} bytes, but an IDX file of shape {shape} and dtype "
            f"{dtype.name} has {expected} (truncated or corrupt)"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_mnist(folder, kind: str = "train", dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """MNIST (or Fashion-MNIST) from the standard IDX files already in ``folder``.

    kind: "train" or "t10k": reads ``{kind}-images-idx3-ubyte`` and ``{kind}-labels-idx1-ubyte``
    (each with or without ``.gz``; a ``.`` instead of the last ``-`` is accepted too). Nothing
    is downloaded. Returns x (N, 1, 28, 28) in [0, 1] of ``dtype`` (float32 by default: the
    training set takes 188 MB so, 376 MB in float64) and y (N,) int64.
    """
    if kind not in ("train", "t10k"):
        raise ValueError(f"kind must be 'train' or 't10k', got {kind!r}")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    images = read_idx(_find_idx(Path(folder), kind, "images", 3))
    labels = read_idx(_find_idx(Path(folder), kind, "labels", 1))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{folder} holds images of shape {images.shape} and labels of shape {labels.shape}; "
            "expected (N, H, W) and (N,)"
        )
    x = images[:, None].astype(dtype) / dtype.type(255)
    return x, labels.astype(np.int64)


def _find_idx(folder: Path, kind: str, what: str, ndim: int) -> Path:
    stems = (f"{kind}-{what}-idx{ndim}-ubyte", f"{kind}-{what}.idx{ndim}-ubyte")
    names = [stem + suffix for stem in stems for suffix in ("", ".gz")]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"none of {', '.join(names)} is in {folder}")


#: File name endings :func:`load_image_folder` reads; other files are ignored.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


def load_image_folder(root, size, gray: bool = False):
    """Every image under ``root/<class name>/`` as one array, labelled by its folder.

    root: a folder with one subfolder per class (sorted names give labels 0, 1, ...); files
    ending in :data:`IMAGE_SUFFIXES` are read with PIL, others ignored. size: int or pair
    ``(h, w)``; every image is resized to it (bilinear, anti-aliased). gray: one channel
    instead of three. Returns ``(x (N, C, h, w) float64 in [0, 1], y (N,) int64, class_names)``.
    Raises ``ValueError`` for a folder without images or an image that cannot be read.
    """
    files, labels, class_names = _scan_image_folder(root)
    shape = as_pair(size, "size")
    x = np.stack([_read_image(path, shape, gray) for path in files])
    return x, np.array(labels, dtype=np.int64), class_names


class ImageFolderDataset(torch.utils.data.Dataset):
    """The images of :func:`load_image_folder` as a torch Dataset, read one at a time.

    ``dataset[i]`` is ``(image (C, h, w) float32 tensor in [0, 1], label int)``, after
    ``transform(image)`` when one is given (such as an augmentation). ``classes`` holds the
    class names, ``targets`` every label. Files are listed (and checked) on creation but only
    read when asked for, so large folders cost no memory.
    """

    def __init__(self, root, size, gray: bool = False, transform=None):
        self.files, self.targets, self.classes = _scan_image_folder(root)
        self.size, self.gray, self.transform = as_pair(size, "size"), gray, transform
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {transform!r}")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        image = _read_image(self.files[index], self.size, self.gray)
        image = torch.from_numpy(image.astype(np.float32))
        if self.transform is not None:
            image = self.transform(image)
        return image, self.targets[index]


def _scan_image_folder(root) -> tuple[list[Path], list[int], list[str]]:
    """Image paths, their labels and the class names (sorted subfolder names) under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root must be an existing folder, got {str(root)!r}")
    class_names = sorted(d.name for d in root.iterdir() if d.is_dir())
    files, labels = [], []
    for label, name in enumerate(class_names):
        images = sorted(
            p for p in (root / name).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        files += images
        labels += [label] * len(images)
    if not files:
        raise ValueError(
            f"root {str(root)!r} has no images in class subfolders (root/<class>/<image>, "
            f"endings {', '.join(IMAGE_SUFFIXES)})"
        )
    return files, labels, class_names


def _read_image(path: Path, shape: tuple[int, int], gray: bool) -> np.ndarray:
    """One image file as float64 (C, h, w) in [0, 1]: C = 1 when ``gray``, else RGB."""
    try:
        with Image.open(path) as image:
            image = image.convert("L" if gray else "RGB")
            image = image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ValueError(f"cannot read image {path}: {error}") from None
    pixels = np.asarray(image, dtype=np.float64) / 255.0
    return pixels[None] if gray else pixels.transpose(2, 0, 1)
