"""Lesson 07's diagrams: how deletion and insertion score a map.

>>> figure = deletion_and_insertion()
>>> [ax.get_title() for ax in figure.axes][-1]
'probability of the class (schematic)'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy.ndimage import gaussian_filter

from cam_edu.teaching.diagrams import diagram


def _ring(size: int = 28) -> np.ndarray:
    """A drawn "0": a ring of ink on a dark background, ``(size, size)`` in [0, 1]."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(yy / 1.25, xx)
    return np.clip(1.6 - np.abs(r - 7.5) / 1.6, 0, 1) ** 1.5


@diagram
def deletion_and_insertion() -> plt.Figure:
    """Deletion: the top pixels of the map become 0; insertion: they are put into a blur."""
    image = _ring()
    saliency = gaussian_filter(image, 2) + 0.02 * np.random.default_rng(0).random(image.shape)
    order = np.argsort(-saliency.ravel(), kind="stable")
    blurred = gaussian_filter(image, 5, truncate=1.0, mode="nearest")
    fractions = [0.0, 0.1, 0.25, 0.5]
    fig = plt.figure(figsize=(7.4, 3.5))
    grid = fig.add_gridspec(2, 6, width_ratios=[1, 1, 1, 1, 0.3, 3.0], wspace=0.08, hspace=0.4)
    for row, (label, start, end) in enumerate(
        [("deletion", image, np.zeros_like(image)), ("insertion", blurred, image)]
    ):
        for col, f in enumerate(fractions):
            shown = start.ravel().copy()
            top = order[: int(round(f * image.size))]
            shown[top] = end.ravel()[top]
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(shown.reshape(image.shape), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{f:.0%} {'removed' if row == 0 else 'shown'}", fontsize=9)
            if col == 0:
                ax.set_ylabel(label, fontsize=10)
    ax = fig.add_subplot(grid[:, 5])
    t = np.linspace(0, 1, 101)
    deletion = 0.97 * np.exp(-t / 0.08) + 0.02
    insertion = 0.05 + 0.92 * (1 - np.exp(-t / 0.1))
    ax.fill_between(t, deletion, color="tab:red", alpha=0.25)
    ax.plot(t, deletion, color="tab:red")
    ax.fill_between(t, insertion, color="tab:blue", alpha=0.12)
    ax.plot(t, insertion, color="tab:blue")
    ax.set_xlabel("fraction of pixels, in the map's order", fontsize=9)
    ax.set_ylim(0, 1.05)
    ax.set_xlim(0, 1)
    ax.tick_params(labelsize=9)
    ax.set_title("probability of the class (schematic)", fontsize=10)
    ax.text(0.3, 0.12, "deletion:\nsmall area is good", color="tab:red", fontsize=9)
    ax.text(0.3, 0.62, "insertion:\nlarge area is good", color="tab:blue", fontsize=9)
    fig.suptitle(
        "Deletion sets the map's top pixels to 0; insertion puts them into a blurred copy",
        fontsize=10,
    )
    fig.subplots_adjust(left=0.05, right=0.98, top=0.83, bottom=0.15)
    return fig
