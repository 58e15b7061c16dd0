"""The explorer as a student meets it, checked without a browser (widget level).

Each test names the defect of the explorer it guards against: the colours follow the
course's picture language (signed maps centred at 0, the others min-max) and the colorbar
shows the scale's numbers, the class menu lists each class once and keeps the chosen class
across images (also on a canvas with two digits of different classes),
the picture is rendered at the size the page shows it (times the pixel ratio), the raw
map has whole-number ticks, the caption gives the true class, a redraw does only the work
that changed, and preprocessed inputs (keras.applications) are shown rescaled.
The real-browser side of the same behaviour is in ``tests/test_browser.py``.
"""

import io

import keras
import matplotlib as mpl
import numpy as np
import PIL.Image
import pytest

import cam_edu.explorer.state as state_module
from cam_edu.explorer.state import ExplorerState, caption, description
from cam_edu.widgets import cam_explorer


def frame(explorer) -> np.ndarray:
    """The picture as the page shows it, decoded: ``(H, W, 3)`` uint8."""
    return np.asarray(PIL.Image.open(io.BytesIO(explorer.png())).convert("RGB"))


def panel(explorer, name: str) -> np.ndarray:
    p = explorer.figure.panels[name]
    return frame(explorer)[p.r0 : p.r1, p.c0 : p.c1]


PANELS = ("input", "overlay", "raw", "colorbar", "scale")


def sent(explorer) -> dict:
    """What the page has of each panel (a change of the trait is a message to the page)."""
    return {name: getattr(explorer.picture, name) for name in PANELS}


def changed_panels(before: dict, after: dict) -> set:
    return {name for name in PANELS if after[name] is not before[name]}


@pytest.fixture
def explorer(gap_model, digits):
    return cam_explorer(gap_model, digits, labels=np.arange(8), class_names=list("abcdefghij"))


# --- 1. the picture language: the colours follow the method's sign -----------------------


@pytest.mark.parametrize(("method", "cmap"), [("cam", "RdBu_r"), ("gradcam", "inferno")])
def test_the_colours_follow_the_sign_of_the_method(explorer, method, cmap):
    explorer.method_menu.value = method
    bar = panel(explorer, "colorbar")
    middle = bar[:, bar.shape[1] // 2].astype(int)  # one column, top (max) to bottom (min)
    colormap = mpl.colormaps[cmap]
    expected = colormap(np.linspace(1, 0, len(middle)), bytes=True)[:, :3].astype(int)
    error = np.abs(middle - expected).mean()
    assert error < 4, f"the colorbar does not show {cmap} (mean error {error:.1f} of 255)"
    heatmap, (vmin, vmax) = explorer.heatmap, explorer.view.limits
    if method == "cam":  # signed: centred at 0, symmetric, the largest |value| at an end
        assert vmin == -vmax == pytest.approx(-np.abs(heatmap).max())
    else:  # after the ReLU: min-max
        assert (vmin, vmax) == pytest.approx((heatmap.min(), heatmap.max()))
    top = np.array(colormap(1.0, bytes=True)[:3])
    raw = panel(explorer, "raw").reshape(-1, 3).astype(int)  # the same colours as the bar
    end = np.abs(raw - top).max(axis=1).min()
    assert end <= 3 or np.abs(heatmap).argmax() != heatmap.argmax()
    assert f"from {vmin:.3g} to {vmax:.3g}" in explorer.description


def test_the_colorbar_shows_the_numbers_of_the_scale(explorer):
    """The colorbar's labels are the map's real range, repainted with every map."""
    numbers = panel(explorer, "scale")
    explorer.klass.value = (explorer.class_index + 1) % 10
    assert not np.array_equal(numbers, panel(explorer, "scale")), "the numbers did not follow"
    dark = (panel(explorer, "scale").min(axis=-1) < 100).sum()
    assert dark > 50, "no text painted"


# --- 2. and 3. the class menu ---------------------------------------------------------------


def test_class_switching_on_a_canvas_with_two_digits_lights_each_digit():
    """The CAM paper's class discrimination, in the explorer's state (no kernel needed)."""
    from cam_edu.course.checkpoints import load_checkpoint
    from cam_edu.course.data import load_mnist_offline

    data = load_mnist_offline()
    model = load_checkpoint("canvas_gap")
    a, b = (int(np.flatnonzero(data.y_test == c)[0]) for c in (0, 1))
    canvas = np.zeros((1, 56, 56, 1), np.float32)
    canvas[0, 0:28, 0:28] = data.x_test[a]  # a 0 at the top left
    canvas[0, 28:56, 28:56] = data.x_test[b]  # a 1 at the bottom right
    state = ExplorerState(model, canvas)
    shares = {}
    for c, (inside, outside) in {0: ((0, 28), (28, 56)), 1: ((28, 56), (0, 28))}.items():
        state.choose_class(c)
        positive = np.maximum(state.view().big, 0)
        mine = positive[inside[0] : inside[1], inside[0] : inside[1]].sum()
        other = positive[outside[0] : outside[1], outside[0] : outside[1]].sum()
        shares[c] = mine / (mine + other)
        assert state.class_index == c
    # each class's map holds more of its positive mass on its own digit than the other
    # class's map does (here 0.81 vs 0.48 on the 0, 0.52 vs 0.19 on the 1)
    assert shares[0] - (1 - shares[1]) > 0.2, shares


# --- 2. and 3. the class menu ---------------------------------------------------------------


def test_the_class_menu_lists_each_class_once_and_every_entry_shows_another_map(explorer):
    values = [v for _, v in explorer.klass.options]
    assert sorted(values) == list(range(10)), "each class once, nothing else"
    labels = [label for label, _ in explorer.klass.options]
    assert len(set(labels)) == len(labels)
    assert sum("predicted" in label for label in labels) == 1
    pictures = set()
    for c in values:
        explorer.klass.value = c
        pictures.add(explorer.png())
    assert len(pictures) == len(values), "two menu entries show the same picture"


def test_the_chosen_class_is_kept_when_the_image_changes(explorer, gap_model, digits):
    logits = gap_model.predict(digits, verbose=0)
    assert explorer.follow.value and explorer.class_index == logits[0].argmax()
    c = (int(logits[0].argmax()) + 3) % 10
    explorer.klass.value = c
    assert not explorer.follow.value, "choosing a class is no longer following the prediction"
    assert "the chosen class" in explorer.caption.value
    for i in (1, 5, 2):
        explorer.image.value = i
        assert explorer.class_index == c and explorer.klass.value == c
        assert f"<b>{'abcdefghij'[c]}</b>, the chosen class" in explorer.caption.value
    explorer.follow.value = True  # "predicted" is one explicit choice
    assert explorer.class_index == logits[2].argmax()
    assert "the predicted class" in explorer.caption.value
    explorer.image.value = 6
    assert explorer.class_index == logits[6].argmax()


def test_many_classes_list_the_top_k_and_keep_the_chosen_one(digits):
    from cam_edu.course.models import build_gap_cnn

    model = build_gap_cnn(num_classes=30, filters=(4, 4, 8), seed=3)
    dense = model.layers[-1]
    kernel = np.random.default_rng(0).normal(0, 20, dense.kernel.shape)
    dense.kernel.assign(kernel.astype("float32"))  # rankings that differ from image to image
    images = np.stack([digits[0], 1 - digits[1], digits[2] ** 4, np.ones_like(digits[3])])
    explorer = cam_explorer(model, images)
    top = [set(np.argsort(-p)[:10].tolist()) for p in explorer.probs]
    assert len(explorer.klass.options) == 10
    i, j, c = next((i, j, c) for i in range(4) for j in range(4) for c in sorted(top[i] - top[j]))
    explorer.image.value = i
    explorer.klass.value = c  # one of image i's top 10, not of image j's
    explorer.image.value = j
    assert explorer.class_index == c
    assert [v for _, v in explorer.klass.options].count(c) == 1
    assert len(explorer.klass.options) == 11  # image j's top 10, and the chosen class


# --- 4. rendered at the size it is shown ------------------------------------------------------


def test_the_picture_is_rendered_at_the_shown_width_times_the_pixel_ratio(explorer):
    figure = explorer.picture.figure
    w0, h0 = figure["size"]
    assert (w0, h0) == PIL.Image.open(io.BytesIO(explorer.png())).size
    assert figure["css_width"] == w0  # before the page reports: 1 pixel per CSS pixel
    explorer.picture.pixel_ratio = 2.0  # what the page reports on a high-density screen
    explorer.picture.available_width = 964
    figure = explorer.picture.figure
    w, h = figure["size"]
    assert figure["css_width"] == 964 and w == 2 * 964
    assert PIL.Image.open(io.BytesIO(figure["background"])).size == (w, h)
    assert PIL.Image.open(io.BytesIO(explorer.png())).size == (w, h)
    assert abs(h / w - h0 / w0) < 0.01, "the layout is scaled, not squeezed"
    for name, p in figure["panels"].items():  # every panel lies inside the frame
        assert 0 <= p["r0"] < p["r1"] <= h and 0 <= p["c0"] < p["c1"] <= w, name
    explorer.picture.available_width = 980  # a few pixels more: not worth a new layout
    assert explorer.picture.figure is figure
    explorer.picture.available_width = 800  # less room: rendered smaller, never stretched
    assert explorer.picture.figure["css_width"] == 800
    assert explorer.picture.figure["size"][0] == 1600
    explorer.picture.available_width = 500  # never narrower than the lessons' column
    assert explorer.picture.figure["css_width"] == 740


def test_the_page_gets_each_panel_at_its_data_resolution(explorer):
    """What the page paints (each panel enlarged as _Panel.index says) is the kernel's frame."""
    explorer.picture.available_width = 900
    frame_now = frame(explorer)
    background = np.asarray(PIL.Image.open(io.BytesIO(explorer.picture.figure["background"])))
    page = background[..., :3].copy()
    for name, p in explorer.picture.figure["panels"].items():
        panel = explorer.picture.figure["panels"][name]
        tile = getattr(explorer.picture, name)
        h, w = tile["shape"]
        rgb = np.frombuffer(tile["rgb"], np.uint8).reshape(h, w, 3)
        # the page's rule, in the page's arithmetic (see _PICTURE_ESM's index)
        rows = [
            min(h - 1, int((r + 0.5 - p["top"]) / p["height"] * h)) for r in range(p["r0"], p["r1"])
        ]
        cols = [
            min(w - 1, int((c + 0.5 - p["left"]) / p["width"] * w)) for c in range(p["c0"], p["c1"])
        ]
        pixels = rgb[np.ix_(rows, cols)]
        for r0, r1, c0, c1, level in tile["box"]:
            pixels[r0:r1, c0:c1] = level
        page[panel["r0"] : panel["r1"], panel["c0"] : panel["c1"]] = pixels
    np.testing.assert_array_equal(page, frame_now)
    # 112 x 112 (a fine outline of a 28 x 28 digit), not the enlarged panel
    assert len(explorer.picture.overlay["rgb"]) == 112 * 112 * 3


# --- 5. whole-number ticks on the raw map ---------------------------------------------------


def test_the_raw_map_has_whole_number_ticks(digits):
    from cam_edu.course.models import build_flatten_cnn

    model = build_flatten_cnn(filters=(4, 8, 8), seed=4)
    explorer = cam_explorer(model, digits, method="gradcam", layer="conv2")
    assert explorer.heatmap.shape == (14, 14)
    ax = explorer.figure.fig.axes[2]
    for ticks in (ax.get_xticks(), ax.get_yticks()):
        visible = [t for t in ticks if -0.5 <= t <= 13.5]
        assert len(visible) >= 3 and all(float(t).is_integer() for t in visible), ticks


@pytest.mark.parametrize(
    ("image_shape", "map_shape", "unit"),
    [
        ((32, 64), (8, 32), "feature cell"),
        ((32, 64), (32, 64), "pixel"),
        ((28, 28), (7, 7), "feature cell"),
    ],
)
def test_the_raw_maps_tick_labels_never_overlap(image_shape, map_shape, unit):
    """A beam's map is 4 times wider than high: its few rows get as many ticks as they have
    room for, so the labels never stack (nor on a digit's square map)."""
    from cam_edu.explorer.render import DEFAULT_WIDTH, ExplorerFigure

    figure = ExplorerFigure(image_shape, map_shape, unit, "CAM value")
    for width in (DEFAULT_WIDTH, 2 * DEFAULT_WIDTH):
        figure.layout(width)
        ax = figure.fig.axes[2]
        for labels, ends in ((ax.get_yticklabels(), "y"), (ax.get_xticklabels(), "x")):
            low, high = sorted(ax.get_ylim() if ends == "y" else ax.get_xlim())
            shown = [t for t in labels if low <= t.get_position()[ends == "y"] <= high]
            assert len(shown) >= 2, [t.get_text() for t in labels]
            boxes = [t.get_window_extent() for t in shown]
            for a, b in zip(boxes, boxes[1:], strict=False):
                assert not a.overlaps(b), [t.get_text() for t in shown]


# --- 6. the caption says the true class ------------------------------------------------------


def test_the_caption_shows_the_true_class_and_the_picture_does_not_need_a_title(explorer):
    assert "true class: <b>a</b>" in explorer.caption.value
    assert "true class" not in " ".join(ax.get_title() for ax in explorer.figure.fig.axes)


# --- only the work that changed -------------------------------------------------------------


def test_a_change_repaints_and_sends_only_the_panels_it_changes(explorer):
    layout = explorer.picture.figure
    before = sent(explorer)
    explorer.alpha.value = 0.8
    after = sent(explorer)
    assert changed_panels(before, after) == {"overlay"}
    explorer.upsampling.value = "nearest"
    assert changed_panels(after, sent(explorer)) == {"overlay"}
    before = sent(explorer)
    explorer.klass.value = (explorer.class_index + 1) % 10
    assert changed_panels(before, sent(explorer)) == {"overlay", "raw", "scale"}
    before = sent(explorer)
    explorer.image.value = 1
    assert changed_panels(before, sent(explorer)) == {"input", "overlay", "raw", "scale"}
    before = sent(explorer)
    explorer.threshold.value = 0.9
    assert changed_panels(before, sent(explorer)) <= {"overlay"}
    assert explorer.picture.figure is layout, "no new layout, no new background"


def test_upsampled_maps_are_cached_per_image_and_class(explorer, monkeypatch):
    calls = []
    upsample = state_module.upsample
    monkeypatch.setattr(state_module, "upsample", lambda *a: calls.append(a[1:]) or upsample(*a))
    explorer.klass.value = 4
    explorer.image.value = 1
    assert len(calls) == 4  # each new map: at the image's size (its box) and the picture's
    explorer.alpha.value = 0.3
    explorer.threshold.value = 0.5
    explorer.image.value = 0
    explorer.klass.value = 4
    assert len(calls) == 4, "a map seen before was upsampled again"
    explorer.upsampling.value = "nearest"
    assert len(calls) == 6 and calls[-1][1] == "nearest"


def test_the_state_works_without_a_kernel(gap_model, digits):
    """Image, class, method, view options and caption as plain Python."""
    state = ExplorerState(gap_model, digits, class_names=list("abcdefghij"))
    state.choose_class(3)
    state.choose_image(5)
    assert (state.image, state.class_index, state.follow) == (5, 3, False)
    state.threshold, state.show_box = 0.5, False
    view = state.view()
    assert view.box is None and "no box" in caption(state, view)
    state.choose_method("gradcam")
    view = state.view()
    assert not view.signed and view.heatmap.min() >= 0
    assert "Grad-CAM map of image 5 for class d" in description(state, view)
    state.follow_prediction(True)
    assert state.class_index == state.predicted[5]


# --- issue 11: preprocessed inputs, public features -------------------------------------------


@pytest.fixture(scope="module")
def mobilenet():
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=5)


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (3, 96, 96, 3)).astype(np.uint8)


@pytest.mark.parametrize(
    "preprocess", ["mobilenet_v2", "resnet50"], ids=["[-1, 1]", "caffe mean-subtracted BGR"]
)
def test_preprocessed_inputs_are_shown_rescaled_with_a_note(mobilenet, photos, preprocess):
    module = getattr(keras.applications, preprocess)
    x = module.preprocess_input(photos.astype("float32"))
    assert x.min() < -0.5 or x.max() > 1.5
    explorer = cam_explorer(mobilenet, x)  # no display_images
    assert "display_images=" in explorer.notice.value
    assert explorer.notice in explorer.children, "the note is in the widget"
    for shown in explorer.display:
        assert shown.min() >= 0 and shown.max() <= 1 and shown.max() - shown.min() > 0.5
    explorer.image.value = 2
    explorer.klass.value = 3
    assert explorer.png().startswith(b"\x89PNG")
    assert explorer.heatmap.shape == explorer.features.shape[1:3] == (3, 3)
    with_photos = cam_explorer(mobilenet, x, display_images=photos)
    assert with_photos.notice not in with_photos.children and not with_photos.notice.value
    np.testing.assert_allclose(with_photos.display[0], photos[0] / 255.0, atol=1e-6)


def test_inputs_in_0_1_need_no_note(explorer, digits):
    assert not explorer.notice.value and explorer.notice not in explorer.children
    np.testing.assert_allclose(explorer.display[0][..., 0], digits[0, ..., 0], atol=1e-6)


def test_features_are_public_and_computed_once(gap_model, digits):
    from cam_edu.cam import cam_head
    from cam_edu.course.models import build_flatten_cnn
    from cam_edu.layers import cut_model

    explorer = cam_explorer(gap_model, digits)
    expected = cam_head(gap_model).feature_model.predict(digits, verbose=0)
    np.testing.assert_allclose(explorer.features, expected, atol=1e-6)
    model = build_flatten_cnn(filters=(4, 8, 8), seed=4)
    grad = cam_explorer(model, digits, method="gradcam", layer="conv2")
    activation, _ = cut_model(model, "conv2")(digits)
    np.testing.assert_allclose(grad.features, activation, atol=1e-6)


def test_a_saved_picture_is_the_picture_shown(explorer):
    """A notebook saves the picture's state; pages without a kernel paint it from there."""
    from ipywidgets.embed import embed_data

    from cam_edu.widgets import ExplorerPicture

    explorer.klass.value = 3
    explorer.picture.available_width = 800
    state = embed_data(views=[explorer.picture], drop_defaults=False)["manager_state"]["state"]
    saved = state[explorer.picture.model_id]  # as the notebook's widget state holds it
    png, alt = ExplorerPicture.saved_picture(saved)
    picture = PIL.Image.open(io.BytesIO(png))
    np.testing.assert_array_equal(np.asarray(picture.convert("RGB")), frame(explorer))
    assert alt == explorer.description and "class d" in alt and "CAM map of image 0" in alt
    assert ExplorerPicture.saved_png({"model_name": "ImageModel", "state": {}}) is None


# --- the method menu: every method of the registry ------------------------------------------


def test_the_method_menu_offers_every_registry_method(explorer):
    from cam_edu.methods import METHODS

    assert list(explorer.method_menu.options[i][1] for i in range(6)) == list(METHODS)
    explorer.method_menu.value = "gradcam++"
    assert explorer.method == "gradcam++" and "Grad-CAM++" in explorer.caption.value
    explorer.method_menu.value = "occlusion"  # a map at image resolution: a new layout
    assert explorer.heatmap.shape == (28, 28)
    assert "pixel resolution (28×28)" in " ".join(explorer.figure.fig.axes[2].get_title().split())
    explorer.method_menu.value = "cam"
    assert explorer.heatmap.shape == (7, 7) and explorer.status.value == ""


def test_a_slow_method_is_computed_once_per_image_and_class_and_says_so(explorer, monkeypatch):
    from cam_edu.perturbation import ScoreCAM

    calls, notes = [], []
    original = ScoreCAM.explain

    def counted(self, x, class_index=None, forward=None):
        calls.append(class_index)
        notes.append(explorer.status.value)  # what the student reads while it runs
        return original(self, x, class_index, forward)

    monkeypatch.setattr(ScoreCAM, "explain", counted)
    explorer.method_menu.value = "scorecam"
    assert len(calls) == 1 and "Computing the Score-CAM map of image 0" in notes[0]
    assert explorer.status.value == ""  # the note goes when the map is there
    first = explorer.heatmap.copy()
    explorer.image.value = 1
    explorer.alpha.value = 0.3
    explorer.image.value = 0
    explorer.method_menu.value = "cam"
    explorer.method_menu.value = "scorecam"
    assert len(calls) == 2  # image 0 and image 1, each once
    np.testing.assert_array_equal(explorer.heatmap, first)


def test_lime_in_the_explorer_uses_square_superpixels(gap_model, digits, monkeypatch):
    from cam_edu import methods

    lime = methods.METHODS["lime"]
    monkeypatch.setitem(
        methods.METHODS, "lime", lime._replace(interactive={**lime.interactive, "num_samples": 20})
    )
    explorer = cam_explorer(gap_model, digits[:2], method="lime")
    assert explorer.heatmap.shape == (28, 28) and explorer.features is None
    assert len(np.unique(explorer.heatmap)) > 2  # 64 squares, not quickshift's 1 or 2


def test_an_unknown_method_is_refused_with_the_list_of_methods(gap_model, digits, explorer):
    with pytest.raises(ValueError, match=r"method must be one of \('cam', 'gradcam'.*'lime'\)"):
        cam_explorer(gap_model, digits, method="smoothgrad")
    with pytest.raises(Exception, match="Invalid selection"):
        explorer.method_menu.value = "smoothgrad"  # the menu offers only what exists


# --- the picture language at the size it is shown ---------------------------------------------


def test_text_is_at_least_9_points_at_100_pixels_per_inch(explorer):
    """Every title, label, tick and number is at least 12.5 CSS pixels (9 pt at the course's
    100 pixels per inch) at the default width, and at the narrowest the page can ask for."""
    from cam_edu.explorer.controls import WIDTH_RANGE
    from cam_edu.viz import MAX_WIDTH_IN

    assert explorer.picture.figure["css_width"] == WIDTH_RANGE[0] == 100 * MAX_WIDTH_IN
    for available, ratio in ((None, 1.0), (300, 1.0), (300, 2.0)):  # default; a narrow page
        if available is not None:
            explorer.picture.pixel_ratio = ratio
            explorer.picture.available_width = available
        figure = explorer.figure
        assert explorer.picture.figure["css_width"] == WIDTH_RANGE[0]
        texts = [t for t in figure.fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text()]
        texts = [t for t in texts if t.get_color() != figure.fig.get_facecolor()]
        assert len(texts) >= 8, [t.get_text() for t in texts]  # 3 titles, 3 labels, ticks
        for text in texts:
            css_px = text.get_fontsize() * figure.fig.dpi / 72 / ratio
            assert css_px >= 12.5, (text.get_text(), css_px)
        titles = [ax.title for ax in figure.fig.axes[:3]]
        assert all(t.get_fontsize() * figure.fig.dpi / 72 / ratio >= 13.8 for t in titles)
        assert figure.number_px / ratio >= 12.5


def test_the_box_is_dashed_white_on_dark_as_in_the_lessons_figures(explorer):
    """viz.draw_box's found box: white dashes BOX_PT wide, dashes and gaps FOUND_DASH line
    widths long, on a dark line as much wider; the explorer paints the same pattern."""
    from cam_edu.viz import BOX_PT, FOUND_DASH

    figure = explorer.figure
    width = BOX_PT * figure.fig.dpi / 72  # the white line, in device pixels
    bands = figure.box_bands((6, 6, 22, 22), (28, 28))
    across = [b for b in bands if b[1] - b[0] < 5]  # the horizontal sides' bands
    top = min(b[0] for b in across if b[4] == 255)
    dashes = sorted(b[2:4] for b in across if b[4] == 255 and b[0] == top)
    assert len(dashes) >= 5, dashes
    lengths = [c1 - c0 for c0, c1 in dashes[1:-1]]  # the first and last reach the corners
    gaps = [b[0] - a[1] for a, b in zip(dashes, dashes[1:], strict=False)]
    assert all(abs(n - FOUND_DASH[0] * width) <= 1 for n in lengths), (lengths, width)
    assert all(abs(g - FOUND_DASH[1] * width) <= 1 for g in gaps), (gaps, width)
    white_rows = {b[1] - b[0] for b in across if b[4] == 255 and b[0] == top}
    dark_rows = {b[1] - b[0] for b in across if b[4] == 25 and b[2:4] == dashes[1]}
    assert white_rows and dark_rows and min(dark_rows) > max(white_rows)  # the dark edge
    # the picture shows them: white on the dashes, the map in the gaps
    explorer.threshold.value = 0.05
    box = explorer.box
    if box is not None:
        p = figure.panels["overlay"]
        overlay = frame(explorer)[p.r0 : p.r1, p.c0 : p.c1]
        painted = figure.box_bands(box, explorer.display[0].shape)
        for r0, r1, c0, c1, level in painted[-4:]:
            assert (overlay[r0:r1, c0:c1] == level).all()


def test_the_explorer_reads_the_state_not_the_last_repaint(explorer):
    """heatmap, box, view and description are the state's now, whatever was painted last."""
    explorer.state.choose_class((explorer.class_index + 1) % 10)  # no widget event
    np.testing.assert_array_equal(explorer.heatmap, explorer.state.view().heatmap)
    assert explorer.box == explorer.state.view().box
    assert explorer.description == description(explorer.state, explorer.state.view())
