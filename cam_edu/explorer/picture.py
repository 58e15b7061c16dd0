"""The explorer's picture widget: a background and five panels, painted in the page.

A small anywidget (JavaScript in :data:`PICTURE_ESM`): the kernel sends the layout once
per size and then only the panels that changed, as raw RGB at their data's resolution;
the page enlarges each into its rectangle and paints it at once. The page reports the
width it shows the picture at and its pixel ratio, so the picture is rendered at exactly
that many pixels (sharp, never stretched). A notebook saved with its widget state keeps
the picture: :meth:`ExplorerPicture.saved_picture` rebuilds it (and its alt text) for the
site and the slides.

>>> ExplorerPicture.saved_png({"state": {"_anywidget_id": "other.Widget"}}) is None
True
"""

from __future__ import annotations

import base64
import io

import numpy as np
import PIL.Image

from cam_edu.explorer.render import PANELS, Panel, png
from cam_edu.extras import require

anywidget = require("anywidget", "explorer", "the explorer")
traitlets = require("traitlets", "explorer", "the explorer")

PICTURE_ESM = """
const PANELS = ["input", "overlay", "raw", "colorbar", "scale"];

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
    for (const [r0, r1, c0, c1, level = 255] of tile.box || []) {
      ctx.fillStyle = `rgb(${level}, ${level}, ${level})`;  // the box: white on dark
      ctx.fillRect(p.c0 + c0, p.r0 + r0, c1 - c0, r1 - r0);
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
    where each panel lies, and ``alt``, the picture in one sentence. Each panel (``input``,
    ``overlay``, ``raw``, ``colorbar``, ``scale``: the colorbar's numbers) is sent at its
    data's resolution, as raw RGB, with the box as grey pixel bands; the page enlarges it
    nearest-neighbour into its rectangle, with the same rule as
    :meth:`cam_edu.explorer.render.Panel.index`, and paints it at once (no image to
    decode). Only changed panels travel. The page sets ``available_width`` (CSS pixels)
    and ``pixel_ratio`` (``window.devicePixelRatio``) when it shows the picture and when it
    is resized.
    """

    _esm = PICTURE_ESM
    figure = traitlets.Dict().tag(sync=True)
    input = traitlets.Dict().tag(sync=True)
    overlay = traitlets.Dict().tag(sync=True)
    raw = traitlets.Dict().tag(sync=True)
    colorbar = traitlets.Dict().tag(sync=True)
    scale = traitlets.Dict().tag(sync=True)
    alt = traitlets.Unicode("").tag(sync=True)
    available_width = traitlets.Int(0).tag(sync=True)
    pixel_ratio = traitlets.Float(1.0).tag(sync=True)

    PANELS = PANELS

    @classmethod
    def saved_picture(cls, model: dict) -> tuple[bytes, str] | None:
        """The picture of a saved widget model (a notebook's widget state): ``(PNG, alt)``.

        For pages without a kernel (a static website, slides): ``model`` is one entry of
        the notebook's ``application/vnd.jupyter.widget-state+json`` state, with its
        base64 ``buffers``. The panels are painted over the background as the page paints
        them; ``alt`` says what it shows (image, class, method, colour scale). ``None`` if
        ``model`` is not an explorer picture, or holds no picture.
        """
        state = dict(model.get("state", {}))
        if str(state.get("_anywidget_id", "")).rsplit(".", 1)[-1] != cls.__name__:
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
                Panel(**geometry).paint(frame, rgb, panel.get("box", []))
        alt = state.get("alt") or "The CAM explorer's picture: an input image and its map."
        return png(frame), alt

    @classmethod
    def saved_png(cls, model: dict) -> bytes | None:
        """The PNG of :meth:`saved_picture`, or ``None``."""
        saved = cls.saved_picture(model)
        return None if saved is None else saved[0]
