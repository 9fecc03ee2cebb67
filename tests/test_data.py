"""Tests for coursepkg.data: shipped photos and synthetic images."""

import numpy as np
import pytest

from coursepkg import data


@pytest.mark.parametrize("name", data.PHOTOS)
def test_every_listed_photo_loads_offline_as_gray_in_unit_range(name):
    photo = data.load_photo(name, size=16)
    assert photo.shape == (16, 16)
    assert photo.dtype == np.float64
    assert 0.0 <= photo.min() <= photo.max() <= 1.0


def test_load_photo_default_is_the_full_size_camera():
    photo = data.load_photo()
    assert photo.shape == (512, 512)
    assert photo.max() > 0.9 and photo.min() < 0.1


def test_load_photo_in_colour_keeps_three_channels_and_resizes_to_a_pair():
    photo = data.load_photo("astronaut", size=(40, 30), gray=False)
    assert photo.shape == (40, 30, 3)
    assert 0.0 <= photo.min() <= photo.max() <= 1.0
    # A colour photo has channels that differ.
    assert np.abs(photo[..., 0] - photo[..., 2]).mean() > 0.01


def test_gray_photo_in_colour_repeats_the_gray_channel():
    photo = data.load_photo("coins", size=20, gray=False)
    assert photo.shape == (20, 20, 3)
    np.testing.assert_array_equal(photo[..., 0], photo[..., 1])
    np.testing.assert_array_equal(photo[..., 0], photo[..., 2])


def test_colour_photo_in_gray_is_its_luminance():
    gray = data.load_photo("astronaut", size=24)
    rgb = data.load_photo("astronaut", size=24, gray=False)
    luminance = rgb @ np.array([0.2125, 0.7154, 0.0721])
    assert np.abs(gray - luminance).max() < 0.02


def test_load_photo_rejects_unknown_names_listing_the_valid_ones():
    with pytest.raises(ValueError, match="name must be one of .*camera"):
        data.load_photo("lena")


@pytest.mark.parametrize("bad", [0, -3, 2.5, (4,), (4, 4, 4), "big", True])
def test_load_photo_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="size"):
        data.load_photo("camera", size=bad)


def test_integer_image_is_reproducible_whole_numbers_in_range():
    a = data.integer_image((5, 7), high=3, seed=1)
    b = data.integer_image((5, 7), high=3, seed=1)
    assert a.shape == (5, 7) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.round(a))
    assert a.min() >= 0 and a.max() <= 3
    assert not np.array_equal(a, data.integer_image((5, 7), high=3, seed=2))
    assert data.integer_image(4).shape == (4, 4)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"shape": 0}, "shape"), ({"high": 0}, "high"), ({"seed": -1}, "seed")],
)
def test_integer_image_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.integer_image(**kwargs)


def test_vertical_stripes_change_along_columns_only():
    image = data.stripes(size=12, period=4)
    assert image.shape == (12, 12)
    np.testing.assert_array_equal(image[0], [0, 0, 1, 1] * 3)
    assert np.all(image == image[0])  # every row is the same


def test_horizontal_stripes_are_the_transpose_of_vertical_ones():
    vertical = data.stripes(size=10, period=6)
    horizontal = data.stripes(size=10, period=6, orientation="horizontal")
    np.testing.assert_array_equal(horizontal, vertical.T)
    assert horizontal.flags.c_contiguous


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"size": 0}, "size"),
        ({"period": 1}, "period"),
        ({"orientation": "diagonal"}, "orientation"),
    ],
)
def test_stripes_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.stripes(**kwargs)
