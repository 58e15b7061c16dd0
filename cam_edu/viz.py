"""Heatmaps for people: upsampling, normalization, overlays and plot grids.

>>> import numpy as np
>>> upsample(np.eye(7), (28, 28)).shape
(28, 28)
>>> normalize(np.array([[1.0, 3.0], [2.0, 5.0]])).tolist()
[[0.0, 0.5], [0.25, 1.0]]

:func:`overlay`, :func:`show_cam` and :func:`plot_cam_grid` scale each map to [0, 1]
(where it is high); :func:`show_signed_cam` keeps its sign and zero level.
"""

from __future__ import annotations

import warnings

import matplotlib as mpl
import numpy as np
import tensorflow as tf

from cam_edu.localize import as_box
from cam_edu.validate import as_float_array, as_heatmap

UPSAMPLING_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3")


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


def normalize(heatmap, relu: bool = False) -> np.ndarray:
    """Min-max scale each map to ``[0, 1]``; a constant map becomes all zeros.

    Args:
        heatmap: ``(H, W)`` or ``(N, H, W)``.
        relu: clip negative values to 0 first (as Grad-CAM does).

    A constant map carries no location information; it is returned as zeros
    with a warning rather than as NaN (0 / 0). NaN input raises ``ValueError``.

    >>> normalize(np.array([[0.0, 2.0], [1.0, 4.0]])).tolist()
    [[0.0, 0.5], [0.25, 1.0]]
    """
    m = as_heatmap(heatmap, allow_batch=True)
    out, lo, constant = _normalize(m if m.ndim == 3 else m[None], relu)
    if constant.any():
        warnings.warn(
            f"{int(constant.sum())} heatmap(s) are constant (value "
            f"{float(lo[constant][0]):g}), but min-max normalization expects max > min; "
            "they carry no location and are shown as zeros.",
            stacklevel=2,
        )
    return out if m.ndim == 3 else out[0]


def _normalize(batch: np.ndarray, relu: bool = False):
    """:func:`normalize` of a checked float32 batch ``(N, H, W)``, unchecked and silent.

    Returns the maps ``(N, H, W)``, each map's minimum ``(N,)`` and whether it is constant.
    """
    if relu:
        batch = np.maximum(batch, 0.0)
    lo = batch.min(axis=(1, 2), keepdims=True)
    span = batch.max(axis=(1, 2), keepdims=True) - lo
    out = np.where(span > 0, (batch - lo) / np.where(span > 0, span, 1.0), 0.0)
    return out.astype(np.float32), lo[:, 0, 0], span[:, 0, 0] == 0


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


def overlay(image, heatmap, alpha: float = 0.5, cmap: str = "jet", method: str = "bilinear"):
    """Blend a colored heatmap over an image.

    Args:
        image: ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``; uint8 0-255 or float 0-1.
        heatmap: ``(h, w)``; upsampled to ``(H, W)`` if smaller, then min-max normalized.
        alpha: heatmap opacity in ``[0, 1]``.
        cmap: a matplotlib colormap name.
        method: upsampling method (see :func:`upsample`).

    Returns:
        float RGB image ``(H, W, 3)`` in ``[0, 1]``.

    >>> overlay(np.zeros((28, 28)), np.eye(7)).shape
    (28, 28, 3)
    """
    rgb = as_display_image(image)
    m = as_heatmap(heatmap)
    if not isinstance(alpha, int | float | np.floating | np.integer) or isinstance(alpha, bool):
        raise TypeError(f"alpha must be a number in [0, 1] (the heatmap's opacity); got {alpha!r}.")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1] (the heatmap's opacity); got {alpha}.")
    if cmap not in mpl.colormaps:
        raise ValueError(f"cmap {cmap!r} is not a matplotlib colormap; try 'jet' or 'viridis'.")
    if m.shape != rgb.shape[:2]:
        m = upsample(m, rgb.shape[:2], method=method)
    return _blend(rgb, _colorize(normalize(m), cmap), float(alpha))


def _colorize(normalized: np.ndarray, cmap) -> np.ndarray:
    """Colors ``(..., 3)`` float32 of a map already scaled to ``[0, 1]``, unchecked.

    ``cmap`` is a colormap name or a ``matplotlib.colors.Colormap`` (reuse one in a loop:
    looking a name up copies the colormap).
    """
    colormap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    return colormap(normalized)[..., :3].astype(np.float32)


def _blend(rgb: np.ndarray, colored: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * rgb + alpha * colored``, clipped to ``[0, 1]`` (rounding), unchecked."""
    out = ((1.0 - alpha) * rgb + alpha * colored).astype(np.float32, copy=False)
    return np.clip(out, 0.0, 1.0, out=out)


def draw_box(ax, box, color: str = "white", label: str | None = None, image_shape=None, **kwargs):
    """Draw a box ``(y0, x0, y1, x1)`` (exclusive ends) on a matplotlib axes.

    With ``image_shape`` ``(H, W)``, a box reaching outside the image raises ``ValueError``.
    """
    y0, x0, y1, x1 = as_box(box, image_shape=image_shape)
    rect = mpl.patches.Rectangle(
        (x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color=color, lw=2, label=label, **kwargs
    )
    ax.add_patch(rect)
    return rect


def show_cam(ax, image, heatmap, title: str = "", alpha: float = 0.5, cmap: str = "jet", box=None):
    """Show one overlay on ``ax``, with an optional box; returns the image artist."""
    blended = overlay(image, heatmap, alpha=alpha, cmap=cmap)
    artist = ax.imshow(blended)
    if box is not None:
        draw_box(ax, box, image_shape=blended.shape[:2])
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return artist


def show_signed_cam(
    ax, heatmap, image=None, title: str = "", cmap: str = "RdBu_r", vmax: float | None = None
):
    """Show a raw CAM with its sign: a diverging colormap centred at 0, the image as contours.

    Red is evidence for the class, blue evidence against, white is zero. Unlike
    :func:`overlay` nothing is min-max scaled, so the zero level stays visible.

    Args:
        ax: a matplotlib axes.
        heatmap: one raw map ``(h, w)`` (any sign); upsampled to the image if one is given.
        image: optional ``(H, W)`` or ``(H, W, 1|3)`` image drawn as grey contour lines.
        title: the axes title.
        cmap: a diverging matplotlib colormap.
        vmax: the colour limit, ``[-vmax, vmax]``; default ``max |heatmap|`` (share one
            ``vmax`` across panels to compare them).

    Returns:
        the image artist (for a colorbar).

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> show_signed_cam(ax, np.array([[-1.0, 2.0], [0.0, 1.0]])).get_clim()
    (-2.0, 2.0)
    >>> plt.close(fig)
    """
    m = as_heatmap(heatmap)
    if image is not None:
        picture = np.squeeze(as_display_image(image))
        picture = picture.mean(axis=-1) if picture.ndim == 3 else picture
        m = upsample(m, picture.shape[:2])
    limit = float(np.abs(m).max()) if vmax is None else float(vmax)
    limit = limit if limit > 0 else 1.0
    artist = ax.imshow(m, cmap=cmap, vmin=-limit, vmax=limit)
    if image is not None:
        ax.contour(picture, levels=[0.5 * float(picture.max() or 1)], colors="0.2", linewidths=0.8)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return artist


def plot_cam_grid(
    images,
    heatmaps,
    titles=None,
    ncols: int = 5,
    alpha: float = 0.5,
    cmap: str = "jet",
    suptitle: str = "",
    boxes=None,
    size: float = 2.0,
):
    """A grid of overlays: ``images`` ``(N, H, W[, ch])`` with ``heatmaps`` ``(N, h, w)``.

    A shared colorbar explains the colors (each map is min-max normalized, so
    0 is the map's minimum and 1 its maximum). A constant map (for instance a
    Grad-CAM that is all zero after its ReLU) carries no location: it is drawn as
    zeros and its title says "constant map", without a warning per panel.
    ``titles`` and ``boxes`` (``None`` entries allowed) need one entry per image.
    Returns the matplotlib figure.

    >>> fig = plot_cam_grid(np.zeros((2, 28, 28)), np.random.rand(2, 7, 7))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    n = len(images)
    if len(heatmaps) != n:
        raise ValueError(f"got {n} images but {len(heatmaps)} heatmaps; pass one map per image.")
    for name, values in (("titles", titles), ("boxes", boxes)):
        if values is not None and len(values) != n:
            raise ValueError(
                f"got {n} images but {len(values)} {name}; pass one per image (None for none)."
            )
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols + 0.8, size * nrows + 0.5),
        squeeze=False,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        box = None if boxes is None else boxes[i]
        title = "" if titles is None else titles[i]
        m = as_heatmap(heatmaps[i], f"heatmaps[{i}]")
        if m.min() == m.max():
            title = f"{title}\n(constant map: {float(m.max()):g})".lstrip()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*constant.*", category=UserWarning)
            show_cam(ax, images[i], m, title, alpha, cmap, box)
    mappable = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0, 1), cmap=cmap)
    fig.colorbar(mappable, ax=axes, shrink=0.8, label="CAM, min-max normalized per map")
    if suptitle:
        fig.suptitle(suptitle)
    return fig
