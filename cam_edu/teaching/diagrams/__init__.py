"""The lessons' diagrams, drawn by code so that a diagram cannot drift from the maths.

Each module ``lessonNN.py`` of this package draws the diagrams of one lesson: functions
marked with :func:`diagram` that return a matplotlib figure. A lesson shows a diagram
as a markdown image attachment, ``![what it shows](attachment:NAME.png)``, so that the
notebook carries its pictures wherever it is copied. ``python -m cam_edu.teaching
diagrams`` draws every diagram into ``docs/images/diagrams/NAME.png`` and refreshes
the attachments of the lessons that show it; ``--check`` fails when one is stale.

The lesson modules (each listed here as it is added):

- :mod:`cam_edu.teaching.diagrams.lesson01`: the CAM pipeline (the CAM paper's Fig. 2), GAP
- :mod:`cam_edu.teaching.diagrams.lesson02`: all class activation maps as one matrix product
- :mod:`cam_edu.teaching.diagrams.lesson03`: the CAM paper's box (20 % of the maximum)
- :mod:`cam_edu.teaching.diagrams.lesson04`: the shaken cantilever, its image, the CAM pipeline
- :mod:`cam_edu.teaching.diagrams.lesson05`: where CAM reads in ResNet50; Grad-CAM's data flow there
- :mod:`cam_edu.teaching.diagrams.lesson06`: Grad-CAM's data flow; Grad-CAM++'s channel
  weights beside Grad-CAM's.
- :mod:`cam_edu.teaching.diagrams.lesson07`: deletion and insertion curves.

>>> names = sorted(registry())
>>> all(name.replace("_", "").isalnum() for name in names)
True
"""

from __future__ import annotations

import base64
import importlib
import io
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "docs" / "images" / "diagrams"
DPI = 110
# Two drawings of one diagram agree when their pixels differ by at most PIXEL_TOLERANCE on
# average (0-255 scale; font hinting or anti-aliasing may differ between machines) and at
# most CHANGED_SHARE of them differ by more than CHANGED_LEVEL (an edited word changes a
# few hundred pixels completely, which an average over the whole picture would hide).
PIXEL_TOLERANCE = 2.0
CHANGED_LEVEL, CHANGED_SHARE = 128, 0.0005
ATTACHMENT = re.compile(r"!\[[^\]]*\]\(attachment:([A-Za-z0-9_]+)\.png\)")

_DIAGRAMS: dict[str, Callable[[], plt.Figure]] = {}


def diagram(function: Callable[[], plt.Figure]) -> Callable[[], plt.Figure]:
    """Register ``function`` (no arguments, returns a figure) under its own name."""
    if function.__name__ in _DIAGRAMS:
        raise ValueError(f"two diagrams are named {function.__name__!r}")
    _DIAGRAMS[function.__name__] = function
    return function


def registry() -> dict[str, Callable[[], plt.Figure]]:
    """Every diagram of every lesson module, by name."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(_DIAGRAMS)


def render(name: str) -> bytes:
    """The PNG bytes of one diagram, drawn now (deterministic: no metadata, fixed DPI)."""
    with plt.rc_context({"font.family": "DejaVu Sans", "svg.hashsalt": "cam_edu"}):
        figure = registry()[name]()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        plt.close(figure)
    return buffer.getvalue()


def pixels(png: bytes) -> np.ndarray:
    """The RGBA pixels of a PNG, ``(H, W, 4)`` in 0-255."""
    return (plt.imread(io.BytesIO(png), format="png") * 255).astype(np.float32)


def same_picture(a: bytes, b: bytes) -> bool:
    """Whether two PNGs show the same picture (same size, pixels within the tolerances)."""
    pa, pb = pixels(a), pixels(b)
    if pa.shape != pb.shape:
        return False
    difference = np.abs(pa - pb)
    changed = (difference.reshape(-1, difference.shape[-1]) > CHANGED_LEVEL).any(axis=1)
    return float(difference.mean()) <= PIXEL_TOLERANCE and changed.mean() <= CHANGED_SHARE


def shown_in(nb) -> list[tuple[int, str]]:
    """``(cell index, diagram name)`` for every diagram attachment the notebook shows."""
    return [
        (i, name)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for name in ATTACHMENT.findall(cell.source)
    ]


def refresh(nb, drawn: dict[str, bytes]) -> list[str]:
    """Put the drawn diagrams into the notebook's attachments; return the stale names.

    A name the notebook shows but no module draws raises ``KeyError`` with the list.
    """
    stale = []
    for i, name in shown_in(nb):
        if name not in drawn:
            raise KeyError(f"{name}.png is shown but not drawn; diagrams: {sorted(drawn)}")
        cell = nb.cells[i]
        stored = cell.get("attachments", {}).get(f"{name}.png", {}).get("image/png")
        if stored is None or not same_picture(base64.b64decode(stored), drawn[name]):
            stale.append(name)
            cell.setdefault("attachments", {})[f"{name}.png"] = {
                "image/png": base64.b64encode(drawn[name]).decode("ascii")
            }
    return stale


def main(check: bool = False) -> int:
    """Draw every diagram, write ``docs/images/diagrams/``, refresh the lessons."""
    import nbformat

    from cam_edu.teaching.notebooks import lesson_paths

    drawn = {name: render(name) for name in sorted(registry())}
    stale: list[str] = []
    OUT.mkdir(parents=True, exist_ok=True)
    for name, png in drawn.items():
        path = OUT / f"{name}.png"
        if not path.exists() or not same_picture(path.read_bytes(), png):
            stale.append(str(path.relative_to(REPO)))
            if not check:
                path.write_bytes(png)
    for path in lesson_paths():
        nb = nbformat.read(path, as_version=4)
        names = refresh(nb, drawn)
        if names:
            stale += [f"{path.name}: {n}" for n in names]
            if not check:
                nbformat.write(nb, path)
    verb = "stale (run `python -m cam_edu.teaching diagrams`)" if check else "redrawn"
    print(f"diagrams {verb}: {', '.join(stale)}" if stale else "diagrams up to date")
    return int(check and bool(stale))
