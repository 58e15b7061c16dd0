r"""Lesson 06's diagrams: Grad-CAM's data flow, and Grad-CAM++'s weights beside Grad-CAM's.

The shapes in the data flow are those of the lesson's Flatten network at its last
convolutional layer, ``features`` ``(7, 7, 64)``. The Grad-CAM++ diagram shows the closed
form of a position's contribution, ``g / (2 + S_k g)``, and what the gradient looks like
after global average pooling, after global max pooling and at an inner layer.

>>> fig = gradcam_flow()
>>> [round(float(v), 1) for v in fig.get_size_inches()]
[7.4, 3.0]
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch, Rectangle

from cam_edu.teaching.diagrams import diagram

FORWARD = "#dbe9f6"  # the forward pass
BACKWARD = "#fde3cf"  # what the gradient gives
RESULT = "#d9f0d3"  # the map
EDGE = "0.25"
TEXT_PT, NOTE_PT = 9.5, 9  # box text; arrow labels and notes
WIDTH = 7.4  # inches: the lessons' column, so the diagram is never shrunk


def _box(ax, x, y, text, color, width=1.3, height=0.62, size=TEXT_PT):
    """A rounded box centred at ``(x, y)`` with ``text``; returns its (left, right, bottom, top)."""
    patch = FancyBboxPatch(
        (x - width / 2, y - height / 2),
        width,
        height,
        boxstyle="round,pad=0.03,rounding_size=0.08",
        facecolor=color,
        edgecolor=EDGE,
        linewidth=1.0,
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=size, linespacing=1.3)
    return x - width / 2, x + width / 2, y - height / 2, y + height / 2


def _arrow(ax, start, end, text="", color=EDGE, offset=(0.0, 0.08)):
    """An arrow from ``start`` to ``end`` with an optional label above its middle."""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "linewidth": 1.2,
            "shrinkA": 0,
            "shrinkB": 0,
        },
    )
    if text:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, text, ha="center", va="bottom", fontsize=NOTE_PT, color="0.2")


def _canvas(height, xlim=(0, 10), ylim=(0, 4)):
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9)
    return fig, ax


@diagram
def gradcam_flow():
    """Forward to the logit, the gradient back to ``A``, averaged into ``alpha``, summed, ReLU."""
    fig, ax = _canvas(3.0)
    top, bottom = 3.1, 1.1
    image = _box(ax, 0.75, top, "image\n(28, 28, 1)", FORWARD, width=1.3)
    convs = _box(ax, 2.55, top, "conv\nlayers", FORWARD, width=1.1)
    feats = _box(ax, 4.5, top, "activation $A$\n(7, 7, 64)", FORWARD, width=1.7)
    head = _box(ax, 6.55, top, "any head\n(Flatten, Dense)", FORWARD, width=1.8)
    logit = _box(ax, 8.9, top, "logit $y^c$\n(no softmax)", FORWARD, width=1.6)
    for a, b in ((image, convs), (convs, feats), (feats, head), (head, logit)):
        _arrow(ax, (a[1], top), (b[0], top))
    grads = _box(
        ax, 8.9, bottom, r"$\partial y^c / \partial A$" + "\n(7, 7, 64)", BACKWARD, width=1.6
    )
    _arrow(ax, (8.9, logit[2]), (8.9, grads[3]), color="#c0504d")
    ax.text(9.0, (logit[2] + grads[3]) / 2, "backprop", fontsize=NOTE_PT, color="#c0504d")
    alpha = _box(ax, 6.55, bottom, r"weights $\alpha_k^c$" + "\n(64,)", BACKWARD, width=1.4)
    _arrow(ax, (grads[0], bottom), (alpha[1], bottom))
    ax.text(
        (grads[0] + alpha[1]) / 2,
        bottom - 0.45,
        "mean\nover (i, j)",
        ha="center",
        va="top",
        fontsize=NOTE_PT,
        color="0.2",
    )
    weighted = _box(ax, 4.5, bottom, r"$\Sigma_k\, \alpha_k^c A_k$" + "\n(7, 7)", RESULT, width=1.5)
    _arrow(ax, (alpha[0], bottom), (weighted[1], bottom))
    _arrow(ax, (4.5, feats[2]), (4.5, weighted[3]))
    ax.text(4.6, (feats[2] + weighted[3]) / 2, "$A$", fontsize=TEXT_PT, va="center")
    relu = _box(ax, 1.6, bottom, "ReLU: map $L^c$\n(7, 7)", RESULT, width=1.9)
    _arrow(ax, (weighted[0], bottom), (relu[1], bottom), "keep > 0")
    ax.text(0.65, 0.2, "negative everywhere: an empty map", fontsize=NOTE_PT, color="0.3")
    ax.set_title("Grad-CAM: channel weights from the gradient of the class logit", fontsize=10)
    return fig


def _grid(ax, x0, y0, values, cell=0.28):
    """A small square grid of gradient values, ``values`` ``(n, n)`` in ``[-1, 1]``, on RdBu_r."""
    cmap = plt.get_cmap("RdBu_r")
    n = len(values)
    for r in range(n):
        for c in range(n):
            ax.add_patch(
                Rectangle(
                    (x0 + c * cell, y0 + (n - 1 - r) * cell),
                    cell,
                    cell,
                    facecolor=cmap(0.5 + 0.5 * values[r, c]),
                    edgecolor="0.6",
                    linewidth=0.5,
                )
            )


@diagram
def gradcam_pp_weights():
    """Grad-CAM's mean gradient beside Grad-CAM++'s capped positive gradients, and the
    gradient of one channel after GAP, after GMP and at an inner layer."""
    fig, ax = _canvas(3.4, ylim=(0, 4.6))
    # the two weights
    ax.text(2.4, 4.2, "Grad-CAM", ha="center", fontsize=10)
    ax.text(7.5, 4.2, "Grad-CAM++", ha="center", fontsize=10)
    _box(
        ax,
        2.4,
        3.5,
        r"$\alpha_k^c = \Sigma_{i,j}\ g_k(i,j)\ /\ Z$"
        + "\nmean over the Z = HW positions, both signs",
        RESULT,
        width=4.3,
        height=1.0,
    )
    _box(
        ax,
        7.5,
        3.5,
        r"$\alpha_k^c = \Sigma_{i,j}\ \mathrm{ReLU}(g_k(i,j))\, /\, (2 + S_k\, g_k(i,j))$"
        + "\npositive gradients, each adds at most "
        + r"$1/S_k$",
        RESULT,
        width=4.5,
        height=1.0,
    )
    ax.text(
        5.0,
        2.6,
        r"$g = \partial y^c / \partial A_k(i,j)$,  $S_k = \Sigma_{a,b}\ A_k(a,b)$"
        "  (ReLU, pooling and linear layers after $A$)",
        ha="center",
        fontsize=NOTE_PT,
        color="0.2",
    )
    # what the gradient of one channel looks like
    rng = np.random.default_rng(3)
    inner = np.clip(rng.normal(0, 0.45, (4, 4)), -1, 1)
    inner[rng.random((4, 4)) < 0.4] = 0.0
    one = np.zeros((4, 4))
    one[1, 2] = 0.9
    cases = (
        (0.3, np.full((4, 4), 0.45), "after GAP:\n$w_k^c/Z$ everywhere"),
        (3.55, one, "after GMP: non-zero\nat one position"),
        (6.85, inner, "inner layer:\nvaries by position"),
    )
    for x0, values, label in cases:
        _grid(ax, x0, 0.6, values)
        ax.text(x0 + 1.25, 1.15, label, fontsize=NOTE_PT, va="center", linespacing=1.3)
    ax.text(
        5.0,
        0.15,
        "the factor can weight positions apart only where the gradient varies",
        ha="center",
        fontsize=NOTE_PT,
        style="italic",
        color="0.3",
    )
    ax.set_title("Channel weights: Grad-CAM and Grad-CAM++", fontsize=10)
    return fig
