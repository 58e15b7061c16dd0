"""Diagram of lesson 05: where CAM reads in ResNet50, all 1,000 maps in one product.

Drawn with ResNet50's real shapes: a ``(224, 224, 3)`` photo, the last block's
``(7, 7, 2048)`` activation ``conv5_block3_out``, ``avg_pool`` and the ``(2048, 1000)``
Dense layer ``predictions`` (its outputs before the softmax are the logits); 6.7 in wide,
so that at the diagrams' 110 dpi it fits the 740-pixel text column unshrunk, with 9 pt text
or larger.

>>> from cam_edu.teaching.diagrams import registry
>>> "resnet50_cam_head" in registry()
True
>>> resnet50_cam_head().get_size_inches().round(1).tolist()
[6.7, 3.0]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from cam_edu.teaching.diagrams import diagram

_FORWARD = "#4c72b0"
_CAM = "#c44e52"
_GREY = "0.3"
_PT = 9  # every text of the diagram, at its displayed size


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
    dy = 0.2 if shape else 0.0
    ax.text(x, y + dy, title, ha="center", va="center", fontsize=_PT, weight="bold", color="0.1")
    if shape:
        ax.text(x, y - 0.22, shape, ha="center", va="center", fontsize=_PT, color="0.15")


def _arrow(ax, start, end, color=_GREY, rad=0.0):
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=13,
            lw=1.4,
            color=color,
            connectionstyle=f"arc3,rad={rad}",
        )
    )


@diagram
def resnet50_cam_head() -> plt.Figure:
    """ResNet50's head: conv5 -> (7, 7, 2048) -> avg_pool -> Dense(1000), and every CAM
    as one product of the same activation with the Dense kernel."""
    fig, ax = plt.subplots(figsize=(6.7, 3.0))
    ax.set_xlim(-0.08, 10.02)
    ax.set_ylim(0, 4.4)
    ax.axis("off")
    y, h = 3.1, 0.9
    _box(ax, 0.62, y, 1.28, h, "photo", "224×224×3")
    _box(ax, 2.55, y, 1.85, h, "conv1 … conv5", "16 residual blocks")
    _box(ax, 4.95, y, 1.95, h, "conv5_block3_out", "f: 7×7×2048")
    _box(ax, 6.95, y, 1.2, h, "avg_pool", "F: 2048")
    _box(ax, 8.95, y, 1.9, h, "predictions", "w: 2048×1000, b")
    for x0, x1 in ((1.32, 1.57), (3.52, 3.92), (5.97, 6.3), (7.6, 7.95)):
        _arrow(ax, (x0, y), (x1, y))
    ax.text(2.55, y + 0.72, "stride 32: 224 / 32 = 7", ha="center", fontsize=_PT, color=_GREY)
    ax.text(6.95, y + 0.72, "mean of 49 cells", ha="center", fontsize=_PT, color=_GREY)
    ax.text(
        8.95,
        y + 0.55,
        "logits S: 1000\n(before the softmax)",
        ha="center",
        va="bottom",
        fontsize=_PT,
        color=_FORWARD,
    )
    # CAM: the same f times the same kernel, before the average
    _box(ax, 6.9, 0.8, 3.5, 0.95, "M = f @ w:  7×7×1000", "one map per class", _CAM, "#fbeaea")
    _arrow(ax, (4.95, y - 0.5), (5.4, 1.1), _CAM, rad=0.2)
    _arrow(ax, (8.95, y - 0.5), (8.55, 1.3), _CAM, rad=-0.15)
    ax.text(4.5, 2.05, "f", ha="center", fontsize=_PT + 1, color=_CAM, style="italic")
    ax.text(9.0, 1.85, "w", ha="left", fontsize=_PT + 1, color=_CAM, style="italic")
    ax.text(
        2.35,
        0.8,
        "mean of M_c over the 49 cells,\nplus b_c, is the logit S_c (lesson 2)",
        ha="center",
        va="center",
        fontsize=_PT,
        color=_CAM,
    )
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    return fig
