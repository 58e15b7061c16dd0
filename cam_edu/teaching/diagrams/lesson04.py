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

    fig, (ax, ay) = plt.subplots(1, 2, figsize=(10, 3.4), width_ratios=(1.15, 1))
    # left: the beam
    x = np.linspace(0, 1, 200)
    shape = 0.5 * (1 - np.cos(np.pi * x / 2)) ** 1.3  # a first-mode-like bend, for the eye
    ax.add_patch(Rectangle((-0.12, -0.45), 0.12, 0.9, hatch="///", fill=False, lw=1))
    ax.plot(x, np.zeros_like(x), color="0.2", lw=5, solid_capstyle="butt")
    for sign in (1, -1):
        ax.plot(x, sign * 0.35 * shape, color="0.6", lw=1.5, ls="--")
    ax.add_patch(Rectangle((FAULT - 0.02, -0.06), 0.04, 0.12, color="tab:red", zorder=3))
    ax.annotate(
        "crack at $x_f / L$\nzone 0.04 L, stiffness $(1-s)\\,EI$",
        (FAULT, 0.06),
        (FAULT + 0.05, 0.33),
        fontsize=9,
        color="tab:red",
        arrowprops={"arrowstyle": "->", "color": "tab:red"},
    )
    _arrow(ax, (-0.06, -0.55), (-0.06, -0.82), arrowstyle="<|-|>")
    ax.text(0.0, -0.72, "$y_b(t) = Y \\cos \\Omega t$  (the clamp is shaken)", fontsize=9)
    ax.annotate("", (0, -0.32), (1, -0.32), arrowprops={"arrowstyle": "<->", "color": "0.3"})
    ax.text(0.5, -0.29, "L = 0.3 m (clamp x = 0, tip x = L)", ha="center", va="bottom", fontsize=9)
    ax.text(1.02, 0.05, "tip", fontsize=9)
    ax.set_xlim(-0.2, 1.15)
    ax.set_ylim(-0.9, 0.6)
    ax.set_axis_off()
    ax.set_title("A camera films the vibrating beam", fontsize=10)
    # right: a real image of one period (one faulty beam, computed here)
    beam, camera = Beam(), Camera()
    f1 = beam.natural_frequencies_analytical(1)[0]
    q = steady_state(beam, 1.05 * f1, 1e-3, FAULT, 0.6)
    measured, cols = measured_deflection(beam, q, 1e-3, camera, np.random.default_rng(0), 1e-3)
    image = render(curvature_image(measured, cols, beam, camera))
    im = ay.imshow(image, cmap="magma", aspect="auto", extent=(0, 1, camera.frames, 0))
    ay.axvline(FAULT, color="cyan", ls="--", lw=1.2)
    ay.text(FAULT + 0.02, 3, "crack", color="cyan", fontsize=9)
    ay.set_xlabel("position along the beam x / L (64 columns, clamp → tip)", fontsize=9)
    ay.set_ylabel("frame in one period (32 rows)", fontsize=9)
    ay.set_title("The image the CNN reads, (32, 64, 1)", fontsize=10)
    fig.colorbar(im, ax=ay, label="bending strain |κ| / max")
    fig.tight_layout()
    return fig


@diagram
def beam_cam_pipeline() -> plt.Figure:
    """From the image to p(fault), and from the CAM to a position along the beam."""
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 3.2)
    ax.set_axis_off()
    top, bottom, h = 2.0, 0.35, 0.8
    _box(ax, 0.1, top, 1.5, h, "image\n(32, 64, 1)", "#f3e3c3")
    _box(ax, 2.1, top, 1.9, h, "3 conv layers\n(pooling 2x2, then 2x1)")
    _box(ax, 4.5, top, 1.6, h, "features $f_k$\n(8, 32, 32)")
    _box(ax, 6.6, top, 1.3, h, "GAP $\\bar f_k$\n(32,)")
    _box(ax, 8.3, top, 1.6, h, "$p = \\sigma(\\sum_k w_k \\bar f_k + b)$\np(fault)", "#f6d5d5")
    for a, b in ((1.6, 2.1), (4.0, 4.5), (6.1, 6.6), (7.9, 8.3)):
        _arrow(ax, (a, top + h / 2), (b, top + h / 2))
    _box(ax, 4.5, bottom, 1.6, h, "CAM $\\sum_k w_k f_k$\n(8, 32)", "#f6d5d5")
    _box(ax, 6.6, bottom, 1.3, h, "mean over\n8 rows (32,)")
    _box(ax, 8.3, bottom, 1.6, h, "peak column\n→ $\\hat x_f / L$", "#d5f0d5")
    _arrow(ax, (5.3, top), (5.3, bottom + h))
    ax.text(5.4, (top + bottom + h) / 2, "same $w_k$", fontsize=9, va="center")
    for a, b in ((6.1, 6.6), (7.9, 8.3)):
        _arrow(ax, (a, bottom + h / 2), (b, bottom + h / 2))
    ax.text(
        0.1,
        bottom + h / 2,
        "one CAM column = 1/32 of the beam;\nmean(CAM) + b = the logit z",
        fontsize=9,
        va="center",
    )
    ax.set_title("Is it faulty? (top)  Where is the crack? (bottom)", fontsize=10)
    fig.tight_layout()
    return fig
