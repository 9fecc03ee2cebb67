"""Tests for coursepkg.plotting: each helper returns a Figure whose content we can inspect."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from coursepkg import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def test_use_style_sets_a_white_background_and_hides_top_right_spines():
    with matplotlib.rc_context():
        plotting.use_style()
        assert matplotlib.rcParams["figure.facecolor"] == "white"
        assert matplotlib.rcParams["savefig.facecolor"] == "white"
        assert not matplotlib.rcParams["axes.spines.top"]
        assert not matplotlib.rcParams["axes.spines.right"]
        assert 60 <= matplotlib.rcParams["figure.dpi"] <= 100


def test_show_images_draws_one_titled_axis_per_image_in_a_grid():
    images = [
        np.zeros((4, 5)),
        np.ones((4, 5)),
        np.eye(4),
        np.full((3, 3, 3), 0.5),
        np.ones((2, 2)),
    ]
    fig = plotting.show_images(images, titles=list("abcde"), ncols=3, suptitle="grid")
    assert len(fig.axes) == 6  # a 2 x 3 grid, the last cell left empty
    drawn = visible_axes(fig)
    assert [ax.get_title() for ax in drawn] == list("abcde")
    np.testing.assert_array_equal(drawn[2].images[0].get_array(), np.eye(4))
    assert all(not ax.axison for ax in fig.axes)
    assert fig._suptitle.get_text() == "grid"


def test_show_images_accepts_a_stack_and_defaults_to_one_row_of_at_most_four():
    fig = plotting.show_images(np.zeros((6, 3, 3)))
    assert len(fig.axes) == 8
    assert len(visible_axes(fig)) == 6
    assert fig.axes[0].get_title() == ""


def test_show_images_symmetric_centres_a_diverging_colormap_at_zero():
    signed = np.array([[-1.0, 0.5], [2.0, 0.0]])
    fig = plotting.show_images([signed, np.zeros((2, 2))], symmetric=True)
    first, zeros = (ax.images[0] for ax in visible_axes(fig))
    assert first.get_clim() == (-2.0, 2.0)
    assert first.get_cmap().name == plotting.DIVERGING
    assert zeros.get_clim() == (-1.0, 1.0)  # an all-zero map still gets a valid range


def test_show_images_symmetric_can_be_chosen_per_image():
    photo, signed = np.full((2, 2), 0.5), np.array([[-1.0, 3.0]])
    fig = plotting.show_images([photo, signed], symmetric=[False, True])
    first, second = (ax.images[0] for ax in visible_axes(fig))
    assert first.get_cmap().name == "gray"
    assert second.get_cmap().name == plotting.DIVERGING and second.get_clim() == (-3.0, 3.0)


def test_show_images_symmetric_keeps_a_colormap_it_is_given():
    fig = plotting.show_images([np.array([[-1.0, 1.0]])], symmetric=True, cmap="PuOr")
    assert fig.axes[0].images[0].get_cmap().name == "PuOr"


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        ([], {}, "images"),
        ([np.zeros(3)], {}, r"images\[0\]"),
        ([np.zeros((2, 2, 5))], {}, r"images\[0\]"),
        ([np.zeros((2, 2))], {"titles": ["a", "b"]}, "titles"),
        ([np.zeros((2, 2))], {"ncols": 0}, "ncols"),
        ([np.zeros((2, 2))], {"symmetric": [True, False]}, "symmetric"),
    ],
)
def test_show_images_rejects_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.show_images(images, **kwargs)


def test_show_feature_maps_names_channels_and_is_symmetric():
    maps = np.stack([np.full((3, 3), -1.0), np.full((3, 3), 3.0)])
    fig = plotting.show_feature_maps(maps)
    drawn = visible_axes(fig)
    assert [ax.get_title() for ax in drawn] == ["channel 0", "channel 1"]
    assert drawn[1].images[0].get_clim() == (-3.0, 3.0)
    fig = plotting.show_feature_maps(maps, titles=["neg", "pos"], suptitle="maps")
    assert [ax.get_title() for ax in visible_axes(fig)] == ["neg", "pos"]


def test_show_feature_maps_needs_channels_first():
    with pytest.raises(ValueError, match="maps"):
        plotting.show_feature_maps(np.zeros((3, 3)))


def test_show_kernel_writes_every_number_in_its_cell():
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    fig = plotting.show_kernel(sobel, title="Sobel x")
    (ax,) = fig.axes
    assert ax.get_title() == "Sobel x"
    assert [t.get_text() for t in ax.texts] == ["-1", "0", "1", "-2", "0", "2", "-1", "0", "1"]
    assert ax.images[0].get_clim() == (-2.0, 2.0)
    assert all(spine.get_visible() for spine in ax.spines.values())


def test_show_kernel_draws_on_a_given_axis_with_decimals_when_needed():
    fig, axes = plt.subplots(1, 2)
    returned = plotting.show_kernel(np.full((2, 2), 0.25), ax=axes[1])
    assert returned is fig
    assert [t.get_text() for t in axes[1].texts] == ["0.25"] * 4
    assert not axes[0].texts


def test_show_kernel_rejects_non_2d_kernels():
    with pytest.raises(ValueError, match="kernel"):
        plotting.show_kernel(np.ones((1, 3, 3)))


def test_show_sliding_window_shows_the_window_and_the_output_so_far():
    image = np.arange(16.0).reshape(4, 4)
    kernel = np.ones((2, 2))
    fig = plotting.show_sliding_window(image, kernel, [(0, 0), (1, 2)])
    assert len(fig.axes) == 4  # input row and output row, one column per step
    top, _, bottom, last = fig.axes
    np.testing.assert_array_equal(top.images[0].get_array(), image)
    assert top.get_title() == "step 1: window at (0, 0)"
    assert len(top.patches) == 4  # one highlighted pixel per kernel tap
    assert bottom.get_title() == "output[0, 0] = 10"
    partial = np.ma.filled(bottom.images[0].get_array(), np.nan)
    assert partial[0, 0] == 10 and np.isnan(partial).sum() == 8
    partial = np.ma.filled(last.images[0].get_array(), np.nan)
    assert np.isnan(partial).sum() == 3  # six of the nine outputs are done at (1, 2)
    assert last.get_title() == "output[1, 2] = 34"
    assert "10" in [t.get_text() for t in bottom.texts]


def test_show_sliding_window_follows_stride_and_dilation():
    image = np.arange(49.0).reshape(7, 7)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]])
    fig = plotting.show_sliding_window(
        image, kernel, [(1, 1)], stride=2, dilation=3, annotate=False
    )
    top, bottom = fig.axes
    corners = sorted((p.get_x() + 0.5, p.get_y() + 0.5) for p in top.patches)
    assert corners == [(2, 2), (2, 5), (5, 2), (5, 5)]  # (x, y) of the four taps
    assert top.get_title() == "step 1: window at (2, 2)"
    # output[1, 1] = image[2, 2] - image[5, 5]
    assert bottom.get_title() == "output[1, 1] = -24"
    assert not top.texts


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"positions": []}, "positions"),
        ({"positions": [(3, 0)]}, "positions"),
        ({"positions": [(0, 0, 0)]}, "positions"),
        ({"kernel": np.ones((5, 2))}, "kernel must fit"),
        ({"dilation": 4}, "kernel must fit"),
        ({"stride": 0}, "stride"),
        ({"image": np.ones(4)}, "image"),
    ],
)
def test_show_sliding_window_rejects_bad_input(kwargs, match):
    args = {"image": np.ones((4, 4)), "kernel": np.ones((2, 2)), "positions": [(0, 0)]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        plotting.show_sliding_window(**args)
