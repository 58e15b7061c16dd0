r"""Diagrams of lesson 04: the shaken cantilever, the image the CNN reads, the CAM pipeline.

- ``beam_to_image``: a cantilever clamped at the left, shaken at its clamp
  (:math:`y_b(t) = Y\cos\Omega t`), with a crack at :math:`x_f / L`; the camera's
  image of one vibration period, ``(32, 64, 1)``: rows are frames, columns are
  positions along the beam, the brightness is the bending strain :math:`|\kappa|`.
- ``beam_cam_pipeline``: image ``(32, 64, 1)`` -> features ``(8, 32, 32)`` -> GAP
  ``(32,)`` -> :math:`p(\text{fault})`; and the CAM ``(8, 32)`` -> profile along the
  beam ``(32,)`` -> its peak, the predicted fault position :math:`\hat x_f / L`.

>>> from cam_edu.teaching.diagrams import registry
>>> sorted(name for name in registry() if name.startswith("beam_"))
['beam_cam_pipeline', 'beam_to_image']
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from cam_edu.teaching.diagrams import diagram

FAULT = 0.4  # crack position x_f / L drawn in the diagrams


def _arrow(ax, start, end, **kw):
    style = {"arrowstyle": "-|>", "mutation_scale": 14, "lw": 1.4, "color": "0.25"}
    ax.add_patch(FancyArrowPatch(start, end, **{**style, **kw}))


def _box(ax, x, y, w, h, text, color="#dbe9f6", fontsize=9):
    ax.add_patch(Rectangle((x, y), w, h, facecolor=color, edgecolor="0.3", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


@diagram
def beam_to_image() -> plt.Figure:
    """The base-excited cantilever with a crack, and the camera image of one period."""
    from cam_edu.course.cantilever import Beam, Camera, curvature_image, render, steady_state
    from cam_edu.course.cantilever.imaging import measured_deflection
    from cam_edu.viz import MAX_WIDTH_IN, TRUTH_COLOR

    fig, (ax, ay) = plt.subplots(
        1, 2, figsize=(MAX_WIDTH_IN - 0.7, 2.9), width_ratios=(1, 1.1), layout="constrained"
    )
    # left: the beam
    x = np.linspace(0, 1, 200)
    shape = 0.5 * (1 - np.cos(np.pi * x / 2)) ** 1.3  # a first-mode-like bend, for the eye
    ax.add_patch(Rectangle((-0.12, -0.45), 0.12, 0.9, hatch="///", fill=False, lw=1))
    ax.plot(x, np.zeros_like(x), color="0.2", lw=5, solid_capstyle="butt")
    for sign in (1, -1):
        ax.plot(x, sign * 0.35 * shape, color="0.6", lw=1.5, ls="--")
    ax.add_patch(Rectangle((FAULT - 0.02, -0.06), 0.04, 0.12, color=TRUTH_COLOR, zorder=3))
    ax.annotate(
        "crack at $x_f$: zone 0.04 L,\nstiffness $(1-s)\\,EI$",
        (FAULT, 0.07),
        (-0.15, 0.5),
        fontsize=9,
        arrowprops={"arrowstyle": "->", "color": "0.2"},
    )
    _arrow(ax, (-0.06, -0.55), (-0.06, -0.85), arrowstyle="<|-|>")
    ax.text(0.02, -0.72, "clamp shaken:\n$y_b(t) = Y \\cos \\Omega t$", fontsize=9, va="center")
    ax.annotate("", (0, -0.32), (1, -0.32), arrowprops={"arrowstyle": "<->", "color": "0.3"})
    ax.text(0.5, -0.29, "L = 0.3 m", ha="center", va="bottom", fontsize=9)
    ax.text(1.03, 0.0, "tip", fontsize=9, ha="left", va="center")
    ax.set_xlim(-0.2, 1.1)
    ax.set_ylim(-0.95, 0.95)
    ax.set_axis_off()
    ax.set_title("A camera films the beam", fontsize=10)
    # right: a real image of one period (one faulty beam, computed here)
    beam, camera = Beam(), Camera()
    f1 = beam.natural_frequencies_analytical(1)[0]
    q = steady_state(beam, 1.05 * f1, 1e-3, FAULT, 0.6)
    measured, cols = measured_deflection(beam, q, 1e-3, camera, np.random.default_rng(0), 1e-3)
    image = render(curvature_image(measured, cols, beam, camera))
    im = ay.imshow(
        image, cmap="gray", vmin=0, vmax=1, aspect="auto", extent=(0, 1, camera.frames, 0)
    )
    ay.plot([FAULT], [-1.2], marker="v", ms=9, color=TRUTH_COLOR, mec="black", clip_on=False)
    ay.text(FAULT + 0.04, -1.2, "crack", fontsize=9, va="center")
    ay.set_ylim(camera.frames, 0)
    ay.set_xlabel("position x / L (64 columns)", fontsize=9)
    ay.set_ylabel("frame (32 per period)", fontsize=9)
    ay.tick_params(labelsize=9)
    ay.set_title("The image the CNN reads", fontsize=10, pad=16)
    bar = fig.colorbar(im, ax=ay)
    bar.set_label("|curvature| / max", fontsize=9)
    bar.ax.tick_params(labelsize=9)
    return fig


@diagram
def beam_cam_pipeline() -> plt.Figure:
    """From the image to p(fault), and from the CAM to a position along the beam."""
    fig, ax = plt.subplots(figsize=(6.7, 3.0))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.3)
    ax.set_axis_off()
    top, bottom, h, w = 2.1, 0.3, 0.95, 1.75
    columns = (0.0, 2.05, 4.1, 6.15, 8.2)
    texts = (
        "image\n(32, 64, 1)",
        "3 conv layers\npool 2x2, 2x1",
        "features $f_k$\n(8, 32, 32)",
        "GAP $F_k$\n(32,)",
        "$\\sigma(\\sum_k w_k F_k + b)$\n= p(fault)",
    )
    colors = ("#f3e3c3", "#dbe9f6", "#dbe9f6", "#dbe9f6", "#f6d5d5")
    for x, text, color in zip(columns, texts, colors, strict=True):
        _box(ax, x, top, w, h, text, color, fontsize=9)
    for a in columns[:-1]:
        _arrow(ax, (a + w, top + h / 2), (a + 2.05, top + h / 2))
    bottom_texts = (
        "CAM $\\sum_k w_k f_k$\n(8, 32)",
        "mean over\ntime (32,)",
        "peak column\n$\\to \\hat x_f / L$",
    )
    bottom_colors = ("#f6d5d5", "#dbe9f6", "#d5f0d5")
    for x, text, color in zip(columns[2:], bottom_texts, bottom_colors, strict=True):
        _box(ax, x, bottom, w, h, text, color, fontsize=9)
    for a in columns[2:-1]:
        _arrow(ax, (a + w, bottom + h / 2), (a + 2.05, bottom + h / 2))
    _arrow(ax, (columns[2] + w / 2, top), (columns[2] + w / 2, bottom + h))
    ax.text(columns[2] + w / 2 + 0.1, (top + bottom + h) / 2, "same $w_k$", fontsize=9, va="center")
    ax.text(
        0.0,
        bottom + h / 2,
        "CAM columns: one\nper 1/32 of the beam;\nmean(CAM) + b = logit",
        fontsize=9,
        va="center",
    )
    ax.set_title("Is it faulty? (top)   Where is the crack? (bottom)", fontsize=10)
    fig.tight_layout()
    return fig
