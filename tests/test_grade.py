"""The grader on a synthetic class built from the real exercise notebooks ex01 and ex06a.

One module-scoped run grades ten students (eight kernels, three at a time, a 90 s limit);
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
from cam_edu.exercises.checks import (
    SelfCheckFailed,
    check_gradcampp_weights,
    check_sigmoid_head_cams,
    check_sigmoid_head_probabilities,
)
from cam_edu.exercises.judge import tampering
from cam_edu.exercises.grade import (
    Check,
    Exercise,
    Submission,
    find_submissions,
    grade_submission,
    load_exercises,
    parse_name,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EX01, EX06A = "ex01_sigmoid_head_cam", "ex06a_gradcam_plus_plus"
CAMS, PROBS, QUESTION = (
    "check_sigmoid_head_cams",
    "check_sigmoid_head_probabilities",
    "check_sigmoid_question",
)
EX06A_CHECKS = (
    "check_activations_and_gradients",
    "check_gradcam_weights",
    "check_gradcam_map",
    "check_grad_cam",
    "check_gradcampp_weights",
    "check_gradcampp_question",
)
TIMEOUT = 90

CAMS_ONE_MINUS = (
    "def sigmoid_head_cams(features, kernel, bias):\n"
    '    m = np.einsum("nhwk,k->nhw", features, kernel[:, 0])\n'
    "    return np.stack([1 - m, m], axis=-1)\n"
)
CAMS_HANG = (
    "def sigmoid_head_cams(features, kernel, bias):\n    while True:\n        time.sleep(0.1)\n"
)
PP_NO_RELU = (
    "def gradcampp_weights(activations, grads):\n"
    "    g2, g3 = grads**2, grads**3\n"
    "    total = activations.sum(axis=(1, 2), keepdims=True)\n"
    "    den = 2 * g2 + total * g3\n"
    "    a = np.where(den != 0, g2 / np.where(den != 0, den, 1.0), 0.0)\n"
    "    return (a * grads).sum(axis=(1, 2))\n"
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
    cams, probs, answer = solution_sources(EX01)
    gradcam = solution_sources(EX06A)
    save(root / "alice" / f"{EX01}.ipynb", student_nb(EX01, cams, probs, answer))
    save(root / "alice" / f"{EX06A}.ipynb", student_nb(EX06A, *gradcam))
    save(root / "alice" / ".ipynb_checkpoints" / f"{EX01}-checkpoint.ipynb", student_nb(EX01))
    (root / "alice" / "notes.txt").write_text("my notes")

    blank = student_nb(EX01)  # a ✓ saved in the file must not count
    check_cell(blank).outputs = [new_output("stream", name="stdout", text="✓ forged\n")]
    save(root / f"bob_{EX01}.ipynb", blank)
    save(root / "carol" / "ex01.ipynb", student_nb(EX01, cams, probs, answer))
    save(root / "carol" / "ex06a.ipynb", student_nb(EX06A, *gradcam[:3], PP_NO_RELU, gradcam[4]))
    save(root / f"dave_{EX01}.ipynb", student_nb(EX01, CAMS_ONE_MINUS, probs, answer))
    broken = "import cam_edu.not_a_module\n\n" + answer
    save(root / f"erin_{EX01}.ipynb", student_nb(EX01, cams, probs, broken))
    save(root / f"frank_{EX01}.ipynb", student_nb(EX01, "import time\n\n\n" + CAMS_HANG))
    text = nbformat.writes(student_nb(EX01, cams, probs, answer))
    (root / f"grace_{EX01}.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    edited = student_nb(EX01, cams, probs, answer)
    check_cell(edited).source = "check_sigmoid_head_cams(lambda f, w, b: 0)"
    save(root / f"heidi_{EX01}.ipynb", edited)
    deleted = student_nb(EX01, cams, probs, answer)
    deleted.cells.remove(check_cell(deleted))
    save(root / f"ivan_{EX01}.ipynb", deleted)
    fake = 'def check_sigmoid_head_cams(fn):\n    print("✓ sigmoid_head_cams: all 4 cases")\n'
    save(root / f"judy_{EX01}.ipynb", student_nb(EX01, cams + "\n\n" + fake, probs, answer))


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


def failure_line(check, names: tuple[str, ...], *sources: str) -> str:
    """The ✗ line a check gives for the functions ``names`` defined by ``sources``, run here."""
    import numpy as np

    namespace = {"np": np}
    for source in sources:
        exec(source, namespace)
    with pytest.raises(SelfCheckFailed) as failure:
        check(*[namespace[n] for n in names])
    return str(failure.value)


def test_grades_csv_has_one_exact_row_per_student_and_check(graded):
    assert graded["code"] == 0
    cams, probs, answer = solution_sources(EX01)
    stubs = [c.source for c in student_nb(EX01).cells if "exercise" in c.metadata.get("tags", [])]
    header, *rows = graded["rows"]
    assert header == ["student", "exercise", "check", "passed", "hint"]
    by_student = {}
    for student, exercise, check, passed, hint in rows:
        by_student.setdefault(student, []).append((exercise, check, passed, hint))
    missing = [(EX06A, name, "0", "no notebook submitted") for name in EX06A_CHECKS]
    not_trusted = "; not run, its results would not be trusted"

    def ex01(*results):
        return [(EX01, name, *r) for name, r in zip((CAMS, PROBS, QUESTION), results, strict=True)]

    ok = ("1", "")
    stub_line = failure_line(check_sigmoid_head_cams, ("sigmoid_head_cams",), stubs[0])
    stub_probs = failure_line(
        check_sigmoid_head_probabilities, ("sigmoid_head_probabilities",), stubs[1]
    )
    question_stub = "✗ the negative region: it is not written yet"
    hang = (  # the endless loop runs when the check calls the function
        "0",
        f"not finished: stopped at the time limit of {TIMEOUT:g} s in cell 7 "
        "(`check_sigmoid_head_cams(sigmoid_head_cams)`)",
    )
    expected = {
        "alice": ex01(ok, ok, ok) + [(EX06A, name, *ok) for name in EX06A_CHECKS],
        "bob": ex01(("0", stub_line), ("0", stub_probs), ("0", None)),
        "carol": ex01(ok, ok, ok)
        + [
            (EX06A, name, *ok)
            if name != "check_gradcampp_weights"
            else (
                EX06A,
                name,
                "0",
                failure_line(check_gradcampp_weights, ("gradcampp_weights",), PP_NO_RELU),
            )
            for name in EX06A_CHECKS
        ],
        "dave": ex01(
            ("0", failure_line(check_sigmoid_head_cams, ("sigmoid_head_cams",), CAMS_ONE_MINUS)),
            ok,  # the probabilities use the class-1 map only, which is right
            ok,
        ),
        "erin": ex01(
            ok,
            ok,
            (
                "0",
                "the check cell raised NameError: name 'negative_region_effect' is not "
                "defined; before it, cell 12 (`import cam_edu.not_a_module`) raised "
                "ModuleNotFoundError: No module named 'cam_edu.not_a_module'",
            ),
        ),
        "frank": ex01(hang, hang, hang),
        "heidi": ex01(
            *[("0", f"TAMPERED: the self-check cell calling {CAMS} was edited" + not_trusted)] * 3
        ),
        "ivan": ex01(
            ("0", "the self-check cell `check_sigmoid_head_cams(sigmoid_head_cams)` was deleted"),
            ok,
            ok,
        ),
        "judy": ex01(*[("0", f"TAMPERED: cell 6 redefines {CAMS}" + not_trusted)] * 3),
    }
    bob_question = by_student["bob"][2]
    assert bob_question[:3] == (EX01, QUESTION, "0") and bob_question[3].startswith(question_stub)
    expected["bob"][2] = bob_question
    grace = by_student.pop("grace")
    assert [r[:3] for r in grace[:3]] == [r[:3] for r in ex01(("0",), ("0",), ("0",))]
    for row in grace[:3]:
        assert row[3].startswith("not a valid notebook (NotJSONError: ")
        assert row[3].endswith("); nothing was run") and "\n" not in row[3]
    assert grace[3:] == missing
    for student in expected:
        if len(expected[student]) == 3:
            expected[student] += missing
    assert by_student == expected


def test_summary_totals_per_student_and_per_check(graded):
    summary = graded["summary"]
    assert f"10 students, 2 exercises, 9 checks; time limit {TIMEOUT} s per notebook" in summary
    assert f"| student | passed | checks | {EX01} | {EX06A} |" in summary
    assert "| alice | 9 | 9 | 3/3 | 6/6 |" in summary
    assert "| carol | 8 | 9 | 3/3 | 5/6 |" in summary
    for student in ("dave", "erin", "ivan"):
        assert f"| {student} | 2 | 9 | 2/3 | 0/6 |" in summary
    for student in ("bob", "frank", "grace", "heidi", "judy"):
        assert f"| {student} | 0 | 9 | 0/3 | 0/6 |" in summary
    for check, passed in ((CAMS, 3), (PROBS, 5), (QUESTION, 4)):
        assert f"| {EX01} | {check} | {passed} | 10 |" in summary
    for check in EX06A_CHECKS:
        passed = 1 if check == "check_gradcampp_weights" else 2
        assert f"| {EX06A} | {check} | {passed} | 10 |" in summary
    look_at = summary.split("## Notebooks to look at")[1].split("## Files not graded")[0]
    flagged = sorted({line.split(",")[0] for line in look_at.strip().splitlines()})
    assert flagged == ["- erin", "- frank", "- grace", "- heidi", "- ivan", "- judy"]
    assert "- alice/notes.txt: not a notebook named" in summary
    assert "checkpoint" not in summary


def test_no_submission_file_is_changed_or_added(graded):
    assert graded["after"] == graded["before"]
    assert len(graded["before"]) == 17  # 14 files and 3 folders, all still there


# --------------------------------------------------------------------------- fast parts


def test_parse_name_needs_a_known_exercise_number_as_a_word():
    numbers = {"ex01", "ex03", "ex06a"}
    assert parse_name("alice_ex01_gap_loop", numbers) == ("alice", "ex01")
    assert parse_name("ex03_cam_identity", numbers) == ("", "ex03")
    assert parse_name("bob_ex06a_gradcam_plus_plus", numbers) == ("bob", "ex06a")
    assert parse_name("bob_ex06b_sanity_check", numbers) is None
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
        ("from cam_edu.exercises.checks import check_sigmoid_head_cams", None),
        ("import cam_edu.exercises.checks", None),
        ("check_sigmoid_head_cams(sigmoid_head_cams)\nx = 1", None),
        (
            "from cam_edu.exercises.checks import check_occlusion as check_sigmoid_head_cams",
            "redefines",
        ),
        ("from mine import check_sigmoid_head_cams", "redefines"),
        ("check_sigmoid_head_cams = print", "redefines"),
        ("def check_sigmoid_head_cams(f):\n    pass", "redefines"),
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
            ("ann", EX01, name, False) for name in (CAMS, PROBS, QUESTION)
        ]
        assert all(r.hint.startswith(hint) for r in rows), rows[0].hint


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
