"""Upsampling, normalization, overlays, boxes from heatmaps and IoU."""

import numpy as np
import pytest

from cam_edu.localize import bbox_from_cam, box_accuracy, box_area, iou
from cam_edu.viz import (
    MAX_WIDTH_IN,
    map_norm,
    normalize,
    outline,
    overlay,
    plot_cam_grid,
    upsample,
)


def test_upsample_shapes_and_constant_maps():
    assert upsample(np.ones((7, 7)), (224, 224)).shape == (224, 224)
    assert upsample(np.ones((3, 7, 7)), (28, 14)).shape == (3, 28, 14)
    np.testing.assert_allclose(upsample(np.full((7, 7), 2.5), (28, 28)), 2.5, atol=1e-6)


def test_nearest_upsampling_repeats_cells():
    m = np.arange(4, dtype=np.float32).reshape(2, 2)
    np.testing.assert_array_equal(
        upsample(m, (4, 4), method="nearest"), np.kron(m, np.ones((2, 2)))
    )


def test_upsample_identity_size_and_bad_method():
    m = np.random.default_rng(0).random((5, 6))
    np.testing.assert_allclose(upsample(m, (5, 6)), m, atol=1e-6)
    with pytest.raises(ValueError, match="method must be one of"):
        upsample(m, (10, 12), method="cubic")
    with pytest.raises(ValueError, match="size must be"):
        upsample(m, (10,))


def test_normalize_range_batch_and_relu():
    m = np.array([[[-2.0, 0.0], [2.0, 6.0]], [[1.0, 1.0], [1.0, 3.0]]])
    out = normalize(m)
    np.testing.assert_allclose(out[0], [[0, 0.25], [0.5, 1.0]])
    np.testing.assert_allclose(out[1], [[0, 0], [0, 1.0]])
    np.testing.assert_allclose(normalize(m[0], relu=True), [[0, 0], [1 / 3, 1.0]])


def test_normalize_constant_map_is_zero_not_nan():
    with pytest.warns(UserWarning, match="constant"):
        out = normalize(np.full((4, 4), 3.0))
    assert np.all(out == 0) and not np.isnan(out).any()


def test_normalize_rejects_nan():
    m = np.ones((3, 3))
    m[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        normalize(m)


def test_overlay_blends_grey_image_and_colormap():
    image = np.zeros((28, 28, 3), np.uint8)  # a photo: drawn in grey under the map
    heat = np.zeros((7, 7))
    heat[3, 3] = 1.0
    out = overlay(image, heat, alpha=1.0, cmap="gray")
    assert out.shape == (28, 28, 3)
    assert out[14, 14].mean() > 0.9 and out[0, 0].mean() < 0.05
    np.testing.assert_allclose(overlay(image, heat, alpha=0.0), 0.0)


def test_overlay_draws_a_photo_in_grey_so_every_colour_is_the_maps():
    photo = np.zeros((8, 8, 3), np.float32)
    photo[..., 0] = 1.0  # pure red
    out = overlay(photo, np.zeros((2, 2)), alpha=0.0)
    np.testing.assert_allclose(out[..., 0], 0.299, atol=1e-6)  # Rec. 601 luma of red
    np.testing.assert_allclose(out[..., 0], out[..., 2])


def test_signed_overlay_is_white_at_zero_and_red_for_evidence():
    heat = np.zeros((4, 4))
    heat[0, 0], heat[3, 3] = 2.0, -2.0
    out = overlay(np.zeros((4, 4)), heat, signed=True, method="nearest")
    assert out[1, 1].min() > 0.9  # 0 is the diverging map's white
    assert out[0, 0, 0] > 0.3 > out[0, 0, 2]  # for the class: red
    assert out[3, 3, 2] > 0.3 > out[3, 3, 0]  # against it: blue


def test_overlay_outlines_a_digit_in_white_with_a_dark_edge():
    digit = np.zeros((8, 8))
    digit[2:6, 2:6] = 1.0
    out = overlay(digit, np.ones((2, 2)), size=(16, 16))
    assert out.shape == (16, 16, 3)
    edge = outline(digit, (16, 16))
    assert (out[edge > 0] == 1.0).all() and np.allclose(out[edge < 0], 0.1)
    assert (edge != 0).sum() > 0 and edge[8, 8] == 0  # the line, not the inside


def test_map_norm_is_symmetric_for_signed_maps_and_min_max_otherwise():
    m = np.array([[-1.0, 3.0]])
    assert (map_norm(m, signed=True).vmin, map_norm(m, signed=True).vmax) == (-3.0, 3.0)
    assert (map_norm(m, signed=False).vmin, map_norm(m, signed=False).vmax) == (-1.0, 3.0)
    assert map_norm(m, signed=True, vmax=5).vmin == -5.0


def test_overlay_rejects_0_255_floats():
    with pytest.raises(ValueError, match="expected \\[0, 1\\]"):
        overlay(np.full((8, 8), 200.0), np.ones((2, 2)))


def test_plot_cam_grid_has_a_labelled_colorbar_and_titles():
    fig = plot_cam_grid(
        np.zeros((3, 28, 28)),
        np.random.default_rng(0).random((3, 7, 7)),
        titles=["a", "b", "c"],
        ncols=2,
        suptitle="grid",
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert {"a", "b", "c"} <= set(titles)
    assert any(ax.get_ylabel() == "min-max per panel" for ax in fig.axes)
    assert fig.get_figwidth() <= MAX_WIDTH_IN


def test_plot_cam_grid_on_a_common_signed_scale_is_centred_at_zero():
    maps = np.stack([np.full((7, 7), 1.0), np.full((7, 7), -4.0)])
    fig = plot_cam_grid(np.zeros((2, 28, 28)), maps, signed=True, scale="common", label="CAM")
    bar = next(ax for ax in fig.axes if ax.get_ylabel() == "CAM")
    assert bar.get_ylim() == (-4.0, 4.0)


@pytest.mark.parametrize("box", [(2, 3, 5, 8), (0, 0, 1, 1), (10, 20, 32, 32), (0, 0, 32, 32)])
def test_bbox_of_a_known_rectangle(box):
    m = np.zeros((32, 32))
    y0, x0, y1, x1 = box
    m[y0:y1, x0:x1] = 1.0
    if box == (0, 0, 32, 32):
        with pytest.warns(UserWarning, match="constant"):
            assert bbox_from_cam(m) == box
    else:
        assert bbox_from_cam(m) == box


def test_bbox_keeps_the_largest_component_not_the_highest_peak():
    m = np.zeros((40, 40))
    m[2:4, 2:4] = 1.0  # tiny, highest
    m[20:35, 10:30] = 0.5  # big, above 20 % of max
    assert bbox_from_cam(m, threshold=0.2) == (20, 10, 35, 30)
    assert bbox_from_cam(m, threshold=0.6) == (2, 2, 4, 4)


def test_bbox_of_a_gaussian_blob_grows_as_threshold_falls():
    yy, xx = np.mgrid[0:64, 0:64]
    blob = np.exp(-((yy - 20) ** 2 + (xx - 40) ** 2) / (2 * 6.0**2))
    tight, loose = bbox_from_cam(blob, 0.8), bbox_from_cam(blob, 0.2)
    for b in (tight, loose):
        assert b[0] <= 20 < b[2] and b[1] <= 40 < b[3]
    assert (loose[2] - loose[0]) > (tight[2] - tight[0])
    # exp(-r^2 / 2s^2) >= 0.2  <=>  r <= s * sqrt(2 ln 5) = 10.77 pixels
    assert loose == (10, 30, 31, 51)


def test_bbox_of_a_map_without_positive_evidence():
    with pytest.raises(ValueError, match="no region"):
        bbox_from_cam(-np.ones((5, 5)))


def test_iou_known_values():
    assert iou((0, 0, 2, 2), (0, 0, 2, 2)) == 1.0
    assert iou((0, 0, 2, 2), (2, 2, 4, 4)) == 0.0
    assert iou((0, 0, 2, 2), (0, 0, 2, 4)) == 0.5
    assert iou((0, 0, 4, 4), (2, 2, 6, 6)) == pytest.approx(4 / 28)


def test_iou_rejects_flipped_boxes():
    with pytest.raises(ValueError, match="y0 < y1"):
        iou((5, 0, 2, 2), (0, 0, 1, 1))


def test_box_accuracy_on_blobs_with_known_boxes():
    """Three maps: an exact hit, a box that overlaps the truth by IoU 1/3, and no evidence."""
    maps = np.zeros((3, 20, 20), np.float32)
    maps[0, 2:6, 3:9] = 1.0  # box (2, 3, 6, 9), area 24
    maps[1, 10:14, 10:16] = 1.0  # box (10, 10, 14, 16)
    maps[2] = -1.0  # all negative: no box
    truths = [(2, 3, 6, 9), (10, 13, 14, 19), (0, 0, 5, 5)]
    score = box_accuracy(maps, truths)
    assert score.boxes == [(2, 3, 6, 9), (10, 10, 14, 16), None]
    assert score.accuracy == pytest.approx(1 / 3)
    assert score.mean_iou == pytest.approx((1.0 + iou((10, 10, 14, 16), truths[1]) + 0.0) / 3)
    assert iou((10, 10, 14, 16), truths[1]) == pytest.approx(12 / 36)
    assert score.mean_area == pytest.approx(24.0)  # the missing box is left out of the area
    assert box_accuracy(maps, truths, min_iou=0.3).accuracy == pytest.approx(2 / 3)


def test_box_area():
    assert box_area((2, 3, 6, 9)) == 24.0
    with pytest.raises(ValueError, match="empty or flipped"):
        box_area((5, 5, 5, 9))


def test_bbox_joins_regions_that_touch_only_at_a_corner():
    """The CAM paper's connected components use 8-connectivity: a diagonal chain of
    cells is one region (4-connectivity would box a single cell)."""
    m = np.zeros((6, 6))
    for i in range(4):
        m[i + 1, i + 1] = 1.0  # a diagonal: no two cells share an edge
    assert bbox_from_cam(m) == (1, 1, 5, 5)


def test_share_in_box_against_a_hand_computation():
    from cam_edu.localize import share_in_box

    m = np.array(
        [
            [1.0, 2.0, 0.0, -5.0],
            [3.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 4.0, 0.0],
            [0.0, -1.0, 0.0, 10.0],
        ]
    )
    # positive mass 1 + 2 + 3 + 4 + 10 = 20; the box rows 0-2, columns 0-2 holds 1 + 2 + 3 + 4
    shares = share_in_box(np.stack([m, np.maximum(m, 0), -m]), [(0, 0, 3, 3)] * 3)
    np.testing.assert_allclose(shares[:2], [10 / 20, 10 / 20])  # negatives do not count
    assert shares[2] == 0.0  # -m: its positive mass, 5 and 1, lies outside the box
    whole = share_in_box(m[None], [(0, 0, 4, 4)])
    np.testing.assert_array_equal(whole, [1.0])
    assert np.isnan(share_in_box(-np.abs(m)[None], [(0, 0, 2, 2)])[0])  # nothing positive


def test_share_in_box_rejects_bad_input():
    from cam_edu.localize import share_in_box

    maps = np.ones((2, 4, 4))
    with pytest.raises(ValueError, match="one box per map"):
        share_in_box(maps, [(0, 0, 2, 2)])
    with pytest.raises(ValueError, match="outside the image"):
        share_in_box(maps, [(0, 0, 2, 2), (0, 0, 5, 2)])
    with pytest.raises(ValueError, match="whole pixel"):
        share_in_box(maps, [(0, 0, 2, 2), (0, 0, 1.5, 2)])
    with pytest.raises(ValueError, match="batch"):
        share_in_box(np.ones((4, 4)), [(0, 0, 2, 2)])


def test_ink_box_of_a_drawn_digit_and_its_level():
    from cam_edu.localize import ink_box

    image = np.zeros((28, 28, 1))
    image[5:20, 9, 0] = 1.0  # a stroke, rows 5-19 of column 9
    image[12, 9:16, 0] = 0.8  # a bar to column 15
    image[25, 25, 0] = 0.3  # a faint speck: below half the maximum, not ink
    assert ink_box(image) == (5, 9, 20, 16)
    assert ink_box(image[..., 0], level=0.2) == (5, 9, 26, 26)  # the speck counts now
    assert ink_box(image, level=0.9) == (5, 9, 20, 10)  # only the brightest stroke


def test_ink_box_rejects_an_empty_or_colour_image_and_a_bad_level():
    from cam_edu.localize import ink_box

    with pytest.raises(ValueError, match="no ink"):
        ink_box(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="one image"):
        ink_box(np.ones((8, 8, 3)))
    with pytest.raises(ValueError, match="level"):
        ink_box(np.ones((8, 8)), level=50)
    with pytest.raises(ValueError, match="NaN|finite"):
        ink_box(np.full((8, 8), np.nan))


def test_a_window_is_drawn_dotted_unlike_found_and_true_boxes():
    import matplotlib.pyplot as plt

    from cam_edu.viz import TRUTH_COLOR, draw_box, draw_window

    fig, ax = plt.subplots()
    window = draw_window(ax, (13, 5, 28, 23), image_shape=(28, 28))
    found, truth = draw_box(ax, (1, 1, 5, 5)), draw_box(ax, (1, 1, 5, 5), truth=True)
    styles = {r.get_linestyle() for r in (window, found, truth)}
    assert len(styles) == 3  # three kinds of box, three line styles
    assert window.get_edgecolor()[:3] != truth.get_edgecolor()[:3]
    assert truth.get_edgecolor()[:3] == pytest.approx(plt.matplotlib.colors.to_rgb(TRUTH_COLOR))
    # pixel edges; its bottom, on the image's border, 1 pixel inside (see the next test)
    assert (window.get_x(), window.get_y(), window.get_width(), window.get_height()) == (
        4.5,
        12.5,
        18,
        14,
    )
    with pytest.raises(ValueError, match="outside the image"):
        draw_window(ax, (13, 5, 30, 23), image_shape=(28, 28))
    plt.close(fig)


def test_a_truth_tick_points_at_its_column_from_below_and_hides_no_pixel_of_the_picture():
    import matplotlib.pyplot as plt

    from cam_edu.viz import TRUTH_COLOR, mark_truth_tick, show_image

    def render(tick_at=None):
        fig, ax = plt.subplots(figsize=(3, 2), dpi=100, layout="constrained")
        show_image(ax, np.random.default_rng(0).uniform(size=(8, 16)))
        tick = None if tick_at is None else mark_truth_tick(ax, tick_at)
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
        box = ax.get_window_extent()
        tip = None if tick is None else ax.transData.transform((tick_at, 0))[0]
        plt.close(fig)
        return pixels, box, tip

    plain, box, _ = render()
    marked, box_marked, tip = render(11.5)
    assert box_marked.bounds == pytest.approx(box.bounds)  # same layout, so comparable
    rows = slice(plain.shape[0] - int(box.y1) + 1, plain.shape[0] - int(box.y0) - 1)
    inside = (rows, slice(int(box.x0) + 1, int(box.x1) - 1))
    assert np.array_equal(plain[inside], marked[inside])  # the picture is untouched
    below = (slice(plain.shape[0] - int(box.y0), None), slice(None))
    truth = plt.matplotlib.colors.to_rgb(TRUTH_COLOR)
    green = np.all(np.abs(marked[below] / 255 - truth) < 0.1, axis=-1)
    columns = np.flatnonzero(green.any(axis=0))
    assert columns.size > 0 and abs(columns.mean() - tip) < 2  # drawn under column 11.5


@pytest.mark.parametrize("truth", [False, True])
def test_a_box_of_the_whole_image_shows_its_four_sides(truth):
    """A box on the image's border would lie on the axes' frame, its top and left sides
    hidden under it: its sides are drawn 1 pixel inside, and each one shows in the figure."""
    import matplotlib.pyplot as plt

    from cam_edu.viz import draw_box, show_map

    fig, ax = plt.subplots(figsize=(3, 3), dpi=100)
    blob = np.zeros((28, 28))
    blob[10:18, 10:18] = 1.0  # inferno: black around it, where the box lies
    whole = (0, 0, 28, 28)
    show_map(
        ax, blob, signed=False, box=None if truth else whole, truth_box=whole if truth else None
    )
    rect = ax.patches[-1]
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (0.5, 0.5, 26, 26)
    inner = draw_box(ax, (3, 3, 20, 20), image_shape=(28, 28))  # inside: on the pixel edges
    assert (inner.get_x(), inner.get_y(), inner.get_width(), inner.get_height()) == (
        2.5,
        2.5,
        17,
        17,
    )
    inner.remove()
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    x0, y0, x1, y1 = np.round(ax.get_window_extent().extents).astype(int)
    image = rgb[rgb.shape[0] - y1 : rgb.shape[0] - y0, x0:x1]  # the map's pixels on the canvas
    if truth:  # TRUTH_COLOR, a bright green
        line = (image[..., 1] > 150) & (image[..., 0] < 100)
    else:  # white dashes
        line = image.min(axis=-1) > 200
    band = 2 * image.shape[0] // 28  # the outer 2 pixels of the image
    sides = {
        "top": line[:band].any(axis=0).mean(),
        "bottom": line[-band:].any(axis=0).mean(),
        "left": line[:, :band].any(axis=1).mean(),
        "right": line[:, -band:].any(axis=1).mean(),
    }
    least = 0.9 if truth else 0.45  # dashes cover 3 of every 5 line widths
    assert all(share > least for share in sides.values()), sides
    plt.close(fig)
