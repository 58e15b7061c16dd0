"""The instructor page, ``docs/instructor.md``, written from the executed lessons.

Every number on it comes from the notebooks: the run time of each code cell as Jupyter
recorded it when the lesson was last executed, the class-time estimates of
:mod:`cam_edu.teaching.notebooks` (whose assumptions the page states) and the number of
slides of each deck (:mod:`cam_edu.teaching.slides`). Re-run
``python -m cam_edu.teaching instructor`` after re-executing or rewriting the lessons;
``--check`` (run by the tests) fails while the page is stale. The website's version
(``render(site=True)``) links every lesson and its deck, and includes the README's part
on editing the exercises, to which the page refers.

>>> import nbformat
>>> why_slow(nbformat.v4.new_code_cell("history = train(model, x, y)"))
'trains a model'
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

from cam_edu.teaching import notebooks as nbs

INSTRUCTOR = nbs.REPO / "docs" / "instructor.md"
README = nbs.REPO / "README.md"
EDITING = "For instructors: editing the exercises"

# What a call makes slow, by the name of the function called (first match in the cell).
SLOW_CALLS = {
    "train": "trains a model",
    "fit": "trains a model",
    "mnist_gap_cnn": "trains the lesson's model, or loads it from the cache",
    "speedup": "times code by running it repeatedly",
    "load_resnet50": "loads the ResNet50 weights",
    "load_mnist": "loads MNIST",
    "make_dataset": "simulates the data set",
    "predict": "runs the network over many images",
    "compute_cam": "computes maps for many images",
}


def _calls(cell) -> list[str]:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        tree = ast.parse(TransformerManager().transform_cell(cell.source))
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.append(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def why_slow(cell) -> str:
    """A short reason a code cell takes long, from the functions it calls."""
    if nbs.is_setup(cell):
        return "imports TensorFlow and Keras (the first cell pays for the kernel's imports)"
    calls = _calls(cell)
    for name, reason in SLOW_CALLS.items():
        if name in calls:
            return reason
    return f"calls `{calls[0]}`" if calls else "runs Python code"


def lesson_rows(path: Path) -> dict:
    """The numbers of one lesson for the page."""
    nb = nbformat.read(path, as_version=4)
    nbs.annotate(nb)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    seconds = [nbs.cell_seconds(c) or 0.0 for _, c in code]
    from cam_edu.teaching.slides import lesson_deck

    minutes = nbs.class_minutes(nb)
    slow = [
        (number, i, c, s)
        for number, ((i, c), s) in enumerate(zip(code, seconds, strict=True), start=1)
        if s >= nbs.SLOW_SECONDS
    ]
    live = [nbs.section_of(nb, i) for i, c in code if nbs.shows_widget(c)]
    return {
        "name": path.stem,
        "title": nbs.title(nb),
        "executed": nbs.executed_on(nb) or "never",
        "code_cells": len(code),
        "run_seconds": sum(seconds),
        "estimate": minutes,
        "class_minutes": nbs.round_up_to_5(minutes),
        "study_minutes": nbs.round_up_to_5(nbs.study_minutes(nb)),
        "slides": len(lesson_deck(path)[1]),
        "slow": slow,
        "pictures": sum(nbs.shows_picture(c) for _, c in code),
        "live": live,
    }


def _links(row: dict, site: bool) -> tuple[str, str]:
    """Where the lesson is (a link target) and its deck (markdown), on the site or in the repo."""
    name = row["name"]
    if site:
        deck = f'<a href="slides/{name}.slides.html">lesson {int(name[:2])} slides</a>'
        return f"lessons/{name}.ipynb", deck
    return f"../notebooks/{name}.ipynb", f"`build/slides/{name}.slides.html` (`make slides`)"


def _lesson_section(row: dict, site: bool) -> list[str]:
    lesson, deck = _links(row, site)
    lines = [
        f"### {row['title']}",
        "",
        f"[The lesson]({lesson}); its slides: {deck}.",
        "",
        f"`notebooks/{row['name']}.ipynb`, last executed on {row['executed']}: "
        f"{row['code_cells']} code cells ran in **{row['run_seconds']:.0f} s** in total. "
        f"Suggested class time **{row['class_minutes']} min** (estimate "
        f"{row['estimate']:.1f} min over {row['slides']} slides, rounded up to 5 min).",
        "",
    ]
    if row["slow"]:
        lines += [
            f"Slow cells (at least {nbs.SLOW_SECONDS:.0f} s):",
            "",
            "| code cell | seconds | why | on the slides |",
            "|---|---|---|---|",
        ]
        for number, _, cell, seconds in row["slow"]:
            shown = nbs.skip_reason(cell)
            shown = f"skipped: {shown}; run it before class" if shown else "shown"
            lines.append(f"| {number} | {seconds:.1f} | {why_slow(cell)} | {shown} |")
        lines.append("")
    else:
        lines += [f"No cell takes {nbs.SLOW_SECONDS:.0f} s or more.", ""]
    live = "; ".join(f"“{t}”" for t in row["live"])
    explorer = f"the explorer ({live}), moving its controls; " if live else ""
    lines += [
        f"Show live, in JupyterLab with RISE: {explorer}the other figures "
        f"({row['pictures'] - len(row['live'])}) are in the static slides as computed.",
        "",
    ]
    return lines


def render(paths: list[Path] | None = None, site: bool = False) -> str:
    """The whole page, as Markdown: for ``docs/``, or with ``site`` for the website."""
    rows = [lesson_rows(p) for p in paths or nbs.lesson_paths()]
    total = sum(r["class_minutes"] for r in rows)
    lines = [
        "# For instructors",
        "",
        "Written by `python -m cam_edu.teaching instructor` from the executed lesson notebooks; "
        "do not edit it by hand. The run times are the ones Jupyter recorded for every code "
        "cell when the lesson was last executed (on the machine and with the data of that run: "
        "re-run the lessons and this command on the classroom machine for its own numbers).",
        "",
        "## The lessons at a glance",
        "",
        "| lesson | deck | code cells | measured run time | slides | suggested class time "
        "| self-study time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lesson, deck = _links(r, site)
        deck = deck if site else f"`{r['name']}.slides.html`"
        lines.append(
            f"| [{r['title']}]({lesson}) | {deck} | {r['code_cells']} | {r['run_seconds']:.0f} s "
            f"| {r['slides']} | {r['class_minutes']} min | {r['study_minutes']} min |"
        )
    lines += [
        f"| all | | {sum(r['code_cells'] for r in rows)} | "
        f"{sum(r['run_seconds'] for r in rows):.0f} s | {sum(r['slides'] for r in rows)} "
        f"| {total} min | {sum(r['study_minutes'] for r in rows)} min |",
        "",
        "How the class time is estimated: the slides' text spoken at "
        f"{nbs.SPOKEN_WORDS_PER_MINUTE} words per minute, {nbs.SECONDS_PER_CODE_LINE} s per "
        "line of code shown, plus the measured run time of every cell shown. Questions and "
        "the exercises come on top. The same estimate, per slide, is in the speaker notes. "
        f"Self-study: the text read at {nbs.READING_WORDS_PER_MINUTE} words per minute, "
        f"{nbs.STUDY_SECONDS_PER_CODE_LINE} s per line of code, plus the run time. Both "
        "estimates, rounded up to 5 min, are the **Time:** line at the top of each lesson.",
        "",
        "## Per lesson",
        "",
    ]
    for r in rows:
        lines += _lesson_section(r, site)
    anchor = "#" + re.sub(r"[^a-z0-9 -]", "", EDITING.lower()).replace(" ", "-")
    if site:  # the README's part the guide refers to is on the page itself
        guide = GUIDE.strip().format(editing=f"[{EDITING}]({anchor}) below")
        guide += "\n\n" + _readme_editing()
    else:
        guide = GUIDE.strip().format(editing=f'"{EDITING}" in the [README](../README.md{anchor})')
    lines += [line.rstrip() for line in guide.splitlines()]
    return "\n".join(lines) + "\n"


def _readme_editing() -> str:
    """The README's part on editing and grading the exercises (for the website)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {EDITING}")
    return text[start : text.index("<!-- exercises:end -->", start)].strip()


GUIDE = """
## Presenting

- **Live, in JupyterLab**: `make lab`, open a lesson, run it, then press `Alt+R` (or the
  RISE button in the notebook toolbar) to present it as slides with a live kernel: cells
  run on the slides and the explorer responds. Setup and training cells are marked
  `skip`: run the notebook once before switching to slides.
- **Static, in any browser**: `make slides` writes `build/slides/NN_*.slides.html`, one
  deck per lesson with reveal.js served from the same folder (no network needed). Every
  slide fits a 1280 × 720 screen; the right arrow, Space or a clicker (Page Down) go
  through every slide in order. Press `S` for the speaker view: every slide has notes with
  its time estimate, sentences of its text to say, the cells it runs and their measured
  time, and which cells were left out. The explorer appears as the picture it showed when
  the lesson was executed.
- **Website for self-study**: `make site` writes `build/site/` (every lesson, the exercises,
  the benchmarks, this page, search), viewable with
  `python -m http.server -d build/site` without TensorFlow.

The slide metadata in the lesson notebooks is set by rules (`cam_edu/teaching/notebooks.py`):
after rewriting or re-executing a lesson run `python -m cam_edu.teaching metadata`, then
`python -m cam_edu.teaching instructor` to refresh this page.

## A classroom without a network

On a machine with a network, before class:

```bash
make prefetch   # MNIST and the ResNet50 ImageNet weights into the Keras cache, verified
```

It calls the course's own loaders (`cam_edu.course.data.load_mnist(offline=False)` and
`cam_edu.course.imagenet.load_resnet50()`), then checks the cached files: MNIST's shapes
and labels, the weights' checksum as Keras publishes it. `make prefetch` again only
verifies what is there. Copy the Keras cache folder (`~/.keras`, or `$KERAS_HOME`) to the
classroom machines; the lessons then run without a network with the full MNIST and the
real ResNet50. Without the cache they still run: MNIST falls back to the 5,000-digit
subset that ships with the course's dependencies, and lesson 5 to random weights, with a
banner saying its maps mean nothing.
Run every lesson once on a classroom machine before class.

## Handing out and grading the exercises

- Hand out `notebooks/exercises/` (the student versions; never `notebooks/solutions/`).
  They are on the website too. Students check their own work with the check cell under
  each exercise, or `pytest --nbval notebooks/exercises/exNN_....ipynb`.
- Collect the returned notebooks into one folder and grade them all with
  `python -m cam_edu.exercises grade SUBMISSIONS/`.
- To change an exercise, edit its solution notebook and rebuild the student version:
  see {editing}.
"""


def main(check: bool = False) -> int:
    """Write the page, or with ``check`` exit 1 if the page on disk differs."""
    text = render()
    if check:
        current = INSTRUCTOR.read_text(encoding="utf-8") if INSTRUCTOR.exists() else ""
        if current != text:
            print(f"{INSTRUCTOR} is stale: run `python -m cam_edu.teaching instructor`")
            return 1
        print(f"{INSTRUCTOR} is up to date")
        return 0
    INSTRUCTOR.write_text(text, encoding="utf-8")
    print(f"wrote {INSTRUCTOR}", file=sys.stderr)
    return 0
