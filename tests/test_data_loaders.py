"""Tests for the training-data loaders of coursepkg.data: digits, IDX files, image folders.

Every file read here is written by the test itself; nothing is downloaded.
"""

import gzip

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from coursepkg import data

# --------------------------------------------------------------------------------------------
# scikit-learn digits
# --------------------------------------------------------------------------------------------


def test_digits_split_sizes_dtypes_and_range():
    split = data.load_digits_split()
    assert (len(split.y_train), len(split.y_val), len(split.y_test)) == (1257, 180, 360)
    assert split.x_train.shape[1:] == (1, 8, 8) and split.x_train.dtype == np.float64
    assert split.y_test.dtype == np.int64
    everything = np.concatenate([split.x_train, split.x_val, split.x_test])
    assert everything.min() == 0.0 and everything.max() == 1.0


def test_digits_split_is_fixed_by_the_seed_and_parts_do_not_overlap():
    first, again, other = (data.load_digits_split(seed=s) for s in (0, 0, 1))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.y_train, other.y_train)
    flat = [x.reshape(len(x), -1) for x in (first.x_train, first.x_val, first.x_test)]
    rows = [{row.tobytes() for row in part} for part in flat]
    # The digits hold a few duplicate images, so allow a handful shared between parts.
    assert len(rows[0] & rows[2]) <= 3 and len(rows[1] & rows[2]) <= 3
    assert sum(map(len, flat)) == 1797


def test_digits_split_is_stratified():
    split = data.load_digits_split(test_size=0.3, val_size=0.2)
    for y in (split.y_train, split.y_val, split.y_test):
        counts = np.bincount(y, minlength=10) / len(y)
        np.testing.assert_allclose(counts, 0.1, atol=0.02)


def test_digits_split_resizes_for_lenet():
    split = data.load_digits_split(size=32)
    assert split.x_train.shape[1:] == (1, 32, 32)
    assert 0.0 <= split.x_test.min() and split.x_test.max() <= 1.0
    small = data.load_digits_split()
    # Resizing keeps the split: the same digits in the same order.
    np.testing.assert_array_equal(small.y_train, split.y_train)


def test_digits_split_without_validation_data():
    split = data.load_digits_split(val_size=0)
    assert split.x_val.shape == (0, 1, 8, 8) and len(split.y_train) == 1437


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"test_size": 0}, "test_size"),
        ({"test_size": 1.0}, "test_size"),
        ({"val_size": -0.1}, "val_size"),
        ({"val_size": "0.1"}, "val_size"),
        ({"test_size": 0.6, "val_size": 0.5}, "test_size \\+ val_size"),
        ({"seed": -1}, "seed"),
        ({"size": 0}, "size"),
    ],
)
def test_digits_split_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.load_digits_split(**kwargs)


# --------------------------------------------------------------------------------------------
# IDX files (MNIST format)
# --------------------------------------------------------------------------------------------

CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def _idx_bytes(array: np.ndarray) -> bytes:
    """An array encoded as an IDX file, the way MNIST's files are written."""
    code = CODES[array.dtype.str[1:]]
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("compressed", [False, True])
def test_read_idx_round_trips_every_type(tmp_path, dtype, compressed):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "u1":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = _idx_bytes(array)
    path = tmp_path / ("a.idx.gz" if compressed else "a.idx")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    read = data.read_idx(path)
    assert read.dtype == np.dtype(dtype) and read.dtype.isnative
    np.testing.assert_array_equal(read, array)


def test_read_idx_reads_an_empty_array(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(_idx_bytes(np.zeros((0, 28), np.uint8)))
    assert data.read_idx(path).shape == (0, 28)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "magic"),
        (b"\x01\x00\x08\x01" + b"\x00" * 8, "magic"),
        (b"\x00\x00\x07\x01" + b"\x00" * 4, "type code"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "header"),
        (_idx_bytes(np.zeros((3, 2), np.uint8))[:-1], "truncated"),
        (_idx_bytes(np.zeros((3, 2), np.uint8)) + b"\x00", "corrupt"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_read_idx_rejects_corrupt_files_naming_them(tmp_path, raw, message):
    path = tmp_path / "broken-idx"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=message) as error:
        data.read_idx(path)
    assert "broken-idx" in str(error.value)


def _write_mnist(folder, kind, n, compressed, dot=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    sep = "." if dot else "-"
    for what, ndim, array in (("images", 3, images), ("labels", 1, labels)):
        raw = _idx_bytes(array)
        name = f"{kind}-{what}{sep}idx{ndim}-ubyte" + (".gz" if compressed else "")
        (folder / name).write_bytes(gzip.compress(raw) if compressed else raw)
    return images, labels


@pytest.mark.parametrize(
    ("kind", "compressed", "dot"), [("train", False, False), ("t10k", True, False), ("t10k", 0, 1)]
)
def test_load_mnist_reads_the_standard_files(tmp_path, kind, compressed, dot):
    images, labels = _write_mnist(tmp_path, kind, 5, compressed, dot)
    x, y = data.load_mnist(tmp_path, kind)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0] * 255, images, atol=1e-4)
    np.testing.assert_array_equal(y, labels)
    assert y.dtype == np.int64


def test_load_mnist_in_float64(tmp_path):
    _write_mnist(tmp_path, "train", 2, True)
    assert data.load_mnist(tmp_path, dtype=np.float64)[0].dtype == np.float64


def test_load_mnist_names_the_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)


def test_load_mnist_rejects_images_and_labels_that_do_not_pair(tmp_path):
    _write_mnist(tmp_path, "train", 3, False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(2, np.uint8)))
    with pytest.raises(ValueError, match="expected"):
        data.load_mnist(tmp_path)


def test_load_mnist_rejects_a_bad_kind(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        data.load_mnist(tmp_path, kind="test")


def test_load_mnist_rejects_an_integer_dtype(tmp_path):
    with pytest.raises(TypeError, match="dtype"):
        data.load_mnist(tmp_path, dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Image folders
# --------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    """Two classes of small images: red PNGs of cats (one RGBA), blue JPEGs of dogs."""
    (tmp_path / "cat").mkdir()
    (tmp_path / "dog").mkdir()
    Image.new("RGB", (10, 6), (255, 0, 0)).save(tmp_path / "cat" / "a.png")
    Image.new("RGBA", (7, 7), (255, 0, 0, 128)).save(tmp_path / "cat" / "b.PNG")
    Image.new("RGB", (12, 12), (0, 0, 255)).save(tmp_path / "dog" / "c.jpg")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "README").write_text("files beside the class folders are ignored")
    return tmp_path


def test_load_image_folder_labels_images_by_their_folder(folder):
    x, y, names = data.load_image_folder(folder, size=4)
    assert names == ["cat", "dog"]
    assert x.shape == (3, 3, 4, 4) and x.dtype == np.float64
    np.testing.assert_array_equal(y, [0, 0, 1])
    np.testing.assert_allclose(x[0, :, 0, 0], [1, 0, 0])
    np.testing.assert_allclose(x[2, :, 0, 0], [0, 0, 1], atol=0.02)  # JPEG is lossy


def test_load_image_folder_in_gray_with_a_pair_size(folder):
    x, _, _ = data.load_image_folder(folder, size=(3, 5), gray=True)
    assert x.shape == (3, 1, 3, 5)
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_image_folder_dataset_feeds_a_dataloader(folder):
    dataset = data.ImageFolderDataset(folder, size=4, transform=lambda img: img * 2)
    assert len(dataset) == 3 and dataset.classes == ["cat", "dog"]
    image, label = dataset[2]
    assert image.shape == (3, 4, 4) and image.dtype == torch.float32 and label == 1
    assert torch.allclose(image[2], torch.tensor(2.0), atol=0.05)
    x, y = next(iter(DataLoader(dataset, batch_size=3)))
    assert x.shape == (3, 3, 4, 4) and y.tolist() == [0, 0, 1]


def test_image_folder_dataset_without_transform(folder):
    image, _ = data.ImageFolderDataset(folder, size=2, gray=True)[0]
    assert image.shape == (1, 2, 2)


def test_image_folder_dataset_rejects_a_transform_that_is_not_callable(folder):
    with pytest.raises(TypeError, match="transform"):
        data.ImageFolderDataset(folder, size=4, transform="flip")


def test_load_image_folder_names_an_unreadable_image(folder):
    (folder / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        data.load_image_folder(folder, size=4)


@pytest.mark.parametrize("layout", ["empty", "no class folders", "empty class folders"])
def test_load_image_folder_rejects_a_folder_without_images(tmp_path, layout):
    if layout == "no class folders":
        Image.new("RGB", (4, 4)).save(tmp_path / "loose.png")
    if layout == "empty class folders":
        (tmp_path / "cat").mkdir()
    with pytest.raises(ValueError, match="no images"):
        data.load_image_folder(tmp_path, size=4)


def test_load_image_folder_rejects_a_missing_root(tmp_path):
    with pytest.raises(ValueError, match="root"):
        data.load_image_folder(tmp_path / "nowhere", size=4)


@pytest.mark.parametrize("bad", [0, (4, 0), "big"])
def test_load_image_folder_rejects_a_bad_size(folder, bad):
    with pytest.raises(ValueError, match="size"):
        data.load_image_folder(folder, size=bad)
