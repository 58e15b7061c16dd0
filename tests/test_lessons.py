"""What every lesson has: objectives and time, a diagram, a reading of every figure,
a recap with questions and hidden answers, and the explorer as its last code cell.

These are checks of the stored, executed lessons (the outputs nbval compares).
"""

from __future__ import annotations

import re

import nbformat
import pytest

from cam_edu.teaching import diagrams
from cam_edu.teaching import notebooks as nbs

LESSONS = nbs.lesson_paths()
IGNORE_TAGS = {"nbval-ignore-output", "nbval-skip"}
# Words that belong to the instructor page, not to a student's lesson.
TOOLING = re.compile(
    r"\b(nbval|pytest|CI|continuous integration|the tests|our tests|unit tests?|"
    r"NBVAL_\w+|checked outputs?)\b"
)
DECIMAL = re.compile(r"(?<![\w.])-?\d+\.\d+")


def _read(path):
    return nbformat.read(path, as_version=4)


def _outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _checked(cell) -> bool:
    return not IGNORE_TAGS & set(cell.metadata.get("tags", []))


def _figure(cell) -> bool:
    return cell.cell_type == "code" and any(
        mime in out.get("data", {}) for out in cell.get("outputs", []) for mime in nbs.PICTURE_MIMES
    )


def _section(nb, heading: str) -> int | None:
    for i, cell in enumerate(nb.cells):
        if nbs.heading_level(cell) and heading.lower() in cell.source.splitlines()[0].lower():
            return i
    return None


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_opens_with_objectives_and_time(path):
    nb = _read(path)
    opening = nb.cells[0]
    assert opening.cell_type == "markdown" and nbs.heading_level(opening) == 1
    assert "You will learn" in opening.source, "the opening cell lists what the lesson teaches"
    after = opening.source.split("You will learn", 1)[1]
    bullets = re.findall(r"^\s*[-*] ", after.split("**Time:**")[0], re.MULTILINE)
    assert 3 <= len(bullets) <= 5, f"{len(bullets)} learning objectives (want 3-5)"
    assert nbs.TIME_LINE.search(opening.source), "the opening cell states the time it takes"
    annotated = _read(path)
    nbs.annotate(annotated)
    assert annotated.cells[0].source == opening.source, "time line stale: run `metadata`"
    assert nb.metadata.kernelspec == {
        "display_name": "Python 3 (cam_edu)",
        "language": "python",
        "name": "python3",
    }


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_shows_a_diagram_drawn_by_the_package(path):
    shown = diagrams.shown_in(_read(path))
    assert shown, "no diagram: show one with ![...](attachment:NAME.png)"
    assert {name for _, name in shown} <= set(diagrams.registry())


def test_diagrams_are_current_and_every_one_is_shown():
    assert diagrams.main(check=True) == 0, "run `python -m cam_edu.teaching diagrams`"
    shown = {name for path in LESSONS for _, name in diagrams.shown_in(_read(path))}
    assert set(diagrams.registry()) <= shown, "a diagram is drawn that no lesson shows"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_figure_is_read_aloud_with_the_printed_numbers(path):
    nb = _read(path)
    printed = ""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            printed += _outputs_text(cell)
        if not _figure(cell):
            continue
        after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        assert after is not None and after.cell_type == "markdown", (
            f"cell {i} draws a figure and no markdown cell says what to see in it"
        )
        for number in DECIMAL.findall(after.source):
            assert number in printed, (
                f"cell {i + 1} quotes {number}, which no code cell before it printed"
            )


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_figure_has_a_checked_number(path):
    nb = _read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for k, cell in enumerate(code):
        if not _figure(cell):
            continue
        near = [c for c in code[max(0, k - 1) : k + 1] if _checked(c)]
        assert any(re.search(r"\d", _outputs_text(c)) for c in near), (
            f"code cell {k + 1} draws a figure but neither it nor the cell before it prints "
            "a number that nbval checks"
        )


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_closes_with_recap_questions_and_the_explorer(path):
    nb = _read(path)
    recap = _section(nb, "Recap")
    questions = _section(nb, "Check your understanding")
    assert recap is not None and questions is not None and recap < questions
    text = "\n".join(c.source for c in nb.cells[questions:] if c.cell_type == "markdown")
    answers = re.findall(r"<details>\s*<summary>.+?</summary>.+?</details>", text, re.DOTALL)
    assert 3 <= len(answers) <= 5, f"{len(answers)} questions with hidden answers (want 3-5)"
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "cam_explorer(" in last_code.source, "the last code cell is the explorer"
    assert nbs.shows_widget(last_code), "the explorer cell was not run"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_student_text_does_not_talk_about_tooling(path):
    nb = _read(path)
    for i, cell in enumerate(nb.cells):
        found = TOOLING.search(cell.source)
        assert not found, f"cell {i} mentions {found.group(0)!r}: instructor notes go elsewhere"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_training_shows_one_progress_line(path):
    for i, cell in enumerate(_read(path).cells):
        epochs = re.findall(r"^.*\bepoch\b.*$", _outputs_text(cell), re.IGNORECASE | re.MULTILINE)
        assert len(epochs) <= 1, f"cell {i} prints {len(epochs)} epoch lines (one is enough)"


# ----------------------------------------------------------------------------- budgets
WORDS_PER_LESSON, WORDS_IN_ALL, STUDY_MINUTES = 2000, 12000, 75


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_keeps_to_its_budget(path):
    nb = _read(path)
    words = nbs.markdown_words(nb)
    assert words <= WORDS_PER_LESSON, f"{words} words of text (at most {WORDS_PER_LESSON})"
    minutes = nbs.round_up_to_5(nbs.study_minutes(nb))
    assert minutes <= STUDY_MINUTES, f"{minutes} min of self-study (at most {STUDY_MINUTES})"


def test_the_course_keeps_to_its_word_budget():
    words = sum(nbs.markdown_words(_read(path)) for path in LESSONS)
    assert words <= WORDS_IN_ALL, f"{words} words in the seven lessons (at most {WORDS_IN_ALL})"


# ----------------------------------------------------------------------------- pictures
# Maps are drawn by cam_edu.viz (one picture language); a lesson may show jet once, in the
# cell that says why not to use it (marked with this comment).
WHY_NOT_JET = "# why not jet"
RESTYLING = re.compile(r"\bimshow\(|\bcmap\s*=|[\"']jet[\"']")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_maps_are_drawn_by_the_package(path):
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code" or WHY_NOT_JET in cell.source:
            continue
        found = RESTYLING.search(cell.source)
        assert not found, (
            f"cell {i} draws with {found.group(0)!r}: use cam_edu.viz (show_map, show_image, "
            "plot_cam_grid)"
        )


def test_jet_is_shown_at_most_once_and_only_to_say_why_not():
    marked = [
        (path.stem, i)
        for path in LESSONS
        for i, cell in enumerate(_read(path).cells)
        if cell.cell_type == "code" and WHY_NOT_JET in cell.source
    ]
    assert len(marked) <= 1, f"jet is shown in {marked}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_figures_fit_the_column_and_say_what_they_show(path):
    import base64
    import io

    from PIL import Image

    from cam_edu.viz import MAX_WIDTH_IN

    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code" or nbs.shows_widget(cell):
            continue
        for out in cell.get("outputs", []):
            if "image/png" not in out.get("data", {}):
                continue
            png = Image.open(io.BytesIO(base64.b64decode(out["data"]["image/png"])))
            assert png.width <= 100 * MAX_WIDTH_IN + 20, (
                f"cell {i}: a figure {png.width} px wide is shrunk on the page (fonts too)"
            )
            alt = out.get("metadata", {}).get("image/png", {}).get("alt", "")
            assert len(alt.split()) >= 4, (
                f"cell {i}: a figure without a description; show it with "
                "cam_edu.viz.show(fig, 'what it shows')"
            )


def test_a_diagram_with_one_word_changed_is_not_the_same_picture():
    import io

    import matplotlib.pyplot as plt

    def drawing(title: str) -> bytes:
        fig, ax = plt.subplots(figsize=(7.4, 3))
        ax.set_axis_off()
        ax.text(0.1, 0.5, title, fontsize=10)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=diagrams.DPI)
        plt.close(fig)
        return buffer.getvalue()

    one = drawing("one CAM column = 1/32 of the beam")
    assert diagrams.same_picture(one, drawing("one CAM column = 1/32 of the beam"))
    assert not diagrams.same_picture(one, drawing("CAM columns: one per 1/32 of the beam"))
