"""Diagrams of lesson 05: where CAM reads in ResNet50, and Grad-CAM's data flow there.

Both are drawn with ResNet50's real shapes: a ``(224, 224, 3)`` photo, the last block's
``(7, 7, 2048)`` activation ``conv5_block3_out``, ``avg_pool`` and the ``(2048, 1000)``
Dense layer ``predictions``.

>>> from cam_edu.teaching.diagrams import registry
>>> {"resnet50_cam_head", "resnet50_gradcam_flow"} <= set(registry())
True
>>> resnet50_cam_head().get_size_inches().round(1).tolist()
[9.0, 3.2]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from cam_edu.teaching.diagrams import diagram

_FORWARD = "#4c72b0"
_CAM = "#c44e52"
_GRAD = "#dd8452"
_GREY = "0.35"


def _canvas(width: float = 9.0, height: float = 3.2):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.6)
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, w, h, title, shape="", color=_FORWARD, fill="#eef2fa"):
    """A rounded box centred at ``(x, y)`` with a bold title and a shape line under it."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.04,rounding_size=0.12",
            fc=fill,
            ec=color,
            lw=1.6,
        )
    )
    dy = 0.13 if shape else 0.0
    ax.text(x, y + dy, title, ha="center", va="center", fontsize=9, weight="bold", color="0.1")
    if shape:
        ax.text(x, y - 0.2, shape, ha="center", va="center", fontsize=8.5, color="0.2")


def _arrow(ax, start, end, text="", color=_GREY, ls="-", above=True, rad=0.0):
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=13,
            lw=1.4,
            color=color,
            ls=ls,
            connectionstyle=f"arc3,rad={rad}",
        )
    )
    if text:
        mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + (0.09 if above else -0.09))
        ax.text(*mid, text, ha="center", va="bottom" if above else "top", fontsize=8, color=color)


@diagram
def resnet50_cam_head() -> plt.Figure:
    """ResNet50's head: conv5 -> (7, 7, 2048) -> avg_pool -> Dense(1000), and where CAM reads."""
    fig, ax = _canvas()
    y = 2.55
    _box(ax, 0.75, y, 1.2, 0.75, "photo", "(224, 224, 3)")
    _box(ax, 2.55, y, 1.75, 0.75, "conv1 ... conv5", "16 residual blocks")
    _box(ax, 4.75, y, 1.9, 0.75, "conv5_block3_out", "f: (7, 7, 2048)")
    _box(ax, 6.7, y, 1.3, 0.75, "avg_pool", "F: (2048,)")
    _box(ax, 8.75, y, 1.7, 0.75, "predictions", "Dense: w (2048, 1000)")
    _arrow(ax, (1.38, y), (1.65, y))
    _arrow(ax, (3.45, y), (3.77, y))
    _arrow(ax, (5.73, y), (6.02, y))
    ax.text(3.61, y + 0.5, "total stride 32:\n224 / 32 = 7", ha="center", fontsize=8, color=_GREY)
    ax.text(5.88, y + 0.5, "mean over\nthe 7 x 7 cells", ha="center", fontsize=8, color=_GREY)
    _arrow(ax, (7.38, y), (7.87, y))
    ax.text(8.75, y + 0.55, "logits S: (1000,)", ha="center", fontsize=8.5, color=_FORWARD)
    # CAM: the same f, weighted by one column of w, before the average
    _box(ax, 6.7, 0.8, 3.4, 0.8, "CAM of class c", "M_c = f @ w[:, c]:  (7, 7)", _CAM, "#fbeaea")
    _arrow(ax, (4.75, y - 0.42), (5.6, 1.05), "CAM reads f here", _CAM, rad=0.15, above=False)
    _arrow(ax, (8.75, y - 0.42), (7.9, 1.05), "", _CAM, rad=-0.15)
    ax.text(8.75, 1.45, "column w[:, c]:\n(2048,)", ha="left", va="center", fontsize=8, color=_CAM)
    ax.text(
        2.6,
        0.75,
        "mean over the 7 x 7 cells of M_c, plus b_c,\nis the logit S_c: nothing is lost",
        ha="center",
        va="center",
        fontsize=8.5,
        color=_CAM,
    )
    ax.set_title("Where CAM reads in ResNet50", fontsize=10)
    fig.tight_layout()
    return fig


@diagram
def resnet50_gradcam_flow() -> plt.Figure:
    """Grad-CAM on ResNet50: the logit's gradient w.r.t. f, averaged into channel weights."""
    fig, ax = _canvas()
    top, low = 2.6, 0.85
    _box(ax, 1.3, top, 2.0, 0.75, "conv5_block3_out", "A = f: (7, 7, 2048)")
    _box(ax, 4.0, top, 1.4, 0.75, "avg_pool", "(2048,)")
    _box(ax, 6.4, top, 1.7, 0.75, "predictions", "logit y_c: a number")
    _arrow(ax, (2.33, top), (3.27, top), "forward")
    _arrow(ax, (4.73, top), (5.52, top))
    _box(ax, 6.4, low, 2.2, 0.8, "gradient dy_c / dA", "(7, 7, 2048)", _GRAD, "#fdf1e8")
    _arrow(ax, (6.4, top - 0.42), (6.4, low + 0.44), "", _GRAD)
    ax.text(6.5, (top + low) / 2, "backward", ha="left", va="center", fontsize=8, color=_GRAD)
    _box(ax, 4.0, low, 1.9, 0.8, "mean over 7 x 7", "alpha_c: (2048,)", _GRAD, "#fdf1e8")
    _arrow(ax, (5.27, low), (4.98, low), "", _GRAD)
    _box(ax, 1.3, low, 2.0, 0.8, "Grad-CAM", "ReLU(A @ alpha_c): (7, 7)", _CAM, "#fbeaea")
    _arrow(ax, (3.02, low), (2.33, low), "", _GRAD)
    _arrow(ax, (1.3, top - 0.42), (1.3, low + 0.44), "", _CAM)
    ax.text(1.4, (top + low) / 2, "the same A", ha="left", va="center", fontsize=8, color=_CAM)
    ax.text(
        8.75,
        1.7,
        "Here one Dense layer follows\navg_pool, so the gradient is\nw[:, c] / 49 in every cell,\n"
        "alpha_c = w[:, c] / 49, and\nGrad-CAM = ReLU(M_c) / 49",
        ha="center",
        va="center",
        fontsize=8.5,
        color="0.15",
        bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": _GRAD, "lw": 1.2},
    )
    ax.set_title("Grad-CAM on ResNet50: gradients averaged into channel weights", fontsize=10)
    fig.tight_layout()
    return fig
