"""The interactive CAM explorer: one widget for every lesson's model and data.

The model runs once, when the explorer is built. For CAM the feature maps
``(N, H, W, K)`` are cached and every change of a control is one
``(H*W, K) @ (K,)`` product and a redraw. For Grad-CAM each (image, class) map is
computed once on first view and cached.

>>> import numpy as np
>>> from cam_edu.course.models import build_gap_cnn
>>> explorer = cam_explorer(build_gap_cnn(), np.zeros((3, 28, 28, 1), "float32"))
>>> explorer.heatmap.shape  # the current map at feature resolution
(7, 7)
>>> explorer.klass.value = 4  # what a student's click does: a matmul and a redraw
>>> explorer.class_index
4

In a notebook, make the explorer the last line of a cell to display it.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cam_edu.cam import as_model_images, cam_head, class_probabilities
from cam_edu.localize import bbox_from_cam
from cam_edu.validate import as_class_index, as_features
from cam_edu.viz import UPSAMPLING_METHODS, as_display_image, normalize, upsample

COLORMAPS = ("jet", "viridis", "inferno", "magma", "turbo", "coolwarm")
METHODS = {"cam": "CAM", "gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++"}
PREDICTED = -1


class _CamSource:
    """CAM maps from cached features: ``heatmap(i, c)`` is ``f[i] @ w[:, c]``."""

    def __init__(self, model, images):
        head = cam_head(model)
        self.features = as_features(
            head.feature_model.predict(images, verbose=0),
            "the model's feature maps",
            check_layout=False,  # a Keras model's own output is channels last
        )
        self.kernel = head.kernel
        self.logits = head.logits(self.features)
        self.binary = head.binary
        self.layer = head.feature_layer

    def heatmap(self, i: int, c: int) -> np.ndarray:
        return self.features[i] @ self.kernel[:, c]


class _GradSource:
    """Grad-CAM / Grad-CAM++ maps, computed per (image, class) on first view."""

    def __init__(self, model, images, method, layer):
        from cam_edu import gradcam
        from cam_edu.layers import cut_model, last_spatial_layer

        self.fn = gradcam.grad_cam if method == "gradcam" else gradcam.grad_cam_plus_plus
        self.model, self.images = model, images
        self.layer = layer or last_spatial_layer(model)
        _, logits = cut_model(model, self.layer).predict(images, verbose=0)
        self.logits = np.asarray(logits, np.float32)
        self.binary = self.logits.shape[1] == 1  # one sigmoid unit: classes [-z, z]
        if self.binary:
            self.logits = np.concatenate([-self.logits, self.logits], axis=1)
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def heatmap(self, i: int, c: int) -> np.ndarray:
        if (i, c) not in self._cache:
            maps, _ = self.fn(self.model, self.images[i : i + 1], class_index=c, layer=self.layer)
            self._cache[(i, c)] = np.asarray(maps[0], np.float32)
        return self._cache[(i, c)]


class CamExplorer(widgets.VBox):
    """Controls (image, class, alpha, colormap, upsampling, threshold, box) and a picture.

    Build it with :func:`cam_explorer`. Useful attributes for tests and lessons:
    ``heatmap`` (the current raw map at feature resolution), ``box`` (the current
    box in display-image pixels or ``None``), ``redraw()``, and the control widgets
    ``image``, ``klass``, ``alpha``, ``cmap``, ``upsampling``, ``threshold``, ``show_box``.
    """

    def __init__(
        self,
        model,
        images,
        labels=None,
        class_names=None,
        method="cam",
        layer=None,
        display_images=None,
        top_k: int = 10,
    ):
        if method not in METHODS:
            raise ValueError(f"method must be one of {tuple(METHODS)}; got {method!r}.")
        x = as_model_images(images, model)
        if method == "cam":
            if layer is not None:
                raise ValueError(
                    f"layer={layer!r} is for Grad-CAM; CAM always uses the layer before global "
                    "pooling. "
                    "Use method='gradcam' to explain another layer."
                )
            self.source = _CamSource(model, x)
        else:
            self.source = _GradSource(model, x, method, layer)
        shown = x if display_images is None else display_images
        if len(shown) != len(x):
            raise ValueError(
                f"display_images has {len(shown)} images but images has {len(x)}; "
                "pass one display image per model input."
            )
        self.display = [as_display_image(im, f"display_images[{i}]") for i, im in enumerate(shown)]
        logits = self.source.logits
        self.labels = (
            None if labels is None else as_class_index(labels, logits.shape[1], len(x), "labels")
        )
        self.probs = class_probabilities(logits, self.source.binary)
        n_classes = logits.shape[1]
        if class_names is None:
            class_names = [str(c) for c in range(n_classes)]
        if len(class_names) != n_classes:
            raise ValueError(
                f"class_names has {len(class_names)} names but the model has {n_classes} classes."
            )
        self.class_names = list(class_names)
        self.method, self.top_k = method, top_k
        self._build_controls(len(x))
        self._build_figure()
        super().__init__([self._controls, self.caption, self.picture])
        self.redraw()

    def _build_controls(self, n_images: int) -> None:
        style = {"description_width": "80px"}
        self.image = widgets.IntSlider(0, 0, n_images - 1, description="image", style=style)
        self.klass = widgets.Dropdown(description="class", style=style)
        self.alpha = widgets.FloatSlider(
            0.5, min=0, max=1, step=0.05, description="alpha", style=style
        )
        self.cmap = widgets.Dropdown(
            options=COLORMAPS, value="jet", description="colormap", style=style
        )
        self.upsampling = widgets.Dropdown(
            options=UPSAMPLING_METHODS, value="bilinear", description="upsampling", style=style
        )
        self.threshold = widgets.FloatSlider(
            0.2, min=0.05, max=1.0, step=0.05, description="threshold", style=style
        )
        self.show_box = widgets.Checkbox(True, description="box (threshold × max)")
        self.caption = widgets.HTML()
        self.picture = widgets.Image(format="png")
        self._update_class_options()
        self.image.observe(self._on_image, names="value")
        for control in (
            self.klass,
            self.alpha,
            self.cmap,
            self.upsampling,
            self.threshold,
            self.show_box,
        ):
            control.observe(lambda _: self.redraw(), names="value")
        self._controls = widgets.HBox(
            [
                widgets.VBox([self.image, self.klass, self.alpha, self.cmap]),
                widgets.VBox([self.upsampling, self.threshold, self.show_box]),
            ]
        )

    def _update_class_options(self) -> None:
        probs = self.probs[self.image.value]
        order = np.argsort(-probs)
        shown = order if len(order) <= 20 else order[: self.top_k]
        options = [(f"predicted ({self.class_names[order[0]]})", PREDICTED)]
        options += [(f"{self.class_names[c]}  p={probs[c]:.2f}", int(c)) for c in shown]
        self.klass.options = options
        self.klass.value = PREDICTED

    def _on_image(self, _change) -> None:
        self._updating = True
        self._update_class_options()
        self._updating = False
        self.redraw()

    def _build_figure(self) -> None:
        """Lay the figure out once; redraws only blit the three images and the box."""
        fig = Figure(figsize=(9.6, 3.3), dpi=72, layout="constrained")
        FigureCanvasAgg(fig)
        ax_in, ax_ov, ax_raw = fig.subplots(1, 3)
        first = self.display[0]
        self._im_in = ax_in.imshow(first, interpolation="nearest", animated=True)
        self._im_ov = ax_ov.imshow(first, interpolation="nearest", animated=True)
        h, w = self.source.heatmap(0, 0).shape
        self._im_raw = ax_raw.imshow(
            np.zeros((h, w)), cmap="jet", vmin=0, vmax=1, interpolation="nearest", animated=True
        )
        colorbar = fig.colorbar(self._im_raw, ax=ax_raw, ticks=[0, 0.5, 1])
        colorbar.ax.set_yticklabels(["min", "mid", "max"])
        colorbar.set_label("map value (range in caption)")
        self._rect = mpl.patches.Rectangle(
            (0, 0), 1, 1, fill=False, color="white", lw=2, animated=True
        )
        ax_ov.add_patch(self._rect)
        for ax, title in (
            (ax_in, "input image"),
            (ax_ov, "overlay and box"),
            (ax_raw, f"raw map at feature resolution ({h}×{w})"),
        ):
            ax.set_title(title, fontsize=10)
        for ax in (ax_in, ax_ov):
            ax.set_xticks([])
            ax.set_yticks([])
        ax_raw.set_xlabel("x (feature cell)")
        ax_raw.set_ylabel("y (feature cell)")
        fig.canvas.draw()
        fig.set_layout_engine("none")
        self._background = fig.canvas.copy_from_bbox(fig.bbox)
        self._fig, self._axes, self._colorbar = fig, (ax_in, ax_ov, ax_raw), colorbar

    def _png(self) -> bytes:
        canvas = self._fig.canvas
        canvas.restore_region(self._background)
        for artist in (self._im_in, self._im_ov, self._im_raw, self._rect):
            self._fig.draw_artist(artist)
        buf = io.BytesIO()
        rgb = np.asarray(canvas.buffer_rgba())[..., :3]
        PIL.Image.fromarray(rgb).save(buf, format="png", compress_level=1)
        return buf.getvalue()

    @property
    def class_index(self) -> int:
        """The class shown: the chosen one, or the predicted one."""
        c = self.klass.value
        return int(np.argmax(self.probs[self.image.value])) if c == PREDICTED else int(c)

    def redraw(self) -> None:
        """Recompute the current map (no model call for CAM) and redraw the picture."""
        if getattr(self, "_updating", False):
            return
        i, c = self.image.value, self.class_index
        image = self.display[i]
        self.heatmap = self.source.heatmap(i, c)
        big = upsample(self.heatmap, image.shape[:2], method=self.upsampling.value)
        self.box = None
        if self.show_box.value and big.max() > 0:
            self.box = bbox_from_cam(big, self.threshold.value)
        colored = mpl.colormaps[self.cmap.value](normalize_quiet(big))[..., :3]
        alpha = self.alpha.value
        # The blend of cam_edu.viz.overlay, inlined on purpose: `big` is upsampled once and
        # also gives the box, while overlay() would validate, upsample and normalize again
        # (and warn on an all-zero map) on every slider step of this blitting hot path.
        self._im_in.set_data(image)
        self._im_ov.set_data(np.clip((1 - alpha) * image + alpha * colored, 0.0, 1.0))
        self._im_raw.set_data(normalize_quiet(self.heatmap))
        self._im_raw.set_cmap(self.cmap.value)
        self._rect.set_visible(self.box is not None)
        if self.box is not None:
            y0, x0, y1, x1 = self.box
            self._rect.set_bounds(x0 - 0.5, y0 - 0.5, x1 - x0, y1 - y0)
        self.picture.value = self._png()
        truth = (
            "" if self.labels is None else f"; true class: {self.class_names[int(self.labels[i])]}"
        )
        predicted = self.class_names[int(np.argmax(self.probs[i]))]
        box_text = (
            "no positive evidence, so no box"
            if self.box is None
            else f"box (y0, x0, y1, x1) = {self.box} at {self.threshold.value:.2f} × max"
        )
        self.caption.value = (
            f"Image {i}: predicted <b>{predicted}</b>{truth}. Showing the "
            f"{METHODS[self.method]} of <b>{self.class_names[c]}</b> (p = {self.probs[i, c]:.3f}, "
            f"logit {self.source.logits[i, c]:.3f}); raw map from {self.heatmap.min():.3f} "
            f"to {self.heatmap.max():.3f}; {box_text}."
        )


def normalize_quiet(heatmap: np.ndarray) -> np.ndarray:
    """:func:`cam_edu.viz.normalize` without the constant-map warning (a widget shows zeros)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return normalize(heatmap)


def cam_explorer(
    model,
    images,
    labels=None,
    class_names=None,
    method: str = "cam",
    layer: str | None = None,
    display_images=None,
) -> CamExplorer:
    """An ipywidgets explorer of CAM / Grad-CAM / Grad-CAM++ heatmaps.

    Args:
        model: a Keras model (a GAP -> Dense head for ``method="cam"``; any CNN otherwise).
        images: the model's input batch, shape ``(N, H, W, channels)``.
        labels: optional true labels ``(N,)``, shown in the title.
        class_names: optional ``C`` names; models with more than 20 classes show the
            top 10 per image.
        method: ``"cam"``, ``"gradcam"`` or ``"gradcam++"``.
        layer: Grad-CAM target layer (default: the last layer with a 4-D output).
        display_images: images to draw under the heatmap when ``images`` are
            preprocessed for the model (e.g. ResNet50's mean-subtracted BGR), ``(N, H, W, 3)``
            uint8 or float in ``[0, 1]``.

    Returns:
        a :class:`CamExplorer` (an ``ipywidgets.VBox``); display it as a cell's last line.

    >>> cam_explorer(model, x_test[:10], y_test[:10])  # doctest: +SKIP
    """
    return CamExplorer(model, images, labels, class_names, method, layer, display_images)
