"""The lesson notebooks as teaching material: slide metadata, measured times, estimates.

Slide metadata is set by rules from each cell's content and its measured run time, so it
is re-derived after the lessons are rewritten (``python -m cam_edu.teaching metadata``):

- a markdown cell starting with ``#`` or ``##`` opens a slide, ``###`` a sub-slide;
- a code cell that only imports (setup), or that ran for at least :data:`SLOW_SECONDS`
  and prints a long log or nothing (training, loading, timing loops), is skipped;
- a code cell showing a picture or a widget opens a sub-slide;
- a code cell longer than :data:`LONG_CELL_LINES` lines is collapsed (tag ``hide-input``:
  the slides and the website show its output, the website keeps the code behind a toggle).

The run times are the ones Jupyter recorded in each cell's ``execution`` metadata when the
notebook was last executed; nothing here is typed in.

>>> import nbformat
>>> cell = nbformat.v4.new_markdown_cell("## The data\\nTen digits.")
>>> slide_type(cell)
'slide'
>>> slide_type(nbformat.v4.new_code_cell("import numpy as np\\nimport keras"))
'skip'
"""

from __future__ import annotations

import ast
import base64
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SLOW_SECONDS = 5.0
LONG_CELL_LINES = 15
LONG_LOG_LINES = 10
COLLAPSE_TAG = "hide-input"
# Assumptions of the class-time estimates (stated on the instructor page): how fast one
# explains text aloud, and how long one spends on each line of code shown.
SPOKEN_WORDS_PER_MINUTE = 110
SECONDS_PER_CODE_LINE = 5
# ... and of the self-study estimate: how fast a student reads the lesson's text, how long
# they spend on each line of code (reading it, running it, changing it).
READING_WORDS_PER_MINUTE = 100
STUDY_SECONDS_PER_CODE_LINE = 15
# The line of the opening cell that states the lesson's time; `annotate` rewrites it.
TIME_LINE = re.compile(r"^\*\*Time:\*\*.*$", re.MULTILINE)
PICTURE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
LIVE_LINE = (
    "*A picture of the explorer as it was when this lesson ran. To move its controls, "
    "open this notebook in JupyterLab (`make lab`) and run it.*"
)


def lesson_paths(root: Path = NOTEBOOKS) -> list[Path]:
    """The lesson notebooks ``NN_*.ipynb``, in course order."""
    return sorted(root.glob("[0-9][0-9]_*.ipynb"))


def appendix_paths(root: Path = NOTEBOOKS) -> list[Path]:
    """The appendix notebooks ``appendix_*.ipynb`` (on the website; no slides), in order."""
    return sorted(root.glob("appendix_*.ipynb"))


def exercise_paths(root: Path = NOTEBOOKS) -> list[Path]:
    """The student exercise notebooks, in order."""
    return sorted((root / "exercises").glob("ex*.ipynb"))


def title(nb) -> str:
    """The text of the notebook's first heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#+\s+(.+)$", cell.source, flags=re.MULTILINE)
            if match:
                return match.group(1).strip()
    return ""


# ----------------------------------------------------------------------------- one cell


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cell_seconds(cell) -> float | None:
    """How long the code cell ran when the notebook was last executed (Jupyter's record)."""
    record = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in record or "shell.execute_reply" not in record:
        return None
    return (
        _timestamp(record["shell.execute_reply"]) - _timestamp(record["iopub.execute_input"])
    ).total_seconds()


def executed_on(nb) -> str | None:
    """The date (UTC) the notebook's first timed cell ran, ``YYYY-MM-DD``."""
    for cell in nb.cells:
        record = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in record:
            return record["iopub.execute_input"][:10]
    return None


def heading_level(cell) -> int:
    """1 for ``# ...``, 2 for ``## ...``, ...; 0 if the cell does not start with a heading."""
    if cell.cell_type != "markdown":
        return 0
    match = re.match(r"(#{1,6})\s", cell.source.lstrip())
    return len(match.group(1)) if match else 0


def code_lines(source: str) -> int:
    """Non-blank lines of code that are not comments or ``NBVAL_*`` markers.

    >>> code_lines("# NBVAL_IGNORE_OUTPUT\\nx = 1\\n\\nprint(x)  # shown")
    2
    """
    lines = (line.strip() for line in source.splitlines())
    return sum(1 for line in lines if line and not line.startswith("#"))


def is_setup(cell) -> bool:
    """Whether the code cell holds only imports (and settings calls between them).

    >>> import nbformat
    >>> is_setup(nbformat.v4.new_code_cell("import numpy as np\\nx = np.ones(3)"))
    False
    """
    from IPython.core.inputtransformer2 import TransformerManager

    try:  # magics (%config ...) become ordinary calls first
        body = ast.parse(TransformerManager().transform_cell(cell.source)).body
    except SyntaxError:
        return False
    imports = sum(isinstance(node, ast.Import | ast.ImportFrom) for node in body)
    return imports > 0 and imports >= 0.75 * len(body)


def _output_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def shows_picture(cell) -> bool:
    """Whether a code cell's stored outputs hold a picture or a widget."""
    mimes = {m for o in cell.get("outputs", []) for m in o.get("data", {})}
    return bool(mimes & {*PICTURE_MIMES, WIDGET_MIME})


def shows_widget(cell) -> bool:
    return any(WIDGET_MIME in o.get("data", {}) for o in cell.get("outputs", []))


def skip_reason(cell) -> str | None:
    """Why the code cell is left out of the slides, or ``None`` if it is shown."""
    if cell.cell_type != "code":
        return None
    if is_setup(cell):
        return "setup (imports)"
    seconds = cell_seconds(cell)
    log_lines = len(_output_text(cell).splitlines())
    has_result = shows_picture(cell) or any(
        o.output_type in ("execute_result", "display_data") for o in cell.get("outputs", [])
    )
    if seconds is not None and seconds >= SLOW_SECONDS and not has_result:
        if log_lines == 0 or log_lines > LONG_LOG_LINES:
            return f"slow ({seconds:.0f} s) with {log_lines} lines of log"
    return None


def slide_type(cell) -> str:
    """The reveal.js slide type the rules give the cell (see the module docstring)."""
    level = heading_level(cell)
    if level in (1, 2):
        return "slide"
    if level >= 3:
        return "subslide"
    if skip_reason(cell):
        return "skip"
    if cell.cell_type == "code" and shows_picture(cell):
        return "subslide"
    return "-"


def collapsed(cell) -> bool:
    """Whether the slides show only the output of this code cell (its code is long)."""
    return cell.cell_type == "code" and code_lines(cell.source) > LONG_CELL_LINES


def round_up_to_5(minutes: float) -> int:
    """Round a time estimate up to the next 5 minutes (at least 5).

    >>> round_up_to_5(11.2), round_up_to_5(0.3)
    (15, 5)
    """
    return 5 * max(1, math.ceil(minutes / 5))


def markdown_words(nb) -> int:
    """The words a student reads in a notebook: whitespace-separated tokens of its markdown.

    >>> import nbformat
    >>> markdown_words(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A b")]))
    3
    """
    return sum(len(cell.source.split()) for cell in nb.cells if cell.cell_type == "markdown")


def study_minutes(nb) -> float:
    """Estimated minutes a student alone needs: read the text, work through the code, run it."""
    seconds = 0.0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            seconds += 60 * words(cell.source) / READING_WORDS_PER_MINUTE
        elif cell.cell_type == "code":
            seconds += STUDY_SECONDS_PER_CODE_LINE * code_lines(cell.source) + (
                cell_seconds(cell) or 0
            )
    return seconds / 60


def time_line(nb) -> str:
    """The opening cell's time line, from the class and self-study estimates."""
    return (
        f"**Time:** about {round_up_to_5(class_minutes(nb))} min in class, "
        f"{round_up_to_5(study_minutes(nb))} min on your own (without the exercise)."
    )


def _set_time_line(opening, nb) -> None:
    for _ in range(3):  # the line's own words count in the estimate: settle it
        before = opening.source
        opening.source = TIME_LINE.sub(time_line(nb), opening.source, count=1)
        if opening.source == before:
            return


def annotate(nb) -> int:
    """Set the slide metadata and the collapse tag on every cell; return how many changed.

    The opening cell's ``**Time:**`` line, if it has one, is rewritten from the estimates.
    """
    changed = 0
    for cell in nb.cells:
        before = (dict(cell.metadata.get("slideshow", {})), list(cell.metadata.get("tags", [])))
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
        tags = [t for t in cell.metadata.get("tags", []) if t != COLLAPSE_TAG]
        if collapsed(cell):
            tags.append(COLLAPSE_TAG)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        changed += before != (cell.metadata["slideshow"], tags)
    opening = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if opening is not None and TIME_LINE.search(opening.source):
        before = opening.source
        _set_time_line(opening, nb)
        changed += opening.source != before
    return changed


# ----------------------------------------------------------------------------- slides


@dataclass
class Slide:
    """The cells of one (sub-)slide, as indices into the notebook."""

    cells: list[int] = field(default_factory=list)


def slides_of(nb) -> list[Slide]:
    """Group the cells into (sub-)slides by their ``slideshow`` metadata."""
    slides: list[Slide] = []
    for i, cell in enumerate(nb.cells):
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind in ("slide", "subslide") or not slides:
            slides.append(Slide())
        slides[-1].cells.append(i)
    return slides


def section_of(nb, index: int) -> str:
    """The last heading at or before cell ``index``."""
    for cell in reversed(nb.cells[: index + 1]):
        if heading_level(cell):
            return cell.source.lstrip().splitlines()[0].lstrip("#").strip()
    return ""


def words(text: str) -> int:
    """The words of ``text`` as the time estimates count them (runs of letters and digits)."""
    return len(re.findall(r"\w+", text))


def slide_minutes(nb, shown, ran: set[int] | None = None) -> float:
    """Estimated minutes to present what a slide shows: its text spoken, its code
    explained, and the cells it runs (each cell's run time counted once).

    ``shown`` holds ``(cell index, text)`` pairs: the markdown or the code lines the slide
    shows of that cell (``None`` for a code cell whose code is not shown, its outputs
    alone). ``ran`` holds the cells whose run time an earlier slide counted; the cells
    this slide runs are added to it. A lesson's slide shows its cells whole
    (:func:`shown_cells`); a deck's slide, parts of them (:mod:`cam_edu.teaching.notes`).
    """
    ran = set() if ran is None else ran
    seconds = 0.0
    for i, text in shown:
        cell = nb.cells[i]
        if cell.cell_type == "markdown":
            seconds += 60 * words(text) / SPOKEN_WORDS_PER_MINUTE
            continue
        if text is not None:
            seconds += SECONDS_PER_CODE_LINE * code_lines(text)
        if i not in ran:
            ran.add(i)
            seconds += cell_seconds(cell) or 0.0
    return seconds / 60


def shown_cells(nb, slide: Slide) -> list[tuple[int, str | None]]:
    """What a lesson slide shows, for :func:`slide_minutes`: every cell not skipped, with
    its text (no code for a collapsed code cell)."""
    shown = []
    for i in slide.cells:
        cell = nb.cells[i]
        if cell.metadata.get("slideshow", {}).get("slide_type", "-") == "skip":
            continue
        hidden = cell.cell_type == "code" and COLLAPSE_TAG in cell.metadata.get("tags", [])
        shown.append((i, None if hidden else cell.source))
    return shown


def class_minutes(nb) -> float:
    """Estimated minutes to teach the lesson from its slides (the sum over its slides)."""
    ran: set[int] = set()
    return sum(slide_minutes(nb, shown_cells(nb, s), ran) for s in slides_of(nb))


# ----------------------------------------------------------------------------- widgets


def _widget_pictures(state: dict, model_id: str) -> list[tuple[bytes, str]]:
    """The pictures of every Image widget and explorer picture reachable from ``model_id``,
    each with its alt text (the explorer's says what it shows; an Image widget has none)."""
    from cam_edu.widgets import ExplorerPicture

    pictures, seen, todo = [], set(), [model_id]
    while todo:
        mid = todo.pop(0)
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        model = state[mid]
        if model.get("model_name") == "ImageModel":
            for buffer in model.get("buffers", []):
                if buffer.get("path") == ["value"]:
                    pictures.append((base64.b64decode(buffer["data"]), ""))
        explorer = ExplorerPicture.saved_picture(model)
        if explorer is not None:
            pictures.append(explorer)
        refs = re.findall(r"IPY_MODEL_([0-9a-f]+)", repr(model.get("state", {})))
        todo.extend(refs)
    return pictures


def freeze_widgets(nb) -> int:
    """Replace every widget output by its stored pictures and a line on running it live.

    The website and the static slides have no kernel; the explorer's stored state holds
    the picture it showed when the lesson ran, and its alt text (image, class, method,
    colour scale), which becomes the picture's ``{"image/png": {"alt": ...}}`` metadata and
    a caption under it.
    Drops the widget state from the metadata, so no widget JavaScript is loaded. Returns
    the number of widget outputs replaced.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_MIME)
            if view is None:
                outputs.append(output)
                continue
            replaced += 1
            for picture, alt in _widget_pictures(state, view["model_id"]):
                mime = "image/jpeg" if picture[:2] == b"\xff\xd8" else "image/png"
                data = {mime: base64.b64encode(picture).decode(), "text/plain": "<explorer>"}
                metadata = {mime: {"alt": alt}} if alt else {}
                output = nbformat.v4.new_output("display_data", data=data, metadata=metadata)
                outputs.append(output)
                if alt:  # the live caption's facts, visible under the picture
                    caption = {"text/markdown": f"Shown: {alt}"}
                    outputs.append(nbformat.v4.new_output("display_data", data=caption))
            line = {"text/markdown": LIVE_LINE}
            outputs.append(nbformat.v4.new_output("display_data", data=line))
        if cell.cell_type == "code":
            cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced
