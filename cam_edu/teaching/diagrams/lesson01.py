"""Diagrams of lesson 01: the CAM pipeline (the CAM paper's Fig. 2) and global average pooling.

Both are drawn for the lessons' MNIST network: ``(7, 7, 128)`` feature maps, 10 classes,
at most :data:`cam_edu.viz.MAX_WIDTH_IN` wide with text of at least 9 pt, and the class
map in the course's picture language (:func:`cam_edu.viz.overlay`).

>>> from cam_edu.teaching.diagrams import registry
>>> {"cam_paper_pipeline", "gap_k_maps"} <= set(registry())
True
>>> cam_paper_pipeline().get_size_inches().round(1).tolist()
[7.4, 3.2]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from cam_edu import viz
from cam_edu.teaching.diagrams import diagram

H, W, K, C = 7, 7, 128, 10
FONT = 9  # points: the diagram is shown at its own width, so this is the size a reader sees
_MAP_COLORS = ("#4c72b0", "#55a868", "#c44e52", "#8172b2")
_WEIGHTS = (0.9, -0.6, 0.4, 1.3)  # illustrative w_k^c, shown with their sign


def _maps(seed: int = 0, n: int = 4) -> np.ndarray:
    """``n`` smooth non-negative 7x7 toy feature maps (after ReLU), ``(n, 7, 7)``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    out = []
    for _ in range(n):
        cy, cx = rng.uniform(1, 5, 2)
        bump = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / rng.uniform(2, 5))
        out.append(np.maximum(bump - 0.15, 0.0))
    return np.array(out)


def _arrow(ax, start, end, text="", dy=0.05):
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.3, color="0.25")
    )
    if text:
        mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + dy)
        ax.text(*mid, text, ha="center", va="bottom", fontsize=FONT, color="0.15")


def _stack(ax, x0, y0, size, maps, depth=0.045):
    """A stack of feature maps drawn as offset little images; returns its right edge."""
    for j, m in enumerate(maps[::-1]):
        k = len(maps) - 1 - j
        off = k * depth
        extent = (x0 + off, x0 + off + size, y0 + off, y0 + off + size)
        ax.imshow(m, cmap="Greys", vmin=0, vmax=1, extent=extent, zorder=2 + j)
        ax.add_patch(
            Rectangle(
                (x0 + off, y0 + off),
                size,
                size,
                fill=False,
                color=_MAP_COLORS[k % 4],
                lw=1.4,
                zorder=2 + j,
            )
        )
    return x0 + size + depth * (len(maps) - 1)


def _digit() -> np.ndarray:
    """A hand-drawn looking 9 on a 28x28 grid (a loop and a stem), ``(28, 28)``."""
    yy, xx = np.mgrid[0:28, 0:28]
    ring = np.abs(np.hypot(yy - 10, xx - 14) - 5.5) < 1.6
    stem = (np.abs(xx - 19 + (yy - 10) * 0.15) < 1.6) & (yy > 10) & (yy < 25)
    return (ring | stem).astype(float)


@diagram
def cam_paper_pipeline() -> plt.Figure:
    """The CAM pipeline: conv maps -> GAP -> K numbers -> dense -> class score, and the map
    built from the same weights: weighted sum of the maps -> upsampled onto the image."""
    fig, ax = plt.subplots(figsize=(viz.MAX_WIDTH_IN, 3.2))
    fig.subplots_adjust(0, 0, 1, 0.93)
    ax.set_xlim(0, 7.4)
    ax.set_ylim(0, 3.1)
    ax.axis("off")
    maps = _maps()
    # top row: image -> CNN -> feature maps -> GAP -> K numbers -> dense -> logits
    ax.imshow(_digit(), cmap="gray", extent=(0.05, 0.85, 2.0, 2.8))
    ax.text(0.45, 1.93, "image\n(28, 28, 1)", ha="center", va="top", fontsize=FONT)
    _arrow(ax, (0.9, 2.4), (1.4, 2.4), "CNN")
    right = _stack(ax, 1.45, 2.05, 0.65, maps)
    ax.text(
        1.85, 1.93, "feature maps $f_k$\n(7, 7, 128), ≥ 0", ha="center", va="top", fontsize=FONT
    )
    _arrow(ax, (right + 0.05, 2.4), (3.0, 2.4), "GAP")
    for k in range(4):
        ax.add_patch(Rectangle((3.05, 2.7 - 0.18 * k), 0.2, 0.15, color=_MAP_COLORS[k], alpha=0.8))
    ax.text(3.15, 1.93, "$F_k$\n(128,)", ha="center", va="top", fontsize=FONT)
    _arrow(ax, (3.35, 2.4), (4.3, 2.4), "dense $w$\n(128, 10)")
    ax.text(
        4.4,
        2.4,
        "$S_c = \\sum_k w_k^c F_k + b_c$\n10 logits → softmax",
        va="center",
        fontsize=FONT,
    )
    # bottom row: the same weights of class c sum the maps, before pooling
    _arrow(ax, (1.85, 1.5), (1.85, 1.12))
    for k, (wk, color) in enumerate(zip(_WEIGHTS, _MAP_COLORS, strict=True)):
        x = 0.4 + 0.85 * k
        ax.imshow(maps[k], cmap="Greys", vmin=0, vmax=1, extent=(x, x + 0.36, 0.52, 0.88))
        ax.add_patch(Rectangle((x, 0.52), 0.36, 0.36, fill=False, color=color, lw=1.4))
        ax.text(x - 0.02, 0.7, f"{wk:+.1f}×", ha="right", va="center", fontsize=FONT)
    ax.text(3.38, 0.7, "+ …", va="center", fontsize=FONT)
    ax.text(1.9, 0.3, "the maps weighted by class $c$'s $w_k^c$", ha="center", fontsize=FONT)
    _arrow(ax, (3.75, 0.7), (4.1, 0.7))
    cam = np.tensordot(np.array(_WEIGHTS), maps, axes=1)
    limit = float(np.abs(cam).max())
    ax.imshow(cam, cmap=viz.SIGNED_CMAP, vmin=-limit, vmax=limit, extent=(4.15, 4.8, 0.38, 1.03))
    ax.text(
        4.47,
        1.1,
        "$M_c = \\sum_k w_k^c f_k$\n(7, 7), any sign",
        ha="center",
        va="bottom",
        fontsize=FONT,
    )
    _arrow(ax, (4.85, 0.7), (5.6, 0.7), "upsample")
    picture = viz.overlay(_digit(), cam, signed=True, vmax=limit, size=(112, 112))
    ax.imshow(picture, extent=(5.65, 6.45, 0.3, 1.1))
    ax.text(6.52, 0.7, "red raises $S_c$,\nblue lowers it", va="center", fontsize=FONT)
    fig.suptitle(
        "Class activation mapping (Zhou et al. 2016, Fig. 2), for the MNIST network (toy maps)",
        fontsize=10,
    )
    return fig


@diagram
def gap_k_maps() -> plt.Figure:
    """Global average pooling: each of the K feature maps is averaged to one number."""
    maps = _maps(seed=3, n=4)
    fig, axes = plt.subplots(
        2,
        5,
        figsize=(viz.MAX_WIDTH_IN, 2.9),
        gridspec_kw={"height_ratios": [3, 1]},
        layout="constrained",
    )
    columns = {0: (0, "1"), 1: (1, "2"), 2: (2, "3"), 4: (3, "128")}
    for j in range(5):
        top, bottom = axes[0, j], axes[1, j]
        bottom.axis("off")
        if j not in columns:
            top.axis("off")
            top.text(0.5, 0.5, "…", ha="center", va="center", fontsize=20)
            bottom.text(0.5, 0.5, "…", ha="center", va="center", fontsize=14)
            continue
        k, name = columns[j]
        top.imshow(maps[k], cmap="Greys", vmin=0, vmax=1)
        top.set_xticks([])
        top.set_yticks([])
        for spine in top.spines.values():
            spine.set_color(_MAP_COLORS[k])
            spine.set_linewidth(2)
        top.set_title(f"$f_{{{name}}}$: (7, 7)", fontsize=FONT)
        bottom.text(
            0.5,
            0.5,
            f"$F_{{{name}}} = \\frac{{1}}{{49}}\\sum_{{x,y}} f_{{{name}}} = {maps[k].mean():.2f}$",
            ha="center",
            va="center",
            fontsize=FONT,
            color=_MAP_COLORS[k],
        )
    fig.suptitle(
        "GAP: each of the K = 128 feature maps (7, 7) becomes one number; (7, 7, 128) → (128,)\n"
        "where a feature was is forgotten, how much of it there was is kept",
        fontsize=10,
    )
    return fig
