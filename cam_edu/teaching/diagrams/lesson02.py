"""Diagram of lesson 02: all class activation maps as one matrix product.

>>> from cam_edu.teaching.diagrams import registry
>>> "cam_one_matmul" in registry()
True
>>> cam_one_matmul().get_size_inches().round(1).tolist()
[7.4, 2.6]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

from cam_edu.teaching.diagrams import diagram


def _block(ax, x, y, width, height, color, label, shape):
    ax.add_patch(Rectangle((x, y), width, height, color=color, alpha=0.35, ec="0.2", lw=1.2))
    ax.text(x + width / 2, y + height / 2, label, ha="center", va="center", fontsize=11)
    ax.text(x + width / 2, y - 0.06, shape, ha="center", va="top", fontsize=9)


def _arrow(ax, start, end, text):
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, lw=1.3, color="0.25")
    )
    ax.text((start[0] + end[0]) / 2, start[1] + 0.06, text, ha="center", va="bottom", fontsize=9)


@diagram
def cam_one_matmul() -> plt.Figure:
    """Reshape the features to one row per position, multiply by the kernel, fold back."""
    fig, ax = plt.subplots(figsize=(7.4, 2.6))
    fig.subplots_adjust(0, 0, 1, 0.9)
    ax.set_xlim(0, 7.4)
    ax.set_ylim(0, 2.35)
    ax.axis("off")
    _block(ax, 0.15, 0.95, 0.7, 0.7, "#4c72b0", "$f$", "(N, 7, 7, 128)")
    _arrow(ax, (0.9, 1.3), (1.45, 1.3), "reshape")
    _block(ax, 1.55, 0.55, 0.65, 1.5, "#4c72b0", "$f$", "(N·49, 128)\none row\nper position")
    ax.text(2.35, 1.3, "×", ha="center", va="center", fontsize=18)
    _block(ax, 2.5, 1.0, 0.6, 0.6, "#dd8452", "$w$", "(128, 10)\none column\nper class")
    ax.text(3.25, 1.3, "=", ha="center", va="center", fontsize=18)
    _block(ax, 3.4, 0.55, 0.35, 1.5, "#c44e52", "$M$", "(N·49, 10)")
    _arrow(ax, (3.85, 1.3), (4.4, 1.3), "reshape")
    _block(ax, 4.5, 0.95, 0.7, 0.7, "#c44e52", "$M$", "(N, 7, 7, 10)\nall CAMs")
    ax.text(
        5.35,
        1.3,
        "$M[n, y, x, c]$\n$= \\sum_k f[n, y, x, k]\\, w[k, c]$",
        va="center",
        fontsize=10,
    )
    fig.suptitle("Every class activation map at once: one matrix product (tf.matmul)", fontsize=10)
    return fig
