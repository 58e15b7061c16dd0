"""The explorer's picture: matplotlib lays it out once, numpy paints what the controls change.

:class:`ExplorerFigure` draws the static parts (titles, axes, ticks, the colorbar's frame
and its label) at a given width; :func:`panels` turns a :class:`cam_edu.explorer.state.View`
into the RGB arrays of the five regions that follow the controls (input, overlay, raw map,
colorbar, the colorbar's numbers), drawn by the course's picture language
(:func:`cam_edu.viz.compose`, :func:`cam_edu.viz.colorize`); :meth:`ExplorerFigure.paint`
puts one into the frame, nearest-neighbour, as ``imshow(..., interpolation="nearest")``.

>>> import numpy as np
>>> figure = ExplorerFigure((28, 28), (7, 7), "feature cell", "CAM value")
>>> figure.layout(600)["size"][0]
600
"""

from __future__ import annotations

import io
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ticker import MaxNLocator

from cam_edu.viz import (
    BOX_PT,
    FOUND_DASH,
    LABEL_PT,
    MAX_WIDTH_IN,
    TITLE_PT,
    colorize,
    compose,
)

# The layout is made once at the course's 100 pixels per inch and scaled with the width: at
# its default width (740 pixels, the lessons' column) and wider, titles are 13.9 pixels
# high and labels, ticks and numbers 12.5 (10 and 9 points at 100 pixels per inch).
FIGSIZE = (MAX_WIDTH_IN, 2.9)  # inches, for square images; wide ones get a lower figure
DPI = 100
DEFAULT_WIDTH = round(FIGSIZE[0] * DPI)  # pixels; also the narrowest it is drawn
PANELS = ("input", "overlay", "raw", "colorbar", "scale")
_PLACEHOLDER = "-1.23e-05"  # the widest number the colorbar shows: room for it is kept


def figure_size(image_shape, map_shape) -> tuple[float, float]:
    """The figure's size in inches: :data:`FIGSIZE` for square images, lower for wide ones.

    A panel is about 2 inches wide; titles, ticks and labels need about 0.9 inches more in
    height, and the colorbar's label about 1.9 inches in all. A wide beam (32 × 64) so gets
    no empty band above and below its panels and no colorbar twice their height.

    >>> figure_size((28, 28), (7, 7)), figure_size((32, 64), (8, 32))
    ((7.4, 2.9), (7.4, 1.9))
    """
    aspect = max(image_shape[0] / image_shape[1], map_shape[0] / map_shape[1])
    return FIGSIZE[0], float(np.clip(0.9 + 2.0 * aspect, 1.9, FIGSIZE[1]))


class Panel(NamedTuple):
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
    def of(cls, bbox, frame_height: int) -> Panel:
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
        the grey ``bands`` ``[r0, r1, c0, c1, level]`` (the box); ``index``: :meth:`index`,
        cached."""
        rows, cols = index or self.index(rgb.shape)
        tile = rgb.take(rows, axis=0).take(cols, axis=1)
        for r0, r1, c0, c1, *level in bands:  # no level: white (pictures saved before it)
            tile[r0:r1, c0:c1] = level[0] if level else 255
        frame[self.r0 : self.r1, self.c0 : self.c1] = tile


class ExplorerFigure:
    """The explorer's figure for an image ``image_shape`` and maps ``map_shape``.

    ``layout(px_width)`` draws the static parts at a new size and finds the panels;
    ``paint(name, rgb, bands)`` fills one; ``frame`` is the picture; ``number_px`` is the
    size of the colorbar's numbers in device pixels (as its tick labels).
    """

    def __init__(self, image_shape, map_shape, unit: str, scale_label: str):
        fig = Figure(figsize=figure_size(image_shape, map_shape), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax_in, ax_ov, ax_raw = fig.subplots(1, 3)
        for ax in (ax_in, ax_ov):
            ax.imshow(np.zeros(image_shape[:2]), animated=True)
            ax.set_xticks([])
            ax.set_yticks([])
        h, w = map_shape
        ax_raw.imshow(np.zeros((h, w)), vmin=0, vmax=1, animated=True)
        for axis in (ax_raw.xaxis, ax_raw.yaxis):
            # whole feature cells, and only as many ticks as the axis has room for: a wide
            # beam's few rows must not stack their labels on one another
            axis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        mappable = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0, 1), cmap="gray")
        colorbar = fig.colorbar(mappable, ax=ax_raw, ticks=[0, 0.5, 1])
        colorbar.ax.set_yticklabels([_PLACEHOLDER] * 3, fontsize=LABEL_PT)  # room for numbers
        colorbar.set_label(scale_label, fontsize=LABEL_PT)
        colorbar.solids.set_visible(False)  # painted per map, like the maps
        resolution = "feature" if unit == "feature cell" else unit
        titles = (
            "input image",
            "map over the input,\nand box",
            f"raw map at {resolution}\nresolution ({h}×{w})",
        )
        for ax, title in zip((ax_in, ax_ov, ax_raw), titles, strict=True):
            ax.set_title(title, fontsize=TITLE_PT)
        ax_raw.set_xlabel(f"x ({unit})", fontsize=LABEL_PT)
        ax_raw.set_ylabel(f"y ({unit})", fontsize=LABEL_PT)
        ax_raw.tick_params(labelsize=LABEL_PT)
        self.map_shape, self.unit, self.scale_label = tuple(map_shape), unit, scale_label
        fig.canvas.draw()  # the constrained layout, once, with room for the numbers
        fig.set_layout_engine("none")
        labels = colorbar.ax.get_yticklabels()
        numbers = mpl.transforms.Bbox.union([t.get_window_extent() for t in labels])
        self._numbers = fig.transFigure.inverted().transform_bbox(numbers)  # figure fractions
        for label in labels:  # painted per map (the scale panel); kept for the label's place
            label.set_color(fig.get_facecolor())
        self.fig = fig
        self._axes = {"input": ax_in, "overlay": ax_ov, "raw": ax_raw, "colorbar": colorbar.ax}

    def layout(self, px_width: int, ratio: float = 1.0, version: int = 0) -> dict:
        """Draw the static parts at ``px_width`` device pixels wide; find the panels.

        Returns what the page needs of the layout: ``version``, ``size``, ``css_width`` (at
        the screen's pixel ratio ``ratio``), the ``background`` PNG and the ``panels``.
        """
        self.fig.set_dpi((px_width + 0.01) / FIGSIZE[0])  # + 0.01: Agg truncates the width
        self.fig.canvas.draw()
        self.background = np.array(self.fig.canvas.buffer_rgba())[..., :3]
        self.frame = self.background.copy()
        height = self.frame.shape[0]
        self.panels: dict[str, Panel] = {}
        for name, ax in self._axes.items():
            bbox = ax.images[0].get_window_extent() if ax.images else ax.bbox
            self.panels[name] = Panel.of(bbox, height)
        bar = self.panels["colorbar"]
        font = LABEL_PT * self.fig.dpi / 72
        top = max(0.0, bar.top - font)  # room for half a line above and below the bar
        bottom = min(float(height), bar.top + bar.height + font)
        numbers = self.fig.transFigure.transform_bbox(self._numbers)
        left, right = numbers.x0, numbers.x1
        box = mpl.transforms.Bbox.from_extents(left, height - bottom, right, height - top)
        self.panels["scale"] = Panel.of(box, height)
        self.number_px = font  # the colorbar's numbers, as its tick labels: device pixels
        self._font = PIL.ImageFont.truetype(findfont(FontProperties(family="DejaVu Sans")), font)
        self._index: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.line_width = BOX_PT * self.fig.dpi / 72  # the box's white line, as viz.draw_box
        return {
            "version": version,
            "size": list(self.size),
            "css_width": px_width / ratio,
            "background": png(self.background),
            "panels": {name: p._asdict() for name, p in self.panels.items()},
        }

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frame in device pixels."""
        return self.frame.shape[1], self.frame.shape[0]

    def paint(self, name: str, rgb: np.ndarray, bands=()) -> dict:
        """Fill panel ``name`` with ``rgb`` ``(h, w, 3)`` uint8 enlarged, then the ``bands``;
        return the panel as the page gets it (``rgb`` bytes, ``shape``, ``box``)."""
        p = self.panels[name]
        key = (name, rgb.shape[:2])
        if key not in self._index:
            self._index[key] = p.index(rgb.shape)
        p.paint(self.frame, rgb, bands, self._index[key])
        return {"rgb": rgb.tobytes(), "shape": list(rgb.shape[:2]), "box": list(bands)}

    def box_bands(self, box, image_shape) -> list[list[int]]:
        """The box ``(y0, x0, y1, x1)`` (image pixels) as bands ``[r0, r1, c0, c1, level]`` of
        the overlay panel, clipped to it, drawn as :func:`cam_edu.viz.draw_box` draws a box
        found from a map: dashed white, :data:`cam_edu.viz.BOX_PT` wide, on a dark line as
        much wider, dashes and gaps :data:`cam_edu.viz.FOUND_DASH` line widths long."""
        p = self.panels["overlay"]
        h, w = image_shape[:2]
        y0, x0, y1, x1 = box
        # box edges in frame pixels, relative to the panel's first row and column
        top, bottom = p.top + p.height * y0 / h - p.r0, p.top + p.height * y1 / h - p.r0
        left, right = p.left + p.width * x0 / w - p.c0, p.left + p.width * x1 / w - p.c0
        n_rows, n_cols = p.r1 - p.r0, p.c1 - p.c0
        white, dark = self.line_width, 2 * self.line_width
        on, off = (k * white for k in FOUND_DASH)

        def dashes(a, b, across):  # the dashes of a side from a to b, its corners covered
            starts = np.arange(a - dark / 2, b + dark / 2, on + off)
            ends = np.minimum(starts + on, b + across / 2)
            return zip(np.maximum(starts, a - across / 2), ends, strict=True)

        bands = []
        for across, level in ((dark, 25), (white, 255)):
            half = across / 2
            for y in (top, bottom):
                rows = _span(y - half, y + half, n_rows)
                bands += [
                    [*rows, *_span(a, b, n_cols), level] for a, b in dashes(left, right, across)
                ]
            for x in (left, right):
                cols = _span(x - half, x + half, n_cols)
                bands += [
                    [*_span(a, b, n_rows), *cols, level] for a, b in dashes(top, bottom, across)
                ]
        return [b for b in bands if b[0] < b[1] and b[2] < b[3]]

    def scale_numbers(self, limits) -> np.ndarray:
        """The colorbar's numbers (top: ``vmax``, middle, bottom: ``vmin``) as RGB ``(h, w, 3)``
        of the scale panel, in the figure's font at its size."""
        p, bar = self.panels["scale"], self.panels["colorbar"]
        image = PIL.Image.new("RGB", (p.c1 - p.c0, p.r1 - p.r0), "white")
        draw = PIL.ImageDraw.Draw(image)
        vmin, vmax = limits
        for fraction, value in ((0.0, vmax), (0.5, (vmin + vmax) / 2), (1.0, vmin)):
            y = bar.top + fraction * bar.height - p.r0
            draw.text(
                (0, y), f"{value:.3g}".replace("-", "−"), fill="black", font=self._font, anchor="lm"
            )
        return np.asarray(image)


def _span(a: float, b: float, end: int) -> tuple[int, int]:
    """The pixels whose centres lie in ``[a, b)``, at least one, inside ``[0, end)``."""
    lo = int(np.ceil(a - 0.5))
    hi = max(lo + 1, int(np.ceil(b - 0.5)))
    return min(max(lo, 0), end), min(max(hi, 0), end)


def panels(view, alpha: float, names=PANELS[:4]) -> dict[str, np.ndarray]:
    """The RGB uint8 arrays of the panels ``names`` of a view: ``input`` (the image),
    ``overlay`` (the map over the input, by :func:`cam_edu.viz.compose`), ``raw`` (the map
    at its own resolution) and ``colorbar`` (the colour scale, top = ``vmax``)."""
    (vmin, vmax), signed = view.limits, view.signed
    out = {}
    if "input" in names:
        out["input"] = to_uint8(view.image)
    if "overlay" in names:
        out["overlay"] = to_uint8(compose(view.under, view.picture, alpha, signed, vmin, vmax))
    if "raw" in names:
        out["raw"] = to_uint8(colorize(view.heatmap, signed, vmin, vmax))
    if "colorbar" in names:
        levels = (255.5 - np.arange(256)) / 256 * (vmax - vmin) + vmin
        out["colorbar"] = to_uint8(colorize(levels[:, None], signed, vmin, vmax))
    return out


def png(rgb: np.ndarray) -> bytes:
    """An RGB uint8 array as PNG bytes (fast compression: the picture travels often)."""
    buf = io.BytesIO()
    PIL.Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in ``[0, 1]`` as uint8."""
    return (np.asarray(rgb) * 255.0 + 0.5).astype(np.uint8)
