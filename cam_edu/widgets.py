"""The interactive CAM explorer: one widget for every lesson's model and data.

The model runs once, when the explorer is built. For CAM the feature maps
``(N, H, W, K)`` are cached and every change of a control is one
``(H*W, K) @ (K,)`` product and a redraw. For Grad-CAM each (image, class) map is
computed once on first view and cached. The **method** menu offers every method of
:data:`cam_edu.methods.METHODS` (CAM only for a model with a CAM head); the slow ones
(Score-CAM, occlusion, LIME: hundreds of model calls per map) are computed once per image
and class, with a note above the picture while they run, and kept.

A redraw does only the work that changed. Matplotlib lays the figure out (titles, axes,
ticks, the colorbar's frame) only when the picture's size changes; the four regions that
follow the controls (input image, overlay with its box, raw map, colorbar) are painted
into their pixel rectangles, and only the changed ones are sent to the page, at their
data's resolution (a 28×28 overlay is 2 KB), where they are enlarged and painted at once.
Upsampled maps are cached per image, class and upsampling method. The page reports the
width the picture is shown at and the screen's pixel ratio, and the picture is rendered
at exactly that many pixels (sharp, never stretched).

>>> import numpy as np
>>> from cam_edu.course.models import build_gap_cnn
>>> explorer = cam_explorer(build_gap_cnn(), np.zeros((3, 28, 28, 1), "float32"))
>>> explorer.heatmap.shape  # the current map at feature resolution
(7, 7)
>>> explorer.features.shape  # computed once, when the explorer was built
(3, 7, 7, 64)
>>> explorer.klass.value = 4  # what a student's click does: a matmul and a redraw
>>> explorer.class_index, explorer.follow.value  # a chosen class is kept, image to image
(4, False)

In a notebook, make the explorer the last line of a cell to display it.
"""

from __future__ import annotations

import base64
import html
import io
from collections import OrderedDict
from typing import NamedTuple

import anywidget
import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
import PIL.Image
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cam_edu.cam import as_model_images, cam_head, class_probabilities
from cam_edu.localize import _bbox_from_cam
from cam_edu.methods import METHODS as REGISTRY
from cam_edu.validate import as_class_index
from cam_edu.viz import (
    UPSAMPLING_METHODS,
    _blend,
    _colorize,
    _normalize,
    _upsample,
    as_display_image,
)

COLORMAPS = ("jet", "viridis", "inferno", "magma", "turbo", "coolwarm")
METHODS = {key: m.display_name for key, m in REGISTRY.items()}  # the method menu
LIME_SAMPLES = 300  # LIME's random patterns per map in the explorer (lime's default: 1000)
FIGSIZE = (9.6, 3.3)  # inches; the layout is made once at 72 dpi and scaled with the width
WIDTH_RANGE = (480, 1280)  # CSS pixels the picture may be rendered at
CACHE_BYTES = 64e6  # upsampled maps kept per explorer


def _forward_in_batches(engine, images: np.ndarray, batch: int = 64):
    """``(A, logits)`` of checked images through the compiled engine, ``batch`` at a time."""
    parts = [engine.forward(images[i : i + batch]) for i in range(0, len(images), batch)]
    return np.concatenate([a for a, _ in parts]), np.concatenate([z for _, z in parts])


class _CamSource:
    """CAM maps from cached features: ``heatmap(i, c)`` is ``f[i] @ w[:, c]``."""

    def __init__(self, model, images):
        head = cam_head(model)
        self.features, self.logits = _forward_in_batches(head.engine, images)
        self.kernel = head.kernel
        self.binary = head.binary
        self.layer = head.feature_layer
        self.map_shape, self.unit = self.features.shape[1:3], "feature cell"

    def heatmap(self, i: int, c: int) -> np.ndarray:
        return self.features[i] @ self.kernel[:, c]


class _GradSource:
    """Grad-CAM / Grad-CAM++ maps, computed per (image, class) on first view."""

    def __init__(self, model, images, method, layer):
        from cam_edu import gradcam

        self.method = gradcam.METHODS[method](model, layer)  # one compiled engine
        self.images = images
        self.layer = self.method.layer
        self.features, self.logits = _forward_in_batches(self.method.engine, images)
        self.binary = self.method.engine.binary
        self.map_shape, self.unit = self.features.shape[1:3], "feature cell"
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def heatmap(self, i: int, c: int) -> np.ndarray:
        if (i, c) not in self._cache:
            maps, _ = self.method(self.images[i : i + 1], class_index=c)
            self._cache[(i, c)] = np.asarray(maps[0], np.float32)
        return self._cache[(i, c)]


class _SlowSource:
    """Score-CAM, occlusion or LIME maps, computed per (image, class) on first view and kept.

    ``notify(text)`` is called before a map is computed (with what is being computed) and
    after (with ``""``), so that the explorer can say why the picture waits.
    """

    def __init__(self, model, images, method: str, layer, notify=lambda text: None):
        from cam_edu.perturbation import ClassScores, grid_segmentation

        self.model, self.images, self.key = model, images, method
        self.method = REGISTRY[method]
        self.layer = layer if self.method.uses_layer else None
        self.notify = notify
        self.options = {}
        if method == "lime":  # squares fit small images; lime's quickshift needs photos
            self.options = {"num_samples": LIME_SAMPLES, "segmentation": grid_segmentation(8)}
        scores = ClassScores(model, self.layer)
        self.logits = scores.logits(images)
        self.binary = scores.binary
        if self.method.uses_layer:
            self.features = scores.activations(images[:1])[0]  # the layer, for its shape
            self.map_shape, self.unit = self.features.shape[1:3], "feature cell"
        else:
            self.features = None
            self.map_shape, self.unit = images.shape[1:3], "pixel"
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def heatmap(self, i: int, c: int) -> np.ndarray:
        if (i, c) not in self._cache:
            self.notify(
                f"<i>Computing the {self.method.display_name} map of image {i}, class {c} "
                "(it runs the model hundreds of times; kept once computed)...</i>"
            )
            try:
                maps, _ = self.method(
                    self.model,
                    self.images[i : i + 1],
                    class_index=c,
                    layer=self.layer,
                    **self.options,
                )
            finally:
                self.notify("")
            self._cache[(i, c)] = np.asarray(maps[0], np.float32)
        return self._cache[(i, c)]


# ----------------------------------------------------------------------------- the picture

_PICTURE_ESM = """
const PANELS = ["input", "overlay", "raw", "colorbar"];

// The same nearest-neighbour rule as _Panel.index in Python, in the same double arithmetic.
const index = (first, end, start, size, n) =>
  Int32Array.from({ length: end - first }, (_, k) =>
    Math.min(n - 1, Math.max(0, Math.trunc(((first + k + 0.5 - start) / size) * n))));

function render({ model, el }) {
  const canvas = document.createElement("canvas");
  canvas.className = "cam-picture";
  canvas.style.cssText = "display: block; max-width: 100%; height: auto;";
  el.appendChild(canvas);
  const ctx = canvas.getContext("2d");
  let shown = null;     // the layout version on the canvas
  let loading = null;   // the layout version whose background is being decoded
  let frames = 0;
  const dirty = new Set();

  function drawPanel(name) {
    const tile = model.get(name);
    const p = (model.get("figure").panels || {})[name];
    if (!tile || !tile.rgb || !p) return;
    const [h, w] = tile.shape;
    const rows = index(p.r0, p.r1, p.top, p.height, h);
    const cols = index(p.c0, p.c1, p.left, p.width, w);
    const src = new Uint8Array(tile.rgb.buffer, tile.rgb.byteOffset, tile.rgb.byteLength);
    const out = ctx.createImageData(cols.length, rows.length);
    const px = out.data;
    let k = 0;
    for (const r of rows) {
      const line = r * w * 3;
      for (const c of cols) {
        const s = line + c * 3;
        px[k] = src[s];
        px[k + 1] = src[s + 1];
        px[k + 2] = src[s + 2];
        px[k + 3] = 255;
        k += 4;
      }
    }
    ctx.putImageData(out, p.c0, p.r0);
    ctx.fillStyle = "#fff";
    for (const [r0, r1, c0, c1] of tile.box || []) {
      ctx.fillRect(p.c0 + c0, p.r0 + r0, c1 - c0, r1 - r0);  // the box, in white
    }
  }

  function flush() {
    // Panels wait while a new layout's background is decoded; it repaints them all.
    if (shown !== model.get("figure").version || dirty.size === 0) return;
    for (const name of dirty) drawPanel(name);
    dirty.clear();
    canvas.dataset.frame = String(++frames);  // one step per picture painted
  }

  async function newLayout() {
    const layout = model.get("figure");
    if (!layout || !layout.background || loading === layout.version) return;
    loading = layout.version;
    const bitmap = await createImageBitmap(new Blob([layout.background], { type: "image/png" }));
    if (model.get("figure").version !== layout.version) return bitmap.close();  // outdated
    const [width, height] = layout.size;
    canvas.width = width;
    canvas.height = height;
    canvas.style.width = `${layout.css_width}px`;
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    shown = layout.version;
    PANELS.forEach((name) => dirty.add(name));
    flush();
  }

  // Panels are painted synchronously, in the task that brought them: no decoding to wait for.
  const onPanel = (name) => () => {
    dirty.add(name);
    queueMicrotask(flush);  // once for all the panels of one message
  };
  const handlers = PANELS.map((name) => [`change:${name}`, onPanel(name)]);
  handlers.push(["change:figure", newLayout]);
  for (const [event, handler] of handlers) model.on(event, handler);
  newLayout();

  // Tell the kernel the width the picture can be shown at and the screen's pixel ratio.
  let timer = null;
  let first = true;
  const report = () => {
    const width = Math.floor(el.getBoundingClientRect().width);
    const ratio = window.devicePixelRatio || 1;
    if (width <= 0) return;  // not on screen
    if (width === model.get("available_width") && ratio === model.get("pixel_ratio")) return;
    model.set({ available_width: width, pixel_ratio: ratio });
    model.save_changes();
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(report, 150);
  };
  const observer = new ResizeObserver(() => {
    if (first) {
      first = false;
      report();
    } else soon();
  });
  observer.observe(el);
  window.addEventListener("resize", soon);  // zooming changes the pixel ratio
  return () => {
    observer.disconnect();
    window.removeEventListener("resize", soon);
    clearTimeout(timer);
    for (const [event, handler] of handlers) model.off(event, handler);
  };
}
export default { render };
"""


class ExplorerPicture(anywidget.AnyWidget):
    """The explorer's picture in the page: a background and four panels painted over it.

    The kernel sets ``figure`` when the picture's size changes: ``size`` (device pixels),
    ``css_width``, the ``background`` (a PNG: titles, axes, ticks, the colorbar's frame),
    and where each panel lies. Each panel (``input``, ``overlay``, ``raw``, ``colorbar``)
    is sent at its data's resolution, as raw RGB, with the box as white pixel bands; the
    page enlarges it nearest-neighbour into its rectangle, with the same rule as
    :meth:`_Panel.index`, and paints it at once (no image to decode). Only changed panels
    travel. The page sets ``available_width`` (CSS pixels) and ``pixel_ratio``
    (``window.devicePixelRatio``) when it shows the picture and when it is resized.
    """

    _esm = _PICTURE_ESM
    figure = traitlets.Dict().tag(sync=True)
    input = traitlets.Dict().tag(sync=True)
    overlay = traitlets.Dict().tag(sync=True)
    raw = traitlets.Dict().tag(sync=True)
    colorbar = traitlets.Dict().tag(sync=True)
    available_width = traitlets.Int(0).tag(sync=True)
    pixel_ratio = traitlets.Float(1.0).tag(sync=True)

    PANELS = ("input", "overlay", "raw", "colorbar")

    @classmethod
    def saved_png(cls, model: dict) -> bytes | None:
        """The picture of a saved widget model (a notebook's widget state), as a PNG.

        For pages without a kernel (a static website, slides): ``model`` is one entry of
        the notebook's ``application/vnd.jupyter.widget-state+json`` state, with its
        base64 ``buffers``. The panels are painted over the background as the page paints
        them. ``None`` if ``model`` is not an explorer picture, or holds no picture.
        """
        state = dict(model.get("state", {}))
        if state.get("_anywidget_id") != f"{__name__}.{cls.__name__}":
            return None
        state = {k: dict(v) if isinstance(v, dict) else v for k, v in state.items()}
        for buffer in model.get("buffers", []):
            if buffer.get("encoding") == "base64" and len(buffer.get("path", [])) == 2:
                outer, inner = buffer["path"]
                state.setdefault(outer, {})[inner] = base64.b64decode(buffer["data"])
        figure = state.get("figure", {})
        if not figure.get("background"):
            return None
        frame = np.asarray(PIL.Image.open(io.BytesIO(figure["background"])).convert("RGB"))
        frame = frame.copy()
        for name in cls.PANELS:
            panel, geometry = state.get(name, {}), figure.get("panels", {}).get(name)
            if panel.get("rgb") and geometry:
                rgb = np.frombuffer(panel["rgb"], np.uint8).reshape(*panel["shape"], 3)
                _Panel(**geometry).paint(frame, rgb, panel.get("box", []))
        return _png(frame)


class _Panel(NamedTuple):
    """Where a region of the figure lies in the frame, in device pixels (rows top-down)."""

    r0: int  # the pixels whose centres lie inside the region: rows r0:r1, columns c0:c1
    r1: int
    c0: int
    c1: int
    top: float  # the region's exact edges
    left: float
    height: float
    width: float

    @classmethod
    def of(cls, bbox, frame_height: int) -> _Panel:
        """The panel of a matplotlib display-coordinate ``Bbox`` (y up)."""
        left, right = sorted((bbox.x0, bbox.x1))
        top, bottom = frame_height - max(bbox.y0, bbox.y1), frame_height - min(bbox.y0, bbox.y1)
        r0, r1 = int(np.ceil(top - 0.5)), int(np.floor(bottom - 0.5)) + 1
        c0, c1 = int(np.ceil(left - 0.5)), int(np.floor(right - 0.5)) + 1
        return cls(r0, r1, c0, c1, top, left, bottom - top, right - left)

    def index(self, shape) -> tuple[np.ndarray, np.ndarray]:
        """Nearest-neighbour rows and columns of an array ``shape`` for each pixel."""
        h, w = shape[:2]
        v = (np.arange(self.r0, self.r1) + 0.5 - self.top) / self.height
        u = (np.arange(self.c0, self.c1) + 0.5 - self.left) / self.width
        rows = np.clip((v * h).astype(int), 0, h - 1)
        cols = np.clip((u * w).astype(int), 0, w - 1)
        return rows, cols

    def paint(self, frame: np.ndarray, rgb: np.ndarray, bands=(), index=None) -> None:
        """Fill the panel's pixels of ``frame`` with ``rgb`` ``(h, w, 3)`` enlarged, then
        the white ``bands`` ``[r0, r1, c0, c1]`` (the box); ``index``: :meth:`index`, cached."""
        rows, cols = index or self.index(rgb.shape)
        tile = rgb.take(rows, axis=0).take(cols, axis=1)
        for r0, r1, c0, c1 in bands:
            tile[r0:r1, c0:c1] = 255
        frame[self.r0 : self.r1, self.c0 : self.c1] = tile


class _Figure:
    """The explorer's figure: matplotlib lays it out, numpy paints what the controls change.

    ``layout(px_width)`` draws the static parts (titles, axes, ticks, the colorbar's frame
    and labels) at a new size; ``paint(name, rgb)`` fills one of the panels ``input``,
    ``overlay``, ``raw`` and ``colorbar`` with an RGB array, resampled nearest-neighbour as
    ``imshow(..., interpolation="nearest")`` would; ``frame`` is the picture.
    """

    def __init__(self, image_shape, map_shape, unit: str = "feature cell"):
        fig = Figure(figsize=FIGSIZE, dpi=72, layout="constrained")
        FigureCanvasAgg(fig)
        ax_in, ax_ov, ax_raw = fig.subplots(1, 3)
        for ax in (ax_in, ax_ov):
            ax.imshow(np.zeros(image_shape[:2]), animated=True)
            ax.set_xticks([])
            ax.set_yticks([])
        h, w = map_shape
        ax_raw.imshow(np.zeros((h, w)), vmin=0, vmax=1, animated=True)
        for axis in (ax_raw.xaxis, ax_raw.yaxis):
            axis.set_major_locator(MaxNLocator(integer=True))  # feature cells are whole
        mappable = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0, 1), cmap="gray")
        colorbar = fig.colorbar(mappable, ax=ax_raw, ticks=[0, 0.5, 1])
        colorbar.ax.set_yticklabels(["min", "mid", "max"])
        colorbar.set_label("map value (range in caption)")
        colorbar.solids.set_visible(False)  # painted per colormap, like the maps
        for ax, title in (
            (ax_in, "input image"),
            (ax_ov, "overlay and box"),
            (
                ax_raw,
                f"raw map at {'feature' if unit == 'feature cell' else unit} resolution ({h}×{w})",
            ),
        ):
            ax.set_title(title, fontsize=10)
        ax_raw.set_xlabel(f"x ({unit})")
        ax_raw.set_ylabel(f"y ({unit})")
        self.map_shape, self.unit = tuple(map_shape), unit
        fig.canvas.draw()  # the constrained layout, once
        fig.set_layout_engine("none")
        self.fig = fig
        self._axes = {"input": ax_in, "overlay": ax_ov, "raw": ax_raw, "colorbar": colorbar.ax}

    def layout(self, px_width: int) -> None:
        """Draw the static parts at ``px_width`` device pixels wide; find the panels."""
        self.fig.set_dpi((px_width + 0.01) / FIGSIZE[0])  # + 0.01: Agg truncates the width
        self.fig.canvas.draw()
        self.background = np.array(self.fig.canvas.buffer_rgba())[..., :3]
        self.frame = self.background.copy()
        height = self.frame.shape[0]
        self.panels: dict[str, _Panel] = {}
        for name, ax in self._axes.items():
            bbox = ax.images[0].get_window_extent() if ax.images else ax.bbox
            self.panels[name] = _Panel.of(bbox, height)
        self._index: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.line_width = 2 * self.fig.dpi / 72  # the box's, 2 points

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frame in device pixels."""
        return self.frame.shape[1], self.frame.shape[0]

    def paint(self, name: str, rgb: np.ndarray, bands=()) -> None:
        """Fill panel ``name`` with ``rgb`` ``(h, w, 3)`` uint8 enlarged, then white ``bands``."""
        p = self.panels[name]
        key = (name, rgb.shape[:2])
        if key not in self._index:
            self._index[key] = p.index(rgb.shape)
        p.paint(self.frame, rgb, bands, self._index[key])

    def box_bands(self, box, image_shape) -> list[list[int]]:
        """The four white bands of ``box`` ``(y0, x0, y1, x1)`` (image pixels, 2 points wide)
        as ``[r0, r1, c0, c1]`` rows and columns of the overlay panel, clipped to it."""
        p = self.panels["overlay"]
        h, w = image_shape[:2]
        y0, x0, y1, x1 = box
        # box edges in frame pixels, relative to the panel's first row and column
        top, bottom = p.top + p.height * y0 / h - p.r0, p.top + p.height * y1 / h - p.r0
        left, right = p.left + p.width * x0 / w - p.c0, p.left + p.width * x1 / w - p.c0
        half = self.line_width / 2

        def span(a, b, end):  # pixels whose centres lie in [a, b), at least one, inside
            lo = int(np.ceil(a - 0.5))
            hi = max(lo + 1, int(np.ceil(b - 0.5)))
            return min(max(lo, 0), end), min(max(hi, 0), end)

        n_rows, n_cols = p.r1 - p.r0, p.c1 - p.c0
        rows = span(top - half, bottom + half, n_rows)
        cols = span(left - half, right + half, n_cols)
        bands = [[*span(y - half, y + half, n_rows), *cols] for y in (top, bottom)]
        bands += [[*rows, *span(x - half, x + half, n_cols)] for x in (left, right)]
        return [b for b in bands if b[0] < b[1] and b[2] < b[3]]

    @staticmethod
    def colorbar_gradient(colormap, levels: int = 256) -> np.ndarray:
        """The colorbar's colors ``(levels, 1, 3)`` uint8, from 1 at the top to 0 at the bottom."""
        values = (levels - 0.5 - np.arange(levels)) / levels
        return colormap(values, bytes=True)[:, None, :3]


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    PIL.Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (rgb * 255.0 + 0.5).astype(np.uint8)


class _Maps(NamedTuple):
    """One (image, class, upsampling) map at image size, and what is derived from it."""

    big: np.ndarray  # the map upsampled to the image's size
    normalized: np.ndarray  # min-max scaled to [0, 1]
    colored: dict  # colormap name -> colors (H, W, 3) float32
    boxes: dict  # threshold -> box or None


# ----------------------------------------------------------------------------- the explorer


class CamExplorer(widgets.VBox):
    """Controls (image, class, alpha, colormap, upsampling, threshold, box) and a picture.

    Build it with :func:`cam_explorer`. Useful attributes for tests and lessons:
    ``features`` (the explained layer's activations ``(N, H, W, K)``, computed once),
    ``probs``, ``heatmap`` (the current raw map at feature resolution), ``box`` (the
    current box in display-image pixels or ``None``), ``class_index``, ``png()`` (the
    picture as shown), ``redraw()``, and the controls ``image``, ``klass`` (the class
    menu), ``follow`` (show each image's predicted class), ``alpha``, ``cmap``,
    ``upsampling``, ``threshold`` and ``show_box``.

    The class menu lists every class once (the top ``top_k`` by probability, and the chosen
    one, for models with more than 20 classes). Ticking ``follow`` shows each image's
    predicted class; choosing a class in the menu unticks it, and the chosen class is
    kept when the image changes.
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
            raise ValueError(
                f"method must be one of {tuple(METHODS)} (the registry cam_edu.methods.METHODS); "
                f"got {method!r}."
            )
        x = as_model_images(images, model)
        if method == "cam" and layer is not None:
            raise ValueError(
                f"layer={layer!r} is for Grad-CAM; CAM always uses the layer before global "
                "pooling. "
                "Use method='gradcam' to explain another layer."
            )
        self._model, self._x, self._layer = model, x, layer
        self.status = widgets.HTML()  # says what a slow method is computing
        self._sources: dict = {}
        self._source = self._source_of(method)
        self.display, notice = _display_images(images, x, display_images)
        logits = self._source.logits
        self.labels = (
            None if labels is None else as_class_index(labels, logits.shape[1], len(x), "labels")
        )
        self.probs = class_probabilities(logits, self._source.binary)
        self._predicted = self.probs.argmax(axis=1)
        n_classes = logits.shape[1]
        if class_names is None:
            class_names = [str(c) for c in range(n_classes)]
        if len(class_names) != n_classes:
            raise ValueError(
                f"class_names has {len(class_names)} names but the model has {n_classes} classes."
            )
        self.class_names = list(class_names)
        self.method, self.top_k = method, top_k
        self._colormaps = {name: mpl.colormaps[name] for name in COLORMAPS}
        self._maps: OrderedDict[tuple, _Maps] = OrderedDict()
        self._version = 0
        self._figure = _Figure(self.display[0].shape, self._source.map_shape, self._source.unit)
        self._build_controls(len(x))
        self.notice = widgets.HTML(notice)  # said once, above the picture, if there is a need
        shown = [
            self._controls,
            *([self.notice] if notice else []),
            self.status,
            self.caption,
            self.picture,
        ]
        super().__init__(shown)
        self.redraw()

    @property
    def features(self) -> np.ndarray | None:
        """The explained layer's activations ``(N, H, W, K)``, computed once at construction.

        For CAM, the layer before global pooling (each map is ``features[i] @ w[:, c]``);
        for Grad-CAM, the layer it explains; for Score-CAM, the activations of the first
        image only (``(1, H, W, K)``); ``None`` for occlusion and LIME (input pixels).
        """
        return self._source.features

    def _source_of(self, method: str):
        """The maps of ``method``, made on first use and kept (with their cached maps)."""
        if method not in self._sources:
            if method == "cam":
                self._sources[method] = _CamSource(self._model, self._x)
            elif method in ("gradcam", "gradcam++"):
                self._sources[method] = _GradSource(self._model, self._x, method, self._layer)
            else:
                self._sources[method] = _SlowSource(
                    self._model, self._x, method, self._layer, self._notify
                )
        return self._sources[method]

    def _notify(self, text: str) -> None:
        self.status.value = text

    def _method_options(self, method: str) -> list[tuple[str, str]]:
        """The method menu: every registry method (CAM only if the model has a CAM head)."""
        options = []
        for key, shown in METHODS.items():
            if key == "cam" and method != "cam":
                try:
                    cam_head(self._model)
                except ValueError:
                    continue  # no GAP -> Dense head: CAM cannot explain this model
            slow = "  (slow, computed per image)" if REGISTRY[key].slow else ""
            options.append((shown + slow, key))
        return options

    # ------------------------------------------------------------------------- controls

    def _build_controls(self, n_images: int) -> None:
        style = {"description_width": "80px"}
        self.image = widgets.IntSlider(0, 0, n_images - 1, description="image", style=style)
        self.method_menu = widgets.Dropdown(
            options=self._method_options(self.method),
            value=self.method,
            description="method",
            style=style,
        )
        self.klass = widgets.Dropdown(description="class", style=style)
        self.follow = widgets.Checkbox(
            True, description="follow the prediction", style=style, indent=True
        )
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
        self.picture = ExplorerPicture()
        self._updating = False
        self._update_class_options(int(self._predicted[0]))
        self.image.observe(self._on_image, names="value")
        self.klass.observe(self._on_class, names="value")
        self.follow.observe(self._on_follow, names="value")
        self.method_menu.observe(self._on_method, names="value")
        for control, dirty in (
            (self.alpha, ("overlay",)),
            (self.cmap, ("overlay", "raw", "colorbar")),
            (self.upsampling, ("overlay",)),
            (self.threshold, ("overlay",)),
            (self.show_box, ("overlay",)),
        ):
            control.observe(lambda _, d=dirty: self._refresh(d), names="value")
        self.picture.observe(self._on_resize, names=["available_width", "pixel_ratio"])
        self._controls = widgets.HBox(
            [
                widgets.VBox([self.image, self.klass, self.follow, self.alpha, self.cmap]),
                widgets.VBox([self.method_menu, self.upsampling, self.threshold, self.show_box]),
            ]
        )

    def _update_class_options(self, chosen: int) -> None:
        """The class menu for the current image, with ``chosen`` selected (no redraw)."""
        i = self.image.value
        probs, predicted = self.probs[i], int(self._predicted[i])
        if len(probs) <= 20:
            shown = range(len(probs))
        else:
            shown = [int(c) for c in np.argsort(-probs)[: self.top_k]]
            shown = shown if chosen in shown else [*shown, chosen]
        options = [
            (
                f"{self.class_names[c]}  p={probs[c]:.2f}"
                + ("  (predicted)" if c == predicted else ""),
                int(c),
            )
            for c in shown
        ]
        self._updating = True
        try:
            with self.klass.hold_sync():
                current = zip(self.klass._options_labels, self.klass._options_values, strict=True)
                if options != list(current):
                    self.klass.options = options
                self.klass.value = chosen
        finally:
            self._updating = False

    # The picture is sent first, then the controls and the caption that follow from it:
    # the page paints the picture the student waits for before it updates the rest.

    def _on_image(self, _change) -> None:
        i = self.image.value
        chosen = int(self._predicted[i]) if self.follow.value else self.class_index
        self._paint(("input", "overlay", "raw"), i, chosen)
        self._update_class_options(chosen)
        self.caption.value = self._caption(i, chosen)

    def _on_class(self, _change) -> None:
        if self._updating:
            return
        i, c = self.image.value, self.class_index
        self._paint(("overlay", "raw"), i, c)
        if self.follow.value and c != self._predicted[i]:
            self._updating = True
            self.follow.value = False  # a class chosen in the menu is kept
            self._updating = False
        self.caption.value = self._caption(i, c)

    def _on_follow(self, _change) -> None:
        if self._updating:
            return
        i, predicted = self.image.value, int(self._predicted[self.image.value])
        if self.follow.value and self.class_index != predicted:
            self._paint(("overlay", "raw"), i, predicted)
            self._updating = True
            self.klass.value = predicted
            self._updating = False
        self.caption.value = self._caption(i, self.class_index)

    def _on_method(self, _change) -> None:
        """Show another method's map of the same image and class (computed once, kept)."""
        method = self.method_menu.value
        if method not in METHODS:
            raise ValueError(f"method must be one of {tuple(METHODS)}; got {method!r}.")
        self.method = method
        self._source = self._source_of(method)
        figure = self._figure
        if (tuple(self._source.map_shape), self._source.unit) != (figure.map_shape, figure.unit):
            self._figure = _Figure(self.display[0].shape, self._source.map_shape, self._source.unit)
            css = self.picture.figure.get("css_width", FIGSIZE[0] * 72)
            self._layout(css, self._ratio)  # axes and ticks of the new map's size
        else:
            self._refresh(("overlay", "raw"))

    def _on_resize(self, _change) -> None:
        """Render at the width the page shows the picture at, times its pixel ratio."""
        available, ratio = self.picture.available_width, self.picture.pixel_ratio
        if available <= 0 or not 0.25 <= ratio <= 8:
            return
        css = float(np.clip(available, *WIDTH_RANGE))
        current = self.picture.figure.get("css_width", 0)
        if ratio == self._ratio and current - 0.5 <= css <= current + 32:
            return  # a few pixels more room: not worth a new layout (no scroll-bar ping-pong)
        self._layout(css, ratio)

    # ------------------------------------------------------------------------- drawing

    @property
    def class_index(self) -> int:
        """The class shown: the one chosen in the menu, or the prediction when following it."""
        return int(self.klass.value)

    def png(self) -> bytes:
        """The picture as the page shows it, as PNG bytes."""
        return _png(self._figure.frame)

    def _layout(self, css_width: float, ratio: float) -> None:
        px = int(css_width * ratio + 0.01)
        figure = self._figure
        figure.layout(px)
        self._ratio = ratio
        self._version += 1
        layout = {
            "version": self._version,
            "size": list(figure.size),
            "css_width": px / ratio,
            "background": _png(figure.background),
            "panels": {name: p._asdict() for name, p in figure.panels.items()},
        }
        everything = ("input", "overlay", "raw", "colorbar")
        self._paint(everything, self.image.value, self.class_index, layout=layout)
        self.caption.value = self._caption(self.image.value, self.class_index)

    def redraw(self) -> None:
        """Recompute the current map (no model call for CAM) and redraw the whole picture."""
        if not hasattr(self, "_ratio"):
            self._layout(FIGSIZE[0] * 72, 1.0)
        else:
            self._refresh(("input", "overlay", "raw", "colorbar"))

    def _refresh(self, dirty) -> None:
        """Repaint the panels in ``dirty`` for the current image and class, and the caption."""
        i, c = self.image.value, self.class_index
        self._paint(dirty, i, c)
        self.caption.value = self._caption(i, c)

    def _entry(self, i: int, c: int, method: str) -> _Maps:
        """The upsampled map of image ``i`` and class ``c``, cached (least recently used out)."""
        key = (i, c, self.method, method)
        if key in self._maps:
            self._maps.move_to_end(key)
            return self._maps[key]
        big = _upsample(self.heatmap, self.display[i].shape[:2], method)
        entry = _Maps(big, _normalize(big[None])[0][0], {}, {})
        self._maps[key] = entry
        while len(self._maps) > max(8, CACHE_BYTES // (5 * big.nbytes + 1)):
            self._maps.popitem(last=False)
        return entry

    def _paint(self, dirty, i: int, c: int, layout: dict | None = None) -> None:
        """Repaint the panels in ``dirty`` for image ``i`` and class ``c``, and send them."""
        image = self.display[i]
        self.heatmap = self._source.heatmap(i, c)
        entry = self._entry(i, c, self.upsampling.value)
        threshold = round(float(self.threshold.value), 6)
        if threshold not in entry.boxes:
            peak = entry.big.max()
            entry.boxes[threshold] = _bbox_from_cam(entry.big, threshold) if peak > 0 else None
        self.box = entry.boxes[threshold] if self.show_box.value else None
        colormap = self._colormaps[self.cmap.value]
        figure = self._figure
        panels = {}
        for name in dirty:
            bands = []
            if name == "input":
                rgb = _to_uint8(image)
            elif name == "overlay":
                if self.cmap.value not in entry.colored:
                    entry.colored.clear()
                    entry.colored[self.cmap.value] = _colorize(entry.normalized, colormap)
                rgb = _to_uint8(_blend(image, entry.colored[self.cmap.value], self.alpha.value))
                if self.box is not None:
                    bands = figure.box_bands(self.box, image.shape)
            elif name == "raw":
                rgb = colormap(_normalize(self.heatmap[None])[0][0], bytes=True)[..., :3]
            else:
                rgb = figure.colorbar_gradient(colormap)
            figure.paint(name, rgb, bands)
            panels[name] = {"rgb": rgb.tobytes(), "shape": list(rgb.shape[:2]), "box": bands}
        with self.picture.hold_sync():
            if layout is not None:
                self.picture.figure = layout
            for name, panel in panels.items():
                setattr(self.picture, name, panel)

    def _caption(self, i: int, c: int) -> str:
        name = lambda k: html.escape(self.class_names[int(k)])  # noqa: E731
        truth = "" if self.labels is None else f"; true class: <b>{name(self.labels[i])}</b>"
        predicted = int(self._predicted[i])
        which = (
            "the predicted class"
            if self.follow.value
            else "the chosen class (kept when the image changes)"
        )
        box_text = (
            "no box"
            if not self.show_box.value
            else "no positive evidence, so no box"
            if self.box is None
            else f"box (y0, x0, y1, x1) = {self.box} at {self.threshold.value:.2f} × max"
        )
        return (
            f"Image {i}: predicted <b>{name(predicted)}</b> (p = {self.probs[i, predicted]:.3f})"
            f"{truth}. Showing the {METHODS[self.method]} of <b>{name(c)}</b>, {which} "
            f"(p = {self.probs[i, c]:.3f}, logit {self._source.logits[i, c]:.3f}); raw map "
            f"from {self.heatmap.min():.3f} to {self.heatmap.max():.3f}; {box_text}."
        )


def _display_images(images, x: np.ndarray, display_images):
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
    n = len(x)
    rescaled = _normalize(x.reshape(n, x.shape[1], -1))[0].reshape(x.shape)
    shown = [as_display_image(im, f"images[{i}]") for i, im in enumerate(rescaled)]
    notice = (
        f"<i>The images lie in [{lo:.4g}, {hi:.4g}], not in [0, 1]: preprocessed for the "
        "model, so they are shown rescaled to [0, 1], each on its own (colors may be off, "
        "e.g. BGR). Pass <code>display_images=</code> (the original photos, uint8 or floats "
        "in [0, 1]) to see them as they are.</i>"
    )
    return shown, notice


def cam_explorer(
    model,
    images,
    labels=None,
    class_names=None,
    method: str = "cam",
    layer: str | None = None,
    display_images=None,
) -> CamExplorer:
    """An ipywidgets explorer of CAM, Grad-CAM, Grad-CAM++, Score-CAM, occlusion and LIME maps.

    Args:
        model: a Keras model (a GAP -> Dense head for ``method="cam"``; any CNN otherwise).
        images: the model's input batch, shape ``(N, H, W, channels)``. Preprocessed inputs
            (values outside ``[0, 1]``) are shown rescaled, with a note in the widget.
        labels: optional true labels ``(N,)``, shown in the caption.
        class_names: optional ``C`` names; models with more than 20 classes list the
            top 10 per image in the class menu (and the chosen class).
        method: the method shown first, a key of :data:`cam_edu.methods.METHODS`:
            ``"cam"``, ``"gradcam"``, ``"gradcam++"``, ``"scorecam"``, ``"occlusion"``
            or ``"lime"``; the explorer's **method** menu switches between them. The slow
            ones (Score-CAM, occlusion, LIME with ``LIME_SAMPLES`` samples on an 8 x 8 grid
            of superpixels) are computed per image and class when first shown, and kept.
        layer: Grad-CAM target layer (default: the last layer with a 4-D output).
        display_images: images to draw under the heatmap when ``images`` are
            preprocessed for the model (e.g. ResNet50's mean-subtracted BGR), ``(N, H, W, 3)``
            uint8 or float in ``[0, 1]``.

    Returns:
        a :class:`CamExplorer` (an ``ipywidgets.VBox``); display it as a cell's last line.

    >>> cam_explorer(model, x_test[:10], y_test[:10])  # doctest: +SKIP
    """
    return CamExplorer(model, images, labels, class_names, method, layer, display_images)
