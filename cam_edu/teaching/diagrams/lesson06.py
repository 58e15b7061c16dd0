r"""Lesson 06's diagrams: Grad-CAM's data flow, and Grad-CAM++'s weights beside Grad-CAM's.

The shapes are those of the lesson's Flatten network at its last convolutional layer,
``features`` ``(7, 7, 64)``.

>>> fig = gradcam_flow()
>>> [round(float(v), 1) for v in fig.get_size_inches()]
[8.0, 3.2]
>>> import matplotlib.pyplot as plt; plt.close(fig)
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from cam_edu.teaching.diagrams import diagram

FORWARD = "#dbe9f6"  # the forward pass
BACKWARD = "#fde3cf"  # what the gradient gives
RESULT = "#d9f0d3"  # the map
EDGE = "0.25"


def _box(ax, x, y, text, color, width=1.3, height=0.62, size=8.5):
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


def _arrow(ax, start, end, text="", color=EDGE, offset=(0.0, 0.1), style="-|>"):
    """An arrow from ``start`` to ``end`` with an optional label near its middle."""
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": style,
            "color": color,
            "linewidth": 1.2,
            "shrinkA": 0,
            "shrinkB": 0,
        },
    )
    if text:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, text, ha="center", va="bottom", fontsize=7.5, color="0.2")


def _canvas(width=8.0, height=3.2, xlim=(0, 10), ylim=(0, 4)):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9)
    return fig, ax


@diagram
def gradcam_flow():
    """Forward to the logit, the gradient back to ``A``, averaged into ``alpha``, summed, ReLU."""
    fig, ax = _canvas()
    top, bottom = 3.0, 1.2
    # forward pass
    image = _box(ax, 0.8, top, "image\n(28, 28, 1)", FORWARD, width=1.2)
    convs = _box(ax, 2.6, top, "conv layers", FORWARD, width=1.3)
    feats = _box(ax, 4.6, top, "feature maps $A$\n(7, 7, 64)", FORWARD, width=1.6)
    head = _box(ax, 6.7, top, "any head\n(Flatten, Dense, ...)", FORWARD, width=1.7)
    logit = _box(ax, 8.9, top, "logit $y^c$\n(before softmax)", FORWARD, width=1.6)
    for a, b in ((image, convs), (convs, feats), (feats, head), (head, logit)):
        _arrow(ax, (a[1], top), (b[0], top))
    # backward: the gradient of y^c with respect to A
    grads = _box(
        ax, 8.9, bottom, r"$\partial y^c / \partial A$" + "\n(7, 7, 64)", BACKWARD, width=1.6
    )
    _arrow(ax, (8.9, logit[2]), (8.9, grads[3]), "", color="#c0504d")
    ax.text(9.0, (logit[2] + grads[3]) / 2, "backprop", fontsize=7.5, color="#c0504d", va="center")
    alpha = _box(ax, 7.0, bottom, r"weights $\alpha_k^c$" + "\n(64,)", BACKWARD, width=1.2)
    _arrow(ax, (grads[0], bottom), (alpha[1], bottom), "mean over\n(H, W)")
    weighted = _box(ax, 4.6, bottom, r"$\Sigma_k\, \alpha_k^c A_k$" + "\n(7, 7)", RESULT, width=1.4)
    _arrow(ax, (alpha[0], bottom), (weighted[1], bottom), "weight the\nchannels")
    _arrow(ax, (4.6, feats[2]), (4.6, weighted[3]), "")
    ax.text(4.7, (feats[2] + weighted[3]) / 2, "$A$", fontsize=8, va="center")
    relu = _box(ax, 1.5, bottom, "ReLU:\n" + r"map $L^c$ (7, 7)", RESULT, width=1.6)
    _arrow(ax, (weighted[0], bottom), (relu[1], bottom), "keep what\nis > 0")
    ax.text(
        1.5,
        0.4,
        "negative everywhere  →  an empty map",
        ha="center",
        fontsize=7.5,
        color="0.35",
        style="italic",
    )
    ax.set_title("Grad-CAM: channel weights from the gradient of the class logit", fontsize=10)
    return fig


@diagram
def gradcam_pp_weights():
    """Grad-CAM's average of all gradients beside Grad-CAM++'s weighted positive gradients."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    for ax in (left, right):
        ax.set_xlim(0, 5)
        ax.set_ylim(0, 4)
        ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.86, wspace=0.08)
    x = 2.5
    # Grad-CAM
    g = _box(left, x, 3.3, r"gradient $g_k(i,j)$" + "\n(7, 7, 64)", BACKWARD, width=2.2)
    mean = _box(
        left, x, 1.95, "mean over all 49 positions\n(negative values too)", "white", width=3.0
    )
    a = _box(
        left,
        x,
        0.6,
        r"$\alpha_k^c = \frac{1}{Z}\sum_{i,j} g_k(i,j)$" + "   (64,)",
        RESULT,
        width=3.2,
    )
    _arrow(left, (x, g[2]), (x, mean[3]))
    _arrow(left, (x, mean[2]), (x, a[3]))
    left.set_title("Grad-CAM", fontsize=10)
    # Grad-CAM++
    g = _box(right, 1.3, 3.3, r"$g$, $g^2$, $g^3$" + "\n(7, 7, 64)", BACKWARD, width=1.8)
    s = _box(right, 3.8, 3.3, r"$\Sigma_{a,b}\, A_k(a,b)$" + "\n(64,)", FORWARD, width=1.8)
    w = _box(
        right,
        3.8,
        1.95,
        r"$a_k^{ij}$ per position" + "\n(7, 7, 64)\n2nd, 3rd derivatives",
        "white",
        width=2.0,
        height=0.8,
    )
    relu = _box(
        right, 1.3, 1.95, r"$\mathrm{ReLU}(g)$" + "\npositive gradients only", "white", width=2.0
    )
    a = _box(
        right,
        x,
        0.6,
        r"$\alpha_k^c = \sum_{i,j} a_k^{ij}\,\mathrm{ReLU}(g_k(i,j))$" + "  (64,)",
        RESULT,
        width=4.0,
    )
    _arrow(right, (1.3, g[2]), (1.3, relu[3]))
    _arrow(right, (3.8, s[2]), (3.8, w[3]))
    _arrow(right, (g[1] - 0.1, g[2] + 0.05), (w[0] + 0.2, w[3]))
    _arrow(right, (1.3, relu[2]), (x - 0.6, a[3]))
    _arrow(right, (3.8, w[2]), (x + 0.6, a[3]))
    right.set_title("Grad-CAM++", fontsize=10)
    fig.suptitle(
        "Channel weights: one average of all gradients, or positive gradients weighted"
        " per position",
        fontsize=10,
    )
    return fig
