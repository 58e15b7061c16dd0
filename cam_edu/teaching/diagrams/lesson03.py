"""Diagram of lesson 03: the CAM paper's box, the largest region above 20 % of the maximum.

>>> from cam_edu.teaching.diagrams import registry
>>> "cam_box_rule" in registry()
True
>>> cam_box_rule().get_size_inches().round(1).tolist()
[9.0, 3.0]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from cam_edu.localize import bbox_from_cam
from cam_edu.teaching.diagrams import diagram


def _toy_map() -> np.ndarray:
    """A 28x28 map with a strong peak, a weaker separate peak and a negative patch."""
    yy, xx = np.mgrid[0:28, 0:28]
    strong = 60 * np.exp(-((yy - 17) ** 2 + (xx - 12) ** 2) / 30)
    weak = 35 * np.exp(-((yy - 6) ** 2 + (xx - 20) ** 2) / 12)
    against = -25 * np.exp(-((yy - 8) ** 2 + (xx - 6) ** 2) / 20)
    return strong + weak + against


@diagram
def cam_box_rule() -> plt.Figure:
    """Upsampled map -> pixels above 20 % of its maximum -> box around the largest region."""
    m = _toy_map()
    limit = np.abs(m).max()
    keep = m >= 0.2 * m.max()
    y0, x0, y1, x1 = bbox_from_cam(m, 0.2)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.0), layout="constrained")
    axes[0].imshow(m, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[0].set_title(f"1. the CAM upsampled to (28, 28)\nmax {m.max():.0f}", fontsize=9)
    axes[1].imshow(keep, cmap="Greys", vmin=0, vmax=1.4)
    axes[1].set_title(
        f"2. keep pixels ≥ 0.2 × max = {0.2 * m.max():.0f}\n(two regions)", fontsize=9
    )
    axes[2].imshow(keep, cmap="Greys", vmin=0, vmax=1.4)
    axes[2].add_patch(
        Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, color="crimson", lw=2)
    )
    axes[2].set_title(
        f"3. box the largest region\n(y0, x0, y1, x1) = ({y0}, {x0}, {y1}, {x1})", fontsize=9
    )
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        "The CAM paper's box (bbox_from_cam): relative to the map's own maximum; "
        "the smaller region and the blue are ignored",
        fontsize=10,
    )
    return fig
