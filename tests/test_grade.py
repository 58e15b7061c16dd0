"""The grader on a synthetic class built from the real exercise notebooks ex01 and ex03.

One module-scoped run grades ten students (eight kernels, three at a time, a 60 s limit);
the other tests read its output. The cases: correct, untouched (with a forged ✓ saved
in its check cell), partly right, wrong, crashing, endless loop, not JSON, an edited
check cell, a deleted check cell, a redefined check function, plus ignored files.
"""

import asyncio
import csv
import hashlib
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_output

from cam_edu import exercises
from cam_edu.exercises import ExerciseError
from cam_edu.exercises.checks import SelfCheckFailed, check_cam_identity, check_gap_loop
from cam_edu.exercises.grade import (
    Check,
    Exercise,
    Submission,
    find_submissions,
    grade_submission,
    load_exercises,
    parse_name,
    tampering,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EX01, EX03 = "ex01_gap_loop", "ex03_cam_identity"
TIMEOUT = 60

GAP_SUM = "def global_average_pool_loop(features):\n    return features.sum(axis=(1, 2))\n"
GAP_HANGS = "def global_average_pool_loop(features):\n    while True:\n        time.sleep(0.1)\n"
CAM_SUMS = (
    "def logits_via_cam(features, weights, bias):\n"
    '    maps = np.einsum("nhwk,kc->nhwc", features, weights)\n'
    "    return maps.sum(axis=(1, 2)) + bias\n"
)


def solution_sources(name: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / "solutions" / f"{name}.ipynb", as_version=4)
    return [c.source for c in nb.cells if "solution" in c.metadata.get("tags", [])]


def student_nb(name: str, *sources: str):
    """The built exercise with its exercise cells replaced by ``sources`` (None: untouched)."""
    nb = nbformat.read(NOTEBOOKS / "exercises" / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    for cell, source in zip(cells, sources, strict=False):
        if source is not None:
            cell.source = source
    return nb


def check_cell(nb):
    return next(c for c in nb.cells if "self-check" in c.metadata.get("tags", []))


def save(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def make_class(root: Path) -> None:
    gap = solution_sources(EX01)
    gap_ok, cam_ok = solution_sources(EX03)
    save(root / "alice" / f"{EX01}.ipynb", student_nb(EX01, *gap))
    save(root / "alice" / f"{EX03}.ipynb", student_nb(EX03, gap_ok, cam_ok))
    save(root / "alice" / ".ipynb_checkpoints" / f"{EX01}-checkpoint.ipynb", student_nb(EX01))
    (root / "alice" / "notes.txt").write_text("my notes")

    blank = student_nb(EX01)  # a ✓ saved in the file must not count
    check_cell(blank).outputs = [new_output("stream", name="stdout", text="✓ forged\n")]
    save(root / f"bob_{EX01}.ipynb", blank)
    save(root / "carol" / "ex01.ipynb", student_nb(EX01, *gap))
    save(root / "carol" / "ex03.ipynb", student_nb(EX03, gap_ok, CAM_SUMS))
    save(root / f"dave_{EX01}.ipynb", student_nb(EX01, GAP_SUM))
    save(root / f"erin_{EX01}.ipynb", student_nb(EX01, "import cam_edu.not_a_module\n\n" + gap[0]))
    save(root / f"frank_{EX01}.ipynb", student_nb(EX01, "import time\n\n\n" + GAP_HANGS))
    text = nbformat.writes(student_nb(EX01, *gap))
    (root / f"grace_{EX01}.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    edited = student_nb(EX01, *gap)
    check_cell(edited).source = "check_gap_loop(lambda f: f.mean(axis=(1, 2)))"
    save(root / f"heidi_{EX01}.ipynb", edited)
    deleted = student_nb(EX01, *gap)
    deleted.cells.remove(check_cell(deleted))
    save(root / f"ivan_{EX01}.ipynb", deleted)
    fake = 'def check_gap_loop(fn):\n    print("✓ global_average_pool_loop: all 6 cases")\n'
    save(root / f"judy_{EX01}.ipynb", student_nb(EX01, gap[0] + "\n\n" + fake))


def fingerprint(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    } | {p.relative_to(root).as_posix() + "/": "dir" for p in root.rglob("*") if p.is_dir()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("course")
    submissions = base / "submissions"
    make_class(submissions)
    before = fingerprint(submissions)
    code = exercises.main(
        [
            "--notebooks",
            str(NOTEBOOKS),
            "grade",
            str(submissions),
            "--timeout",
            str(TIMEOUT),
            "--jobs",
            "3",
        ]
    )
    out = base / "grades"  # the default: next to the submissions
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {
        "code": code,
        "rows": rows,
        "summary": (out / "summary.md").read_text(encoding="utf-8"),
        "before": before,
        "after": fingerprint(submissions),
    }


def failure_line(check, *sources: str) -> str:
    """The ✗ line a check gives for functions defined by ``sources``, run here."""
    import numpy as np

    namespace = {"np": np}
    for source in sources:
        exec(source, namespace)
    names = [n for n in ("global_average_pool_loop", "logits_via_gap", "logits_via_cam")]
    with pytest.raises(SelfCheckFailed) as failure:
        check(*[namespace[n] for n in names if n in namespace])
    return str(failure.value)


def test_grades_csv_has_one_exact_row_per_student_and_check(graded):
    assert graded["code"] == 0
    stub = student_nb(EX01).cells[5].source
    header, *rows = graded["rows"]
    assert header == ["student", "exercise", "check", "passed", "hint"]
    by_student = {}
    for student, exercise, check, passed, hint in rows:
        by_student.setdefault(student, []).append((exercise, check, passed, hint))
    missing = (EX03, "check_cam_identity", "0", "no notebook submitted")
    gap_row = (EX01, "check_gap_loop")
    not_trusted = "; not run, its results would not be trusted"
    expected = {
        "alice": [(*gap_row, "1", ""), (EX03, "check_cam_identity", "1", "")],
        "bob": [(*gap_row, "0", failure_line(check_gap_loop, "import numpy as np\n" + stub))],
        "carol": [
            (*gap_row, "1", ""),
            (
                EX03,
                "check_cam_identity",
                "0",
                failure_line(check_cam_identity, solution_sources(EX03)[0], CAM_SUMS),
            ),
        ],
        "dave": [(*gap_row, "0", failure_line(check_gap_loop, GAP_SUM))],
        "erin": [
            (
                *gap_row,
                "0",
                "the check cell raised NameError: name 'global_average_pool_loop' is not "
                "defined; before it, cell 6 (`import cam_edu.not_a_module`) raised "
                "ModuleNotFoundError: No module named 'cam_edu.not_a_module'",
            )
        ],
        "frank": [
            (
                *gap_row,
                "0",
                f"not finished: stopped at the time limit of {TIMEOUT} s in cell 7 "
                "(`check_gap_loop(global_average_pool_loop)`)",
            )
        ],
        "heidi": [
            (
                *gap_row,
                "0",
                "TAMPERED: the self-check cell calling check_gap_loop was edited" + not_trusted,
            )
        ],
        "ivan": [
            (
                *gap_row,
                "0",
                "the self-check cell `check_gap_loop(global_average_pool_loop)` was deleted",
            )
        ],
        "judy": [(*gap_row, "0", "TAMPERED: cell 6 redefines check_gap_loop" + not_trusted)],
    }
    grace = by_student.pop("grace")
    assert [r[:3] for r in grace] == [(*gap_row, "0"), missing[:3]]
    assert grace[0][3].startswith("not a valid notebook (NotJSONError: ")
    assert grace[0][3].endswith("); nothing was run") and "\n" not in grace[0][3]
    assert grace[1] == missing
    for student in expected:
        if len(expected[student]) == 1:
            expected[student].append(missing)
    assert by_student == expected


def test_summary_totals_per_student_and_per_check(graded):
    summary = graded["summary"]
    assert f"10 students, 2 exercises, 2 checks; time limit {TIMEOUT} s per notebook" in summary
    assert f"| student | passed | checks | {EX01} | {EX03} |" in summary
    assert "| alice | 2 | 2 | 1/1 | 1/1 |" in summary
    assert "| carol | 1 | 2 | 1/1 | 0/1 |" in summary
    for student in ("bob", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"):
        assert f"| {student} | 0 | 2 | 0/1 | 0/1 |" in summary
    assert f"| {EX01} | check_gap_loop | 2 | 10 |" in summary
    assert f"| {EX03} | check_cam_identity | 1 | 10 |" in summary
    look_at = summary.split("## Notebooks to look at")[1].split("## Files not graded")[0]
    flagged = [line.split(",")[0] for line in look_at.strip().splitlines()]
    assert flagged == ["- erin", "- frank", "- grace", "- heidi", "- ivan", "- judy"]
    assert "- alice/notes.txt: not a notebook named" in summary
    assert "checkpoint" not in summary


def test_no_submission_file_is_changed_or_added(graded):
    assert graded["after"] == graded["before"]
    assert len(graded["before"]) == 17  # 14 files and 3 folders, all still there


# --------------------------------------------------------------------------- fast parts


def test_parse_name_needs_a_known_exercise_number_as_a_word():
    numbers = {"ex01", "ex03"}
    assert parse_name("alice_ex01_gap_loop", numbers) == ("alice", "ex01")
    assert parse_name("ex03_cam_identity", numbers) == ("", "ex03")
    assert parse_name("bob_ex01", numbers) == ("bob", "ex01")
    assert parse_name("rex01_x", numbers) is None
    assert parse_name("alice_ex02", numbers) is None
    assert parse_name("alice_ex011", numbers) is None


def test_several_notebooks_for_one_exercise_and_unknown_files(tmp_path):
    exs = load_exercises(NOTEBOOKS / "exercises")
    for name in ("alice/ex01.ipynb", "alice/ex01_gap_loop-Copy1.ipynb", "bob.ipynb", "x/y.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    found, ignored = find_submissions(tmp_path, exs)
    assert [(s.student, s.exercise.number, len(s.paths)) for s in found] == [("alice", "ex01", 2)]
    assert [i.split(":")[0] for i in ignored] == ["bob.ipynb", "x/y.csv"]


@pytest.mark.parametrize(
    "source,flag",
    [
        ("from cam_edu.exercises.checks import check_gap_loop", None),
        ("import cam_edu.exercises.checks", None),
        ("check_gap_loop(global_average_pool_loop)\nx = 1", None),
        ("from cam_edu.exercises.checks import check_iou as check_gap_loop", "redefines"),
        ("from mine import check_gap_loop", "redefines"),
        ("check_gap_loop = print", "redefines"),
        ("def check_gap_loop(f):\n    pass", "redefines"),
    ],
)
def test_tampering_spots_a_redefined_check(source, flag):
    ex = load_exercises(NOTEBOOKS / "exercises")["ex01"]
    nb = student_nb(EX01)
    nb.cells[3].source = source
    found = tampering(nb, ex)
    assert (found is None) if flag is None else (flag in found and "cell 4" in found), found


def test_grade_refuses_bad_input_and_an_output_folder_inside_the_submissions(tmp_path, capsys):
    built = NOTEBOOKS / "exercises"
    klass = tmp_path / "class"
    save(klass / "alice" / "ex01.ipynb", student_nb(EX01))
    before = fingerprint(klass)
    with pytest.raises(ExerciseError, match="inside the submissions"):
        exercises.grade(klass, built, klass / "alice" / "grades")
    args = ["--notebooks", str(NOTEBOOKS), "grade", str(klass), "--out", str(klass)]
    assert exercises.main(args) == 2
    assert "grades never go next to a student's work" in capsys.readouterr().err
    assert fingerprint(klass) == before
    with pytest.raises(ExerciseError, match="no submission found"):
        exercises.grade(klass / "alice", built, tmp_path / "out")
    with pytest.raises(ExerciseError, match="is not a folder; expected the class's"):
        exercises.grade(tmp_path / "nope", built)
    with pytest.raises(ExerciseError, match="timeout must be > 0"):
        exercises.grade(klass, built, timeout=0)
    with pytest.raises(ExerciseError, match="no exercise notebooks"):
        exercises.grade(klass, tmp_path / "nope")
    save(tmp_path / "plain" / "ex01_gap_loop.ipynb", nbformat.v4.new_notebook())
    with pytest.raises(ExerciseError, match="has no cell tagged 'self-check'"):
        exercises.grade(klass, tmp_path / "plain")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "plain"]  # nothing written


def test_unreadable_and_duplicate_submissions_fail_without_running(tmp_path):
    ex = load_exercises(NOTEBOOKS / "exercises")["ex01"]
    bad = tmp_path / "ann_ex01.ipynb"  # JSON, but no metadata and a cell without source
    bad.write_text('{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5}')
    copy = tmp_path / "ann_ex01_gap_loop.ipynb"
    save(copy, student_nb(EX01))
    for paths, hint in [
        ((bad,), "not a valid notebook (ValidationError: "),
        ((bad, copy), "several notebooks for this exercise: ann_ex01.ipynb, ann_ex01_gap_loop"),
    ]:
        rows = asyncio.run(grade_submission(Submission("ann", ex, paths), timeout=1))
        assert [(r.student, r.exercise, r.check, r.passed) for r in rows] == [
            ("ann", EX01, "check_gap_loop", False)
        ]
        assert rows[0].hint.startswith(hint), rows[0].hint


def test_a_kernel_that_dies_gives_a_failed_row_naming_the_cell(tmp_path):
    """A tiny notebook without TensorFlow, so that its kernel is quick to start."""
    ex = Exercise("ex99_demo", "ex99", (Check("check_x", "check_x(f)"),))
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("def f():\n    return 1"),
            nbformat.v4.new_code_cell("import os\n\nos._exit(1)  # as a segfault would"),
            nbformat.v4.new_code_cell("check_x(f)"),
        ]
    )
    save(tmp_path / "kim_ex99.ipynb", nb)
    rows = asyncio.run(grade_submission(Submission("kim", ex, (tmp_path / "kim_ex99.ipynb",)), 60))
    hint = "not finished: the kernel died in cell 2 (`import os`)"
    assert rows == [("kim", "ex99_demo", "check_x", False, hint)]
