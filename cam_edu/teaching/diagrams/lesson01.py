"""Diagrams of lesson 01: the CAM pipeline (the CAM paper's Fig. 2) and global average pooling.

Both are drawn for the lessons' MNIST network: ``(7, 7, 128)`` feature maps, 10 classes.

>>> from cam_edu.teaching.diagrams import registry
>>> {"cam_paper_pipeline", "gap_k_maps"} <= set(registry())
True
>>> cam_paper_pipeline().get_size_inches().round(1).tolist()
[9.0, 3.4]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from cam_edu.teaching.diagrams import diagram

H, W, K, C = 7, 7, 128, 10
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
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.4, color="0.25")
    )
    if text:
        mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + dy)
        ax.text(*mid, text, ha="center", va="bottom", fontsize=8.5, color="0.15")


def _stack(ax, x0, y0, size, maps, label, depth=0.045):
    """A stack of feature maps drawn as offset little images; returns its right edge."""
    for j, m in enumerate(maps[::-1]):
        k = len(maps) - 1 - j
        off = k * depth
        ax.imshow(
            m,
            cmap="Greys",
            vmin=0,
            vmax=1,
            extent=(x0 + off, x0 + off + size, y0 + off, y0 + off + size),
            zorder=2 + j,
        )
        ax.add_patch(
            Rectangle(
                (x0 + off, y0 + off),
                size,
                size,
                fill=False,
                color=_MAP_COLORS[k % 4],
                lw=1.6,
                zorder=2 + j,
            )
        )
    ax.text(x0 + size / 2 + depth, y0 - 0.05, label, ha="center", va="top", fontsize=8.5)
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
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.set_xlim(0, 9)
    ax.set_ylim(0, 3.4)
    ax.axis("off")
    maps = _maps()
    # the image and the CNN
    ax.imshow(_digit(), cmap="gray", extent=(0.1, 1.1, 1.9, 2.9))
    ax.text(0.6, 1.82, "image\n(28, 28, 1)", ha="center", va="top", fontsize=8.5)
    _arrow(ax, (1.15, 2.4), (1.75, 2.4), "CNN")
    right = _stack(ax, 1.8, 1.95, 0.8, maps, "feature maps $f_k$\n(7, 7, 128), $\\geq 0$")
    # top row: GAP -> K numbers -> dense -> score
    _arrow(ax, (right + 0.05, 2.4), (3.55, 2.4), "GAP: mean")
    for k in range(4):
        ax.add_patch(Rectangle((3.6, 2.75 - 0.2 * k), 0.22, 0.17, color=_MAP_COLORS[k], alpha=0.8))
    ax.text(3.71, 1.95, "$F_k$: 128\nnumbers", ha="center", va="top", fontsize=8.5)
    _arrow(ax, (3.9, 2.4), (5.1, 2.4), "dense $w_k^c$\n(128, 10)")
    ax.text(
        5.2,
        2.4,
        "$S_c = \\sum_k w_k^c F_k + b_c$\n10 class scores\n(softmax: probabilities)",
        va="center",
        fontsize=8.5,
    )
    # bottom row: the same weights on the maps
    _arrow(ax, (2.3, 1.45), (2.3, 0.95))
    for k, (wk, color) in enumerate(zip(_WEIGHTS, _MAP_COLORS, strict=True)):
        x = 0.5 + 0.92 * k
        ax.imshow(maps[k], cmap="Greys", vmin=0, vmax=1, extent=(x, x + 0.45, 0.3, 0.75))
        ax.add_patch(Rectangle((x, 0.3), 0.45, 0.45, fill=False, color=color, lw=1.6))
        ax.text(x - 0.04, 0.52, f"{wk:+.1f}" + "$\\times$", ha="right", va="center", fontsize=8)
    ax.text(3.8, 0.52, "+ ...", va="center", fontsize=9)
    ax.text(
        2.0, 0.12, "weighted sum of the maps with the class's weights", ha="center", fontsize=8.5
    )
    _arrow(ax, (4.2, 0.52), (4.75, 0.52))
    cam = np.tensordot(np.array(_WEIGHTS), maps, axes=1)
    limit = np.abs(cam).max()
    ax.imshow(cam, cmap="RdBu_r", vmin=-limit, vmax=limit, extent=(4.8, 5.5, 0.17, 0.87))
    ax.text(
        5.15,
        0.95,
        "$M_c(x, y) = \\sum_k w_k^c f_k(x, y)$\n(7, 7), any sign",
        ha="center",
        va="bottom",
        fontsize=8.5,
    )
    _arrow(ax, (5.55, 0.52), (6.35, 0.52), "upsample")
    big = np.kron(cam, np.ones((4, 4)))
    ax.imshow(_digit(), cmap="gray", extent=(6.4, 7.3, 0.07, 0.97))
    ax.imshow(
        big, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.55, extent=(6.4, 7.3, 0.07, 0.97)
    )
    ax.text(
        7.4,
        0.52,
        "CAM on the image\n(28, 28):\nred for class $c$,\nblue against",
        fontsize=8.5,
        va="center",
    )
    fig.suptitle(
        "Class activation mapping (Zhou et al. 2016, Fig. 2), for the MNIST network", fontsize=10
    )
    return fig


@diagram
def gap_k_maps() -> plt.Figure:
    """Global average pooling: each of the K feature maps is averaged to one number."""
    maps = _maps(seed=3, n=4)
    fig, axes = plt.subplots(
        2, 5, figsize=(8, 3.2), gridspec_kw={"height_ratios": [3, 1]}, layout="constrained"
    )
    columns = {0: (0, "1"), 1: (1, "2"), 2: (2, "3"), 4: (3, "128")}
    for j in range(5):
        top, bottom = axes[0, j], axes[1, j]
        bottom.axis("off")
        if j not in columns:
            top.axis("off")
            top.text(0.5, 0.5, "...", ha="center", va="center", fontsize=20)
            bottom.text(0.5, 0.5, "...", ha="center", va="center", fontsize=14)
            continue
        k, name = columns[j]
        top.imshow(maps[k], cmap="Greys", vmin=0, vmax=1)
        top.set_xticks([])
        top.set_yticks([])
        for spine in top.spines.values():
            spine.set_color(_MAP_COLORS[k])
            spine.set_linewidth(2)
        top.set_title(f"$f_{{{name}}}$: (7, 7)", fontsize=9)
        bottom.text(
            0.5,
            0.5,
            f"$F_{{{name}}} = \\frac{{1}}{{49}}\\sum_{{x,y}} f_{{{name}}} = {maps[k].mean():.2f}$",
            ha="center",
            va="center",
            fontsize=10,
            color=_MAP_COLORS[k],
        )
    fig.suptitle(
        "GAP: each of the K = 128 feature maps (7, 7) becomes one number; (7, 7, 128) → (128,)\n"
        "where a feature was is forgotten, how much of it there was is kept",
        fontsize=10,
    )
    return fig
