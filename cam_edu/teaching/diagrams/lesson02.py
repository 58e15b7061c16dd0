"""Diagram of lesson 02: all class activation maps as one matrix product.

>>> from cam_edu.teaching.diagrams import registry
>>> "cam_one_matmul" in registry()
True
>>> cam_one_matmul().get_size_inches().round(1).tolist()
[9.0, 3.0]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

from cam_edu.teaching.diagrams import diagram


def _block(ax, x, y, width, height, color, label, shape):
    ax.add_patch(Rectangle((x, y), width, height, color=color, alpha=0.35, ec="0.2", lw=1.2))
    ax.text(x + width / 2, y + height / 2, label, ha="center", va="center", fontsize=11)
    ax.text(x + width / 2, y - 0.08, shape, ha="center", va="top", fontsize=9)


def _arrow(ax, start, end, text):
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.4, color="0.25")
    )
    ax.text((start[0] + end[0]) / 2, start[1] + 0.08, text, ha="center", va="bottom", fontsize=8.5)


@diagram
def cam_one_matmul() -> plt.Figure:
    """Reshape the features to one row per position, multiply by the kernel, fold back."""
    fig, ax = plt.subplots(figsize=(9, 3.0))
    ax.set_xlim(0, 9)
    ax.set_ylim(0, 3.0)
    ax.axis("off")
    _block(ax, 0.2, 1.0, 0.9, 0.9, "#4c72b0", "$f$", "(N, 7, 7, 128)")
    _arrow(ax, (1.2, 1.45), (1.9, 1.45), "reshape")
    _block(ax, 2.0, 0.45, 0.8, 2.0, "#4c72b0", "$f$", "(N·49, 128)\none row per position")
    ax.text(3.0, 1.45, "×", ha="center", va="center", fontsize=20)
    _block(ax, 3.2, 1.05, 0.8, 0.8, "#dd8452", "$w$", "(128, 10)\none column per class")
    ax.text(4.2, 1.45, "=", ha="center", va="center", fontsize=20)
    _block(ax, 4.4, 0.45, 0.45, 2.0, "#c44e52", "$M$", "(N·49, 10)")
    _arrow(ax, (5.0, 1.45), (5.8, 1.45), "reshape")
    _block(ax, 5.9, 1.0, 0.9, 0.9, "#c44e52", "$M$", "(N, 7, 7, 10)\nall CAMs of all images")
    ax.text(
        7.0,
        1.45,
        "$M[n, y, x, c]$\n$= \\sum_k f[n, y, x, k]\\, w[k, c]$",
        va="center",
        fontsize=10,
    )
    fig.suptitle("Every class activation map at once: one matrix product (tf.matmul)", fontsize=10)
    return fig
