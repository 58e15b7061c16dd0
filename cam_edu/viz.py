"""Heatmaps for people: upsampling, normalization, overlays and plot grids.

>>> import numpy as np
>>> upsample(np.eye(7), (28, 28)).shape
(28, 28)
>>> normalize(np.array([[1.0, 3.0], [2.0, 5.0]])).tolist()
[[0.0, 0.5], [0.25, 1.0]]

The course draws every map in one picture language, and this module is its only author:

- a **signed** map (a raw CAM, occlusion, LIME weights, a difference of maps) on the
  diverging :data:`SIGNED_CMAP`, centred at 0 with symmetric limits;
- an **unsigned** or min-max scaled map on the perceptually uniform :data:`UNSIGNED_CMAP`
  (``jet`` invents edges and hides order; a lesson may show it only to say so);
- the input in grey under the map (a digit or a beam also outlined), so it stays readable;
- truth (boxes, positions) in :data:`TRUTH_COLOR`, which neither colormap uses; a box found
  from the map dashed white;
- a colorbar that says what the colours show; titles at least 9 pt at the displayed size.

:func:`show_map` draws one panel, :func:`plot_cam_grid` a grid, :func:`overlay` the picture
as an array (for the explorer).
"""

from __future__ import annotations

import functools
import io
import warnings
from typing import NamedTuple

import matplotlib as mpl
import matplotlib.patheffects
import numpy as np
import tensorflow as tf
from scipy import ndimage

from cam_edu.extras import require
from cam_edu.localize import as_box
from cam_edu.validate import as_float_array, as_heatmap

UPSAMPLING_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3")
SIGNED_CMAP = "RdBu_r"  # diverging, white at 0: evidence for (red) and against (blue)
UNSIGNED_CMAP = "inferno"  # perceptually uniform: brighter is more
TRUTH_COLOR = "#00e05a"  # true boxes and positions: a green neither colormap uses
MAX_WIDTH_IN = 7.4  # the lessons' column at 100 dpi: wider figures would be shrunk
TITLE_PT, LABEL_PT = 10, 9  # font sizes of panel titles and of labels and ticks
BOX_PT = 1.6  # the width of a box's line; its dark edge adds as much again
FOUND_DASH = (3, 2)  # a box found from a map: dashes and gaps, in line widths (matplotlib's)
FIGURE_PIXELS = 128  # a map on its image is drawn at least this many pixels high in figures


def upsample(heatmap, size, method: str = "bilinear") -> np.ndarray:
    """Resize a heatmap ``(H, W)`` or a batch ``(N, H, W)`` to ``size = (H_out, W_out)``.

    Uses ``tf.image.resize`` with ``method`` in ``UPSAMPLING_METHODS``. Bicubic
    and Lanczos can overshoot the input's range slightly.

    >>> upsample(np.ones((2, 7, 7)), (14, 14), method="nearest").shape
    (2, 14, 14)
    """
    m = as_heatmap(heatmap, allow_batch=True)
    if method not in UPSAMPLING_METHODS:
        raise ValueError(f"method must be one of {UPSAMPLING_METHODS}; got {method!r}.")
    if (
        not hasattr(size, "__len__")
        or len(size) != 2
        or not all(isinstance(s, int | np.integer) and s > 0 for s in size)
    ):
        raise ValueError(f"size must be (height, width), two positive ints; got {size!r}.")
    return _upsample(m, tuple(int(s) for s in size), method)


def _upsample(m: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """:func:`upsample` of a checked float32 map ``(H, W)`` or ``(N, H, W)``, unchecked."""
    batch = m if m.ndim == 3 else m[None]
    out = tf.image.resize(batch[..., None], size, method=method).numpy()[..., 0]
    return out if m.ndim == 3 else out[0]


def min_max(values, axis=(-2, -1)) -> np.ndarray:
    """Scale ``values`` to ``[0, 1]`` over ``axis`` (each map, by default): float32 of the
    same shape; a constant slice becomes all zeros (it carries no ranking), not NaN.

    The one min-max rule of the package: :func:`normalize` (checked, with a warning for
    constant maps), Score-CAM's masks and the explorer's rescaled images use it.

    >>> min_max(np.array([[[1.0, 3.0]], [[2.0, 2.0]]])).tolist()
    [[[0.0, 1.0]], [[0.0, 0.0]]]
    >>> (min_max(np.arange(5.0).reshape(1, 1, 5, 1), axis=(1, 2, 3)) * 4).ravel().tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    v = np.asarray(values)
    low = v.min(axis=axis, keepdims=True)
    span = v.max(axis=axis, keepdims=True) - low
    return np.where(span > 0, (v - low) / np.where(span > 0, span, 1.0), 0.0).astype(np.float32)


def normalize(heatmap, relu: bool = False) -> np.ndarray:
    """Min-max scale each map to ``[0, 1]`` (:func:`min_max`); a constant map becomes all
    zeros.

    Args:
        heatmap: ``(H, W)`` or ``(N, H, W)``.
        relu: clip negative values to 0 first (as Grad-CAM does).

    A constant map carries no location information; it is returned as zeros
    with a warning rather than as NaN (0 / 0). NaN input raises ``ValueError``.

    >>> normalize(np.array([[0.0, 2.0], [1.0, 4.0]])).tolist()
    [[0.0, 0.5], [0.25, 1.0]]
    """
    m = as_heatmap(heatmap, allow_batch=True)
    batch = np.maximum(m, 0.0) if relu else m
    batch = batch if m.ndim == 3 else batch[None]
    constant = np.ptp(batch, axis=(1, 2)) == 0
    if constant.any():
        warnings.warn(
            f"{int(constant.sum())} heatmap(s) are constant (value "
            f"{float(batch[constant][0, 0, 0]):g}), but min-max normalization expects "
            "max > min; they carry no location and are shown as zeros.",
            stacklevel=2,
        )
    out = min_max(batch)
    return out if m.ndim == 3 else out[0]


def as_display_image(image, name: str = "image") -> np.ndarray:
    """An image ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` as float RGB in ``[0, 1]``.

    uint8 images are divided by 255; float images must already lie in ``[0, 1]``.
    """
    raw = np.asarray(image.numpy() if hasattr(image, "numpy") else image)
    arr = as_float_array(raw, name)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(
            f"{name} must have shape (H, W), (H, W, 1) or (H, W, 3); got {raw.shape}. "
            "Pass one image, not a batch: images[i]."
        )
    if np.issubdtype(raw.dtype, np.integer):
        if raw.min() < 0 or raw.max() > 255:
            raise ValueError(
                f"{name} is an integer image with values in [{raw.min()}, {raw.max()}]; "
                "expected 0..255 (uint8). Scale it to 0..255, or pass floats in [0, 1]."
            )
        return arr / 255.0
    if arr.min() < -1e-3 or arr.max() > 1.0 + 1e-3:
        raise ValueError(
            f"{name} is a float image with values in [{arr.min():g}, {arr.max():g}]; "
            "expected [0, 1]. Divide 0-255 images by 255 (or pass them as uint8); undo "
            "model-specific preprocessing before plotting."
        )
    return np.clip(arr, 0.0, 1.0)


def map_norm(heatmap, signed: bool, vmin=None, vmax=None) -> mpl.colors.Normalize:
    """The colour scale of a map: what value each end of the colormap stands for.

    A signed map (a raw CAM, occlusion, LIME weights, a difference of maps) is centred at 0
    with symmetric limits ``[-v, v]``, ``v = vmax`` or ``max |heatmap|``. An unsigned map
    runs from ``vmin`` to ``vmax``, each defaulting to the map's own minimum and maximum
    (min-max scaling). Pass the same limits to several panels to compare them.

    >>> map_norm(np.array([[-1.0, 3.0]]), signed=True).vmin
    -3.0
    >>> n = map_norm(np.array([[1.0, 3.0]]), signed=False); (n.vmin, n.vmax)
    (1.0, 3.0)
    """
    m = np.asarray(heatmap, np.float32)
    if signed:
        v = float(np.abs(m).max()) if vmax is None else float(vmax)
        v = v if v > 0 else 1.0
        return mpl.colors.Normalize(-v, v)
    lo = float(m.min()) if vmin is None else float(vmin)
    hi = float(m.max()) if vmax is None else float(vmax)
    return mpl.colors.Normalize(lo, hi if hi > lo else lo + 1.0)


def default_cmap(signed: bool) -> str:
    """The course's colormap: diverging for signed maps, perceptually uniform otherwise.

    >>> default_cmap(True), default_cmap(False)
    ('RdBu_r', 'inferno')
    """
    return SIGNED_CMAP if signed else UNSIGNED_CMAP


def grey(image) -> np.ndarray:
    """An image ``(H, W[, 1|3])`` as grey levels ``(H, W)`` in ``[0, 1]`` (Rec. 601 luma).

    >>> grey(np.ones((2, 2, 3), np.uint8) * 255).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    rgb = as_display_image(image)
    return (rgb @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.float32)


def outline(image, size=None) -> np.ndarray:
    """The input's outline for drawing over a map: ``(H', W')`` int8, 1 on the bright side
    of the edge, -1 on the dark side, 0 elsewhere.

    The image is resized to ``size`` ``(H', W')`` (default its own), so that the line is one
    pixel of the picture wide however coarse the image, and cut at the middle of its range.

    >>> im = np.zeros((4, 4)); im[1:3, 1:3] = 1.0
    >>> outline(im).tolist()[1]
    [-1, 1, 1, -1]
    """
    g = grey(image)
    size = g.shape if size is None else tuple(int(s) for s in size)
    if size != g.shape:
        g = tf.image.resize(g[None, ..., None], size, method="bilinear").numpy()[0, ..., 0]
    ink = g > 0.5 * (float(g.min()) + float(g.max()))
    inner = ink & ~ndimage.binary_erosion(ink, border_value=1)
    outer = ndimage.binary_dilation(ink) & ~ink
    return inner.astype(np.int8) - outer.astype(np.int8)


def overlay(
    image,
    heatmap,
    alpha: float | None = None,
    cmap: str | None = None,
    method: str = "bilinear",
    signed: bool = False,
    vmin=None,
    vmax=None,
    size=None,
) -> np.ndarray:
    """A map on its input: the course's picture, as an array (figures and the explorer).

    Every colour in the picture belongs to the map; the input stays readable:

    - a one-channel image (a digit, a beam) is drawn as its :func:`outline`, a white line
      with a dark edge, over the map (opaque by default);
    - a colour photo is drawn in grey under the map (``alpha`` 0.6 by default).

    Args:
        image: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``; uint8 0-255 or float 0-1.
        heatmap: ``(h, w)``; upsampled to the picture's size.
        alpha: the map's opacity over the grey image, in ``[0, 1]``.
        cmap: a matplotlib colormap name; default :func:`default_cmap`.
        method: upsampling method (see :func:`upsample`).
        signed: centre the scale at 0 (see :func:`map_norm`).
        vmin, vmax: the scale's limits (see :func:`map_norm`).
        size: the picture's ``(height, width)``, default the image's; larger sizes give
            a finer outline.

    Returns:
        float RGB image ``(*size, 3)`` in ``[0, 1]``.

    >>> overlay(np.zeros((28, 28)), np.eye(7)).shape
    (28, 28, 3)
    """
    under = underlay(image, size)
    m = as_heatmap(heatmap)
    if m.shape != under.grey.shape:
        m = upsample(m, under.grey.shape, method=method)
    return compose(under, m, alpha, signed, vmin, vmax, cmap)


class Underlay(NamedTuple):
    """What a map is drawn over: the input in grey and, for a one-channel input, its outline.

    Attributes:
        grey: the input's grey levels at the picture's size ``(H, W)`` in ``[0, 1]``.
        edge: its :func:`outline` ``(H, W)`` for a one-channel input, else ``None``.
        alpha: the map's default opacity over it (:func:`default_alpha`).
    """

    grey: np.ndarray
    edge: np.ndarray | None
    alpha: float


def underlay(image, size=None) -> Underlay:
    """The :class:`Underlay` of ``image`` ``(H, W[, 1|3])`` at ``size`` (default its own):
    made once per image, it serves every map drawn over it (:func:`compose`).

    >>> under = underlay(np.zeros((28, 28, 1)), (56, 56))
    >>> under.grey.shape, under.edge.shape, under.alpha
    ((56, 56), (56, 56), 1.0)
    """
    g = grey(image)
    size = g.shape if size is None else tuple(int(s) for s in size)
    if g.shape != size:
        g = _upsample(g, size, "bilinear")
    alpha = default_alpha(image)
    return Underlay(g, outline(image, size) if alpha == 1.0 else None, alpha)


def compose(under: Underlay, heatmap, alpha=None, signed=False, vmin=None, vmax=None, cmap=None):
    """The map ``heatmap`` (already at the underlay's size) over ``under``: float RGB
    ``(H, W, 3)`` in ``[0, 1]``; the rest as :func:`overlay`.

    >>> compose(underlay(np.zeros((4, 4))), np.eye(4)).shape
    (4, 4, 3)
    """
    alpha = under.alpha if alpha is None else alpha
    if not isinstance(alpha, int | float | np.floating | np.integer) or isinstance(alpha, bool):
        raise TypeError(f"alpha must be a number in [0, 1] (the map's opacity); got {alpha!r}.")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1] (the map's opacity); got {alpha}.")
    if np.shape(heatmap) != under.grey.shape:
        raise ValueError(
            f"heatmap has shape {np.shape(heatmap)}, but the underlay is {under.grey.shape}; "
            "upsample it first (cam_edu.viz.upsample), or call overlay(image, heatmap)."
        )
    colored = colorize(heatmap, signed, vmin, vmax, cmap)
    picture = _blend(np.repeat(under.grey[..., None], 3, axis=-1), colored, float(alpha))
    if under.edge is not None:  # one channel: the input's outline on top
        picture[under.edge > 0] = 1.0
        picture[under.edge < 0] = 0.1
    return picture


def default_alpha(image) -> float:
    """The map's default opacity over ``image``: opaque over a one-channel image (outlined
    on top), 0.6 over a colour photo (seen in grey through the map).

    >>> default_alpha(np.zeros((28, 28, 1))), default_alpha(np.zeros((8, 8, 3)))
    (1.0, 0.6)
    """
    shape = np.shape(image)
    return 1.0 if len(shape) == 2 or shape[-1] == 1 else 0.6


def colorize(heatmap, signed: bool, vmin=None, vmax=None, cmap: str | None = None) -> np.ndarray:
    """A map's colours, float RGB ``(H, W, 3)`` in ``[0, 1]``, by the course's rule:
    :func:`map_norm` for the limits, :func:`default_cmap` unless ``cmap`` is given.

    >>> rgb = colorize(np.array([[-1.0, 0.0, 1.0]]), signed=True)  # blue, white, red
    >>> bool(rgb[0, 0, 2] > rgb[0, 0, 0]), bool(rgb[0, 2, 0] > rgb[0, 2, 2]), rgb[0, 1].min() > 0.9
    (True, True, np.True_)
    """
    m = np.asarray(heatmap, np.float32)
    table = _lookup_table(default_cmap(signed) if cmap is None else cmap)
    norm = map_norm(m, signed, vmin, vmax)
    scaled = (m - norm.vmin) * (len(table) / (norm.vmax - norm.vmin))  # matplotlib's bins
    return table[np.clip(scaled, 0, len(table) - 1).astype(np.intp)]


@functools.lru_cache(maxsize=32)
def _lookup_table(cmap: str) -> np.ndarray:
    """The colours of a named colormap, ``(N, 3)`` float32 (its N colours, as it maps
    ``[0, 1]``: value ``x`` gets colour ``floor(x * N)``)."""
    if cmap not in mpl.colormaps:
        raise ValueError(
            f"cmap {cmap!r} is not a matplotlib colormap; try {UNSIGNED_CMAP!r} (unsigned maps) "
            f"or {SIGNED_CMAP!r} (signed maps)."
        )
    colormap = mpl.colormaps[cmap]
    return colormap(np.arange(colormap.N))[:, :3].astype(np.float32)


def _blend(rgb: np.ndarray, colored: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * rgb + alpha * colored``, clipped to ``[0, 1]`` (rounding), unchecked."""
    out = ((1.0 - alpha) * rgb + alpha * colored).astype(np.float32, copy=False)
    return np.clip(out, 0.0, 1.0, out=out)


def _stroked(width: float) -> list:
    """The path effect of a line ``width`` points wide with a thin dark edge (:data:`BOX_PT`
    wider): visible on any colour of any map."""
    return [mpl.patheffects.withStroke(linewidth=width + BOX_PT, foreground="black")]


def draw_box(ax, box, truth: bool = False, label: str | None = None, image_shape=None):
    """Draw a box ``(y0, x0, y1, x1)`` (exclusive ends) on a matplotlib axes.

    A box found from a map is dashed white; a true box (``truth=True``) is solid
    :data:`TRUTH_COLOR`, a colour none of the course's colormaps uses. Both have a dark
    edge, so they show on any map. A side on the image's border (``image_shape`` ``(H, W)``,
    else the shape of the last image drawn on ``ax``) is drawn 1 pixel inside, so that a box
    of the whole image shows its four sides. With ``image_shape``, a box reaching outside
    the image raises ``ValueError``. Returns the rectangle.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> rect = draw_box(ax, (0, 0, 28, 10), image_shape=(28, 28))
    >>> rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()
    (0.5, 0.5, 9.0, 26.0)
    >>> plt.close(fig)
    """
    return _add_rectangle(
        ax,
        box,
        image_shape,
        color=TRUTH_COLOR if truth else "white",
        linestyle="-" if truth else (0, FOUND_DASH),
        label=label,
    )


def _add_rectangle(ax, box, image_shape, **style) -> mpl.patches.Rectangle:
    """The rectangle of a box ``(y0, x0, y1, x1)`` on ``ax``, :data:`BOX_PT` wide with a dark
    edge. A side on the image's border would lie on the axes' frame, half cut off and under
    it: such a side is drawn 1 pixel inside (when the box is more than 2 pixels across)."""
    y0, x0, y1, x1 = as_box(box, image_shape=image_shape)
    if image_shape is None and ax.images:
        image_shape = ax.images[-1].get_array().shape
    top, left, bottom, right = y0 - 0.5, x0 - 0.5, y1 - 0.5, x1 - 0.5  # pixel edges
    if image_shape is not None:
        h, w = image_shape[:2]
        if y1 - y0 > 2:
            top, bottom = top + (y0 <= 0), bottom - (y1 >= h)
        if x1 - x0 > 2:
            left, right = left + (x0 <= 0), right - (x1 >= w)
    rect = mpl.patches.Rectangle(
        (left, top),
        right - left,
        bottom - top,
        fill=False,
        lw=BOX_PT,
        path_effects=_stroked(BOX_PT),
        **style,
    )
    ax.add_patch(rect)
    return rect


def mark_truth_x(ax, x: float, label: str | None = None):
    """A vertical line at column ``x`` (pixels) in :data:`TRUTH_COLOR`: a true position,
    such as the crack on a beam. Returns the line."""
    return ax.axvline(x, color=TRUTH_COLOR, lw=BOX_PT, label=label, path_effects=_stroked(BOX_PT))


def draw_window(ax, box, label: str | None = None, image_shape=None):
    """Draw a window of the input ``(y0, x0, y1, x1)`` (exclusive ends), such as the pixels
    one cell of a map sees: dotted light grey with a dark edge, neither a box found from a
    map (dashed white, :func:`draw_box`) nor a true one. Returns the rectangle.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> draw_window(ax, (13, 5, 28, 23), image_shape=(28, 28)).get_linestyle()
    ':'
    >>> plt.close(fig)
    """
    return _add_rectangle(ax, box, image_shape, color="0.85", linestyle=":", label=label)


def mark_truth_tick(ax, x: float, label: str | None = None):
    """A triangle in :data:`TRUTH_COLOR` under the axes, pointing up at column ``x`` (data
    units): a true position that, unlike :func:`mark_truth_x`'s line, hides nothing of the
    picture above it. Returns the marker (a ``Line2D``, drawn outside the axes).

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> tick = mark_truth_tick(ax, 3.0)
    >>> tick.get_xdata().tolist(), tick.get_marker(), tick.get_clip_on()
    ([3.0], '^', False)
    >>> plt.close(fig)
    """
    below = mpl.transforms.ScaledTranslation(0, -5 / 72, ax.figure.dpi_scale_trans)  # 5 pt
    (tick,) = ax.plot(
        [x],
        [0.0],
        linestyle="",
        marker="^",
        markersize=8,
        color=TRUTH_COLOR,
        markeredgecolor="black",
        markeredgewidth=0.8,
        transform=ax.get_xaxis_transform() + below,  # x in data units, y at the axes' bottom
        clip_on=False,
        label=label,
    )
    return tick


def show_image(ax, image, title: str = "") -> None:
    """Draw an input image alone (grey levels for one channel), untouched, without ticks."""
    raw = np.asarray(image)
    if raw.ndim == 2 or raw.shape[-1] == 1:
        ax.imshow(grey(image), cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(as_display_image(image))
    ax.set_title(title, fontsize=TITLE_PT)
    ax.set_xticks([])
    ax.set_yticks([])


def show_map(
    ax,
    heatmap,
    image=None,
    *,
    signed: bool = False,
    vmin=None,
    vmax=None,
    cmap: str | None = None,
    alpha: float | None = None,
    title: str = "",
    box=None,
    truth_box=None,
    truth_x=None,
):
    """Draw one map the course's way; returns a ``ScalarMappable`` for :func:`add_colorbar`.

    With ``image``, the map is drawn on it as :func:`overlay` draws it (a one-channel image
    outlined, a photo in grey under the map), so the input stays readable.
    Without it, the map is drawn alone at its own resolution, one square per cell.

    Args:
        ax: a matplotlib axes.
        heatmap: one map ``(h, w)``; upsampled to the image's size.
        image: optional ``(H, W)`` or ``(H, W, 1|3)`` image under the map.
        signed: a signed map (raw CAM, occlusion, LIME weights, a difference) on a diverging
            colormap centred at 0; otherwise an unsigned map on a perceptually uniform one.
        vmin, vmax: the colour scale (:func:`map_norm`); share them across panels to
            compare maps on one scale.
        cmap: a colormap name; default :func:`default_cmap`.
        alpha: the map's opacity over the image (see :func:`overlay`).
        title: the panel's title.
        box: a box found from the map, ``(y0, x0, y1, x1)`` (dashed white).
        truth_box: the true box (solid :data:`TRUTH_COLOR`).
        truth_x: a true column position, drawn as a vertical line.

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> show_map(ax, np.array([[-1.0, 2.0], [0.0, 1.0]]), signed=True).get_clim()
    (-2.0, 2.0)
    >>> plt.close(fig)
    """
    m = as_heatmap(heatmap)
    cmap = default_cmap(signed) if cmap is None else cmap
    if image is None:
        norm = map_norm(m, signed, vmin, vmax)
        ax.imshow(m, cmap=cmap, norm=norm, interpolation="nearest")
        shape = m.shape
    else:
        shape = grey(image).shape
        big = m if m.shape == shape else upsample(m, shape)
        norm = map_norm(big, signed, vmin, vmax)
        zoom = max(1, -(-FIGURE_PIXELS // max(shape)))
        picture = overlay(
            image,
            big,
            alpha,
            cmap,
            signed=signed,
            vmin=norm.vmin,
            vmax=norm.vmax,
            size=(shape[0] * zoom, shape[1] * zoom),
        )
        ax.imshow(picture, extent=(-0.5, shape[1] - 0.5, shape[0] - 0.5, -0.5))
    if box is not None:
        draw_box(ax, box, image_shape=shape)
    if truth_box is not None:
        draw_box(ax, truth_box, truth=True, image_shape=shape)
    if truth_x is not None:
        mark_truth_x(ax, truth_x)
    ax.set_title(title, fontsize=TITLE_PT)
    ax.set_xticks([])
    ax.set_yticks([])
    return mpl.cm.ScalarMappable(norm=norm, cmap=cmap)


def add_colorbar(fig, mappable, ax, label: str, **kwargs):
    """A colorbar for ``mappable`` beside ``ax`` (an axes or an array of them), labelled
    with what the colours show (``"raw CAM (logit units)"``). Returns the colorbar."""
    bar = fig.colorbar(mappable, ax=ax, **kwargs)
    bar.set_label(label, fontsize=LABEL_PT)
    bar.ax.tick_params(labelsize=LABEL_PT)
    return bar


def map_figure(nrows: int = 1, ncols: int = 1, panel: float = 1.6, extra_width: float = 0.9):
    """A figure of ``nrows x ncols`` square map panels ``panel`` inches wide, at most
    :data:`MAX_WIDTH_IN` wide (the lessons' column), with room for a colorbar.

    Returns ``(fig, axes)``, ``axes`` always 2-D.

    >>> fig, axes = map_figure(2, 10)
    >>> axes.shape, bool(fig.get_figwidth() <= MAX_WIDTH_IN)
    ((2, 10), True)
    """
    import matplotlib.pyplot as plt

    width = min(MAX_WIDTH_IN, panel * ncols + extra_width)
    side = (width - extra_width) / ncols
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width, side * nrows + 0.45 * nrows),
        squeeze=False,
        layout="constrained",
    )
    return fig, axes


def plot_cam_grid(
    images,
    heatmaps,
    titles=None,
    ncols: int = 5,
    signed: bool = False,
    scale: str = "own",
    label: str | None = None,
    boxes=None,
    truth_boxes=None,
    alpha: float | None = None,
    suptitle: str = "",
    size: float = 1.6,
):
    """A grid of maps on their images, with one colorbar that says what the colours are.

    Args:
        images: ``(N, H, W[, ch])``.
        heatmaps: ``(N, h, w)``.
        titles, boxes, truth_boxes: one entry per image (``None`` entries allowed).
        ncols: panels per row.
        signed: signed maps, centred at 0 (see :func:`show_map`).
        scale: ``"own"``: each map on its own scale (min-max, or ``map / max |map|`` when
            signed), so the colours compare places *within* a map; ``"common"``: one scale
            for all panels, in the maps' units, so the colours also compare maps.
        label: the colorbar's label (what the maps are, e.g. ``"raw CAM (logit units)"``).
        alpha: the maps' opacity over the images.
        suptitle: a title over the grid.
        size: a panel's width in inches (the figure is at most :data:`MAX_WIDTH_IN` wide).

    A constant map (for instance a Grad-CAM that is all zero after its ReLU) carries no
    location: its title says so. Returns the figure.

    >>> fig = plot_cam_grid(np.zeros((2, 28, 28)), np.random.rand(2, 7, 7))  # doctest: +SKIP
    """
    n = len(images)
    if len(heatmaps) != n:
        raise ValueError(f"got {n} images but {len(heatmaps)} heatmaps; pass one map per image.")
    for name, values in (("titles", titles), ("boxes", boxes), ("truth_boxes", truth_boxes)):
        if values is not None and len(values) != n:
            raise ValueError(
                f"got {n} images but {len(values)} {name}; pass one per image (None for none)."
            )
    if scale not in ("own", "common"):
        raise ValueError(f"scale must be 'own' or 'common'; got {scale!r}.")
    maps = [as_heatmap(heatmaps[i], f"heatmaps[{i}]") for i in range(n)]
    ncols = max(1, min(ncols, n))
    fig, axes = map_figure(-(-n // ncols), ncols, panel=size)
    if scale == "common":
        stacked = np.stack([m.ravel() for m in maps]) if maps else np.zeros((1, 1))
        norm = map_norm(stacked, signed)
        vmin, vmax = norm.vmin, norm.vmax
    else:
        vmin, vmax = (-1.0, 1.0) if signed else (0.0, 1.0)
    mappable = None
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        m = maps[i]
        title = "" if titles is None else titles[i]
        if m.min() == m.max():
            title = f"{title}\n(constant map: {float(m.max()):g})".lstrip()
        if scale == "own":
            m = m / max(float(np.abs(m).max()), 1e-12) if signed else min_max(m)
        mappable = show_map(
            ax,
            m,
            images[i],
            signed=signed,
            vmin=vmin,
            vmax=vmax,
            alpha=alpha,
            title=title,
            box=None if boxes is None else boxes[i],
            truth_box=None if truth_boxes is None else truth_boxes[i],
        )
    if label is None:
        label = "map / max |map|, per panel" if signed else "min-max per panel"
        label = label if scale == "own" else "map value"
    if mappable is not None:
        add_colorbar(fig, mappable, axes, label, shrink=0.9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=TITLE_PT)
    return fig


def show(fig, alt: str, dpi: int = 100) -> None:
    """Display ``fig`` in a notebook as a PNG with ``alt``, one sentence saying what it
    shows (screen readers, the course site and the slides use it), then close it.

    At ``dpi`` 100 a figure at most :data:`MAX_WIDTH_IN` wide is shown at its own size, so
    its fonts keep their point sizes.
    """
    import matplotlib.pyplot as plt

    ipython = require("IPython.display", "course", "showing a figure in a notebook")

    if not isinstance(alt, str) or len(alt.split()) < 4:
        raise ValueError(
            f"alt must be a sentence saying what the figure shows (four words or more); "
            f"got {alt!r}."
        )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    ipython.display(ipython.Image(data=buffer.getvalue(), format="png", alt=alt.strip()))
