"""Diagram of lesson 03: the CAM paper's box, the largest region above 20 % of the maximum.

>>> from cam_edu.teaching.diagrams import registry
>>> "cam_box_rule" in registry()
True
>>> cam_box_rule().get_size_inches().round(1).tolist()
[7.2, 2.7]
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from cam_edu import viz
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
    keep = (m >= 0.2 * m.max()).astype(float)
    box = bbox_from_cam(m, 0.2)
    fig, axes = viz.map_figure(1, 3, panel=2.2, extra_width=0.6)
    art = viz.show_map(
        axes[0, 0], m, signed=True, title=f"1. the map at (28, 28)\nmax {m.max():.0f}"
    )
    viz.show_map(
        axes[0, 1],
        keep,
        vmin=0,
        vmax=1,
        title=f"2. pixels ≥ 0.2 × max = {0.2 * m.max():.0f}\n(two regions)",
    )
    viz.show_map(axes[0, 2], m, signed=True, box=box, title="3. box the largest region\n(dashed)")
    viz.add_colorbar(fig, art, axes[0, [0, 2]], "map value", shrink=0.8)
    fig.suptitle(
        "The CAM paper's box: relative to the map's own maximum;\n"
        "the smaller region and the negative values are ignored",
        fontsize=10,
    )
    return fig
