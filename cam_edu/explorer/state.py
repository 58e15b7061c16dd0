"""The explorer's state as plain Python: image, class, method, view options, caption, cache.

No widget here: a test (or a script) sets the state's fields and reads the map, the box,
the colour scale and the caption, without a kernel or a page.

>>> import numpy as np
>>> from cam_edu.course.models import build_gap_cnn
>>> state = ExplorerState(build_gap_cnn(), np.zeros((3, 28, 28, 1), "float32"))
>>> state.choose_class(4)
>>> state.class_index, state.follow
(4, False)
>>> view = state.view()
>>> view.heatmap.shape, view.signed, view.limits[0] == -view.limits[1]
((7, 7), True, True)
>>> description(state, view)[:40]
'The CAM map of image 0 for class 4 (pred'
"""

from __future__ import annotations

import html
import math
import warnings
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from cam_edu.cam import cam_head, class_probabilities
from cam_edu.explorer.sources import MapSource
from cam_edu.inputs import as_model_images
from cam_edu.layers import explained_output, require_model
from cam_edu.localize import bbox_from_cam
from cam_edu.methods import METHODS
from cam_edu.validate import as_class_index
from cam_edu.viz import (
    Underlay,
    as_display_image,
    default_alpha,
    map_norm,
    min_max,
    underlay,
    upsample,
)

CACHE_BYTES = 64e6  # upsampled maps kept per explorer
OUTLINE_PIXELS = 112  # a one-channel image's picture is at least this many pixels high


class View(NamedTuple):
    """What the picture shows for the current state.

    Attributes:
        image: the display image, float RGB ``(H, W, 3)`` in ``[0, 1]``.
        under: what the map is drawn over (:class:`cam_edu.viz.Underlay`), at the
            picture's size: the image's, or at least 112 pixels high for a one-channel
            input (its outline then stays thin).
        heatmap: the raw map ``(h, w)``.
        big: the map upsampled to the image ``(H, W)`` (the box is found on it).
        picture: the map upsampled to the underlay's size.
        signed: drawn on the diverging colormap centred at 0 (else min-max).
        limits: ``(vmin, vmax)`` of the colour scale.
        box: ``(y0, x0, y1, x1)`` in image pixels, or ``None`` (not shown, or no
            positive value).
    """

    image: np.ndarray
    under: Underlay
    heatmap: np.ndarray
    big: np.ndarray
    picture: np.ndarray
    signed: bool
    limits: tuple[float, float]
    box: tuple | None


class MapCache:
    """The maps as the picture draws them, kept: each map upsampled to its image (where its
    box is found) and to the picture's size, its boxes, and the images' underlays.

    Args:
        display: the images drawn, float RGB ``(H, W, 3)`` in ``[0, 1]``.
        grey: the images are one-channel (digits, beams): drawn outlined, at least
            :data:`OUTLINE_PIXELS` high; else photos, in grey at their own size.

    Upsampled maps are kept up to :data:`CACHE_BYTES` (least recently used go first).
    """

    def __init__(self, display: list, grey: bool):
        self.display, self.grey = display, grey
        self._under: dict[int, Underlay] = {}
        self._maps: OrderedDict[tuple, tuple[np.ndarray, np.ndarray, dict]] = OrderedDict()

    def underlay(self, i: int) -> Underlay:
        """What image ``i``'s maps are drawn over, made once."""
        if i not in self._under:
            image = self.display[i][..., :1] if self.grey else self.display[i]
            k = math.ceil(OUTLINE_PIXELS / image.shape[0]) if self.grey else 1
            self._under[i] = underlay(image, (image.shape[0] * k, image.shape[1] * k))
        return self._under[i]

    def maps(self, i: int, key: tuple, heatmap: np.ndarray, upsampling: str):
        """``(big, picture)``: the map ``heatmap`` of image ``i`` (``key`` names it: class
        and method) upsampled to the image and to the underlay, computed once."""
        found = self._entry(i, key, heatmap, upsampling)
        return found[0], found[1]

    def box(self, i: int, key: tuple, heatmap: np.ndarray, upsampling: str, threshold: float):
        """The box of the map at ``threshold`` x its maximum, in image pixels, or ``None``
        when the map has no positive value; found once per threshold."""
        big, _, boxes = self._entry(i, key, heatmap, upsampling)
        threshold = round(float(threshold), 6)
        if threshold not in boxes:
            with warnings.catch_warnings():  # a constant map: its box is the whole image
                warnings.simplefilter("ignore")
                boxes[threshold] = bbox_from_cam(big, threshold) if big.max() > 0 else None
        return boxes[threshold]

    def _entry(self, i: int, key: tuple, heatmap: np.ndarray, upsampling: str):
        full = (i, *key, upsampling)
        if full in self._maps:
            self._maps.move_to_end(full)
            return self._maps[full]
        big = upsample(heatmap, self.display[i].shape[:2], upsampling)
        size = self.underlay(i).grey.shape
        picture = big if size == big.shape else upsample(heatmap, size, upsampling)
        self._maps[full] = (big, picture, {})
        while len(self._maps) > max(8, CACHE_BYTES // (2 * (big.nbytes + picture.nbytes) + 1)):
            self._maps.popitem(last=False)
        return self._maps[full]


class ExplorerState:
    """Everything the explorer shows, and the maps it computed.

    Args:
        model: a Keras model (a GAP -> Dense head for ``method="cam"``).
        images: the model's inputs ``(N, H, W, channels)``.
        labels, class_names, method, layer, display_images, output: as
            :func:`cam_edu.widgets.cam_explorer`.
        top_k: classes listed per image for models with more than 20 classes.
        notify: called with what a slow method computes (``""`` when done).

    The view options are plain attributes: ``alpha``, ``upsampling``, ``threshold``,
    ``show_box``; the choices are ``image``, ``class_index`` (through :meth:`choose_class`,
    :meth:`choose_image`, :meth:`follow_prediction`) and ``method`` (:meth:`choose_method`).
    """

    def __init__(
        self,
        model,
        images,
        labels=None,
        class_names=None,
        method: str = "cam",
        layer=None,
        display_images=None,
        top_k: int = 10,
        notify=None,
        output=None,
    ):
        _check_method(method)
        if layer is not None and not METHODS[method].uses_layer:
            takes = ", ".join(repr(k) for k, m in METHODS.items() if m.uses_layer)
            raise ValueError(
                f"layer={layer!r} is for the methods that explain a layer ({takes}); "
                f"{METHODS[method].display_name} does not take one (CAM always reads the layer "
                "before global pooling). Use method='gradcam' to explain another layer."
            )
        self.output = explained_output(require_model(model), output, "the explorer")
        self.model, self.x, self.layer = model, as_model_images(images, model), layer
        self.notify, self.method = notify, method
        self._sources: dict[str, MapSource] = {}
        source = self.source
        self.display, self.notice = display_images_of(images, self.x, display_images)
        n_classes = source.logits.shape[1]
        self.labels = (
            None if labels is None else as_class_index(labels, n_classes, len(self.x), "labels")
        )
        self.probs = class_probabilities(source.logits, source.binary)
        self.predicted = self.probs.argmax(axis=1)
        names = [str(c) for c in range(n_classes)] if class_names is None else list(class_names)
        if len(names) != n_classes:
            raise ValueError(
                f"class_names has {len(names)} names but the model has {n_classes} classes."
            )
        self.class_names, self.top_k = names, top_k
        self.image, self.class_index, self.follow = 0, int(self.predicted[0]), True
        self.grey = all(np.ptp(im, axis=-1).max() == 0 for im in self.display)
        self.alpha = default_alpha(self.display[0][..., :1] if self.grey else self.display[0])
        self.upsampling, self.threshold, self.show_box = "bilinear", 0.2, True
        self.cache = MapCache(self.display, self.grey)

    # ------------------------------------------------------------------ choices

    @property
    def source(self) -> MapSource:
        """The current method's maps, made on first use and kept."""
        if self.method not in self._sources:
            self._sources[self.method] = MapSource(
                self.model, self.x, self.method, self.layer, self.notify, self.output
            )
        return self._sources[self.method]

    def choose_image(self, i: int) -> None:
        """Show image ``i``: its predicted class when following it, else the same class."""
        self.image = int(i)
        if self.follow:
            self.class_index = int(self.predicted[self.image])

    def choose_class(self, c: int) -> None:
        """Show class ``c``, kept when the image changes (no longer following the prediction)."""
        self.class_index = int(c)
        if c != self.predicted[self.image]:
            self.follow = False

    def follow_prediction(self, follow: bool) -> None:
        """Show each image's predicted class (``True``), or keep the chosen one."""
        self.follow = bool(follow)
        if self.follow:
            self.class_index = int(self.predicted[self.image])

    def choose_method(self, method: str) -> None:
        """Show another method's map of the same image and class (computed once, kept)."""
        _check_method(method)
        self.method = method

    def method_options(self) -> list[tuple[str, str]]:
        """The method menu: every registry method (one that needs a CAM head only if the
        model has one)."""
        options = []
        for key, method in METHODS.items():
            if method.needs_cam_head and key != self.method:
                try:
                    cam_head(self.model, self.output)
                except ValueError:
                    continue
            slow = "  (slow, computed per image)" if method.slow else ""
            options.append((method.display_name + slow, key))
        return options

    def class_options(self) -> list[tuple[str, int]]:
        """The class menu of the current image: ``(label, class)``; the predicted class and
        the chosen one are always listed (the top ``top_k`` for many classes)."""
        i, c = self.image, self.class_index
        probs, predicted = self.probs[i], int(self.predicted[i])
        if len(probs) <= 20:
            shown = list(range(len(probs)))
        else:
            shown = [int(k) for k in np.argsort(-probs)[: self.top_k]]
            shown = shown if c in shown else [*shown, c]
        return [
            (
                f"{self.class_names[k]}  p={probs[k]:.2f}"
                + ("  (predicted)" if k == predicted else ""),
                int(k),
            )
            for k in shown
        ]

    # ------------------------------------------------------------------ what is shown

    def view(self) -> View:
        """The current map, its colour scale and its box (maps upsampled once, kept)."""
        i, key = self.image, (self.class_index, self.method)
        heatmap = self.source.heatmap(i, self.class_index)
        signed = self.source.method.signed
        norm = map_norm(heatmap, signed)
        big, picture = self.cache.maps(i, key, heatmap, self.upsampling)
        box = (
            self.cache.box(i, key, heatmap, self.upsampling, self.threshold)
            if self.show_box
            else None
        )
        under = self.cache.underlay(i)
        limits = (norm.vmin, norm.vmax)
        return View(self.display[i], under, heatmap, big, picture, signed, limits, box)


def scale_label(state: ExplorerState) -> str:
    """What the colours show, for the colorbar: the method, and signed or after a ReLU."""
    method = state.source.method
    return f"{method.display_name} value ({'0 = white' if method.signed else 'ReLU'})"


def caption(state: ExplorerState, view: View) -> str:
    """The caption above the picture (HTML): prediction, truth, class shown, range, box."""
    i, c = state.image, state.class_index
    name = lambda k: html.escape(state.class_names[int(k)])  # noqa: E731
    truth = "" if state.labels is None else f"; true class: <b>{name(state.labels[i])}</b>"
    predicted = int(state.predicted[i])
    which = (
        "the predicted class" if state.follow else "the chosen class (kept when the image changes)"
    )
    return (
        f"Image {i}: predicted <b>{name(predicted)}</b> (p = {state.probs[i, predicted]:.3f})"
        f"{truth}. Showing the {METHODS[state.method].display_name} of <b>{name(c)}</b>, "
        f"{which} (p = {state.probs[i, c]:.3f}, logit {state.source.logits[i, c]:.3f}); "
        f"{_range_text(view)}; {_box_text(state, view)}."
    )


def description(state: ExplorerState, view: View) -> str:
    """The picture in one plain sentence (its alt text): image, class, method, scale."""
    i, names = state.image, state.class_names
    return (
        f"The {METHODS[state.method].display_name} map of image {i} for class "
        f"{names[state.class_index]} (predicted: {names[int(state.predicted[i])]}) over the "
        f"input, {_range_text(view)}; {_box_text(state, view)}."
    )


def _box_text(state: ExplorerState, view: View) -> str:
    if not state.show_box:
        return "no box"
    if view.box is None:
        return "no positive evidence, so no box"
    return f"box (y0, x0, y1, x1) = {view.box} at {state.threshold:.2f} × max"


def _range_text(view: View) -> str:
    lo, hi = float(view.heatmap.min()), float(view.heatmap.max())
    scale = "a diverging scale centred at 0" if view.signed else "a min-max scale"
    vmin, vmax = view.limits
    return f"raw map from {lo:.3f} to {hi:.3f}, on {scale} from {vmin:.3g} to {vmax:.3g}"


def _check_method(method) -> None:
    if method not in METHODS:
        raise ValueError(
            f"method must be one of {tuple(METHODS)} (the registry cam_edu.methods.METHODS); "
            f"got {method!r}."
        )


def display_images_of(images, x: np.ndarray, display_images):
    """The images to draw, as float RGB in [0, 1], and a notice if they had to be rescaled.

    Without ``display_images`` the model inputs are drawn; inputs outside [0, 1] (a
    model's preprocessing, e.g. ``keras.applications``' mean-subtracted BGR or [-1, 1])
    are min-max rescaled per image, and the notice says how to see the original photos.
    """
    if display_images is not None:
        if len(display_images) != len(x):
            raise ValueError(
                f"display_images has {len(display_images)} images but images has {len(x)}; "
                "pass one display image per model input."
            )
        name = "display_images"
        shown = [as_display_image(im, f"{name}[{i}]") for i, im in enumerate(display_images)]
        return shown, ""
    raw = np.asarray(images.numpy() if hasattr(images, "numpy") else images)
    integer = np.issubdtype(raw.dtype, np.integer)
    lo, hi = float(x.min()), float(x.max())
    if integer or (lo >= -1e-3 and hi <= 1 + 1e-3):
        return [as_display_image(im, f"images[{i}]") for i, im in enumerate(raw)], ""
    rescaled = min_max(x, axis=(1, 2, 3))
    shown = [as_display_image(im, f"images[{i}]") for i, im in enumerate(rescaled)]
    notice = (
        f"<i>The images lie in [{lo:.4g}, {hi:.4g}], not in [0, 1]: preprocessed for the "
        "model, so they are shown rescaled to [0, 1], each on its own (colors may be off, "
        "e.g. BGR). Pass <code>display_images=</code> (the original photos, uint8 or floats "
        "in [0, 1]) to see them as they are.</i>"
    )
    return shown, notice
