"""Tests for the synthetic shapes of coursepkg.data: images, labels, masks and boxes agree."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursepkg import data


def test_shapes_have_the_documented_types_and_shapes():
    d = data.make_shapes(10, size=24, sizes=(6, 9), seed=3)
    assert d.images.shape == (10, 1, 24, 24) and d.images.dtype == np.float32
    assert d.labels.shape == (10,) and d.labels.dtype == np.int64
    assert d.masks.shape == (10, 24, 24) and d.masks.dtype == bool
    assert d.boxes.shape == (10, 4) and d.boxes.dtype == np.int64
    assert 0.0 <= d.images.min() <= d.images.max() <= 1.0


def test_the_same_seed_gives_the_same_images_and_another_seed_others():
    a, b, c = (data.make_shapes(12, seed=s) for s in (5, 5, 6))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.images, c.images)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), k=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_classes_are_balanced(n, k, seed):
    classes = data.SHAPES[:k]
    labels = data.make_shapes(n, size=16, sizes=(4, 8), classes=classes, seed=seed).labels
    counts = np.bincount(labels, minlength=k)
    assert counts.sum() == n and counts.max() - counts.min() <= 1
    assert set(labels) <= set(range(k))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), size=st.integers(8, 40))
def test_without_noise_or_clutter_the_mask_is_exactly_the_bright_pixels(seed, size):
    """The shape is painted at one brightness in [0.75, 1] over a background below 0.4."""
    d = data.make_shapes(6, size=size, sizes=(3, min(size, 12)), noise=0, clutter=0, seed=seed)
    for image, mask in zip(d.images[:, 0], d.masks, strict=True):
        assert mask.any()
        assert np.all(image[mask] == image[mask][0]) and image[mask][0] >= 0.75
        assert np.all(image[~mask] < 0.4)


def test_boxes_are_the_tight_boxes_of_the_masks_and_sides_are_in_range():
    d = data.make_shapes(40, size=32, sizes=(8, 14), seed=1)
    for mask, (top, left, bottom, right) in zip(d.masks, d.boxes, strict=True):
        assert mask[top:bottom, left:right].sum() == mask.sum()
        for edge in (mask[top], mask[bottom - 1], mask[:, left], mask[:, right - 1]):
            assert edge.any()  # each side of the box touches the shape
        assert 8 <= bottom - top <= 14 and 8 <= right - left <= 14


def test_each_label_draws_its_own_shape():
    d = data.make_shapes(20, sizes=(9, 9), noise=0, clutter=0, seed=2)
    for label, mask, (top, left, bottom, right) in zip(d.labels, d.masks, d.boxes, strict=True):
        expected = data.shape_mask(data.SHAPES[label], 9)
        np.testing.assert_array_equal(mask[top:bottom, left:right], expected)


def test_noise_and_clutter_change_the_background_but_the_shape_stays_brighter():
    d = data.make_shapes(50, noise=0.08, clutter=3, seed=4)
    inside = np.array([img[0][m].mean() for img, m in zip(d.images, d.masks, strict=True)])
    outside = np.array([img[0][~m].mean() for img, m in zip(d.images, d.masks, strict=True)])
    assert np.all(inside > outside + 0.4)
    clean = data.make_shapes(50, noise=0, clutter=0, seed=4)
    assert np.abs(d.images - clean.images).mean() > 0.02


@pytest.mark.parametrize("kind", data.SHAPES)
@pytest.mark.parametrize("side", [3, 8, 9, 14])
def test_shape_masks_touch_every_side_and_are_left_right_symmetric(kind, side):
    mask = data.shape_mask(kind, side)
    assert mask.shape == (side, side) and mask.dtype == bool
    assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()
    np.testing.assert_array_equal(mask, mask[:, ::-1])


def test_shape_masks_differ_between_classes():
    masks = [data.shape_mask(kind, 12) for kind in data.SHAPES]
    areas = [m.mean() for m in masks]
    assert areas[0] == 1.0 and abs(areas[1] - np.pi / 4) < 0.05
    assert abs(areas[2] - 0.5) < 0.1 and abs(areas[3] - 5 / 9) < 0.05


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n": 0}, "n"),
        ({"n": 2.5}, "n"),
        ({"size": 6}, "size"),
        ({"sizes": (2, 5)}, "sizes"),
        ({"sizes": (9, 8)}, "sizes"),
        ({"size": 16, "sizes": (8, 20)}, "sizes"),
        ({"noise": -0.1}, "noise"),
        ({"noise": 1.5}, "noise"),
        ({"noise": True}, "noise"),
        ({"clutter": -1}, "clutter"),
        ({"classes": ()}, "classes"),
        ({"classes": ("square", "square")}, "classes"),
        ({"classes": ("square", "star")}, "classes"),
        ({"classes": "star"}, "classes"),
        ({"seed": -1}, "seed"),
    ],
)
def test_make_shapes_rejects_bad_arguments_naming_them(kwargs, name):
    kwargs = {"n": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        data.make_shapes(**kwargs)


def test_a_single_class_name_is_accepted():
    assert set(data.make_shapes(5, classes="disc").labels) == {0}


@pytest.mark.parametrize(("kind", "side", "name"), [("star", 8, "kind"), ("disc", 2, "side")])
def test_shape_mask_rejects_bad_arguments(kind, side, name):
    with pytest.raises(ValueError, match=name):
        data.shape_mask(kind, side)
