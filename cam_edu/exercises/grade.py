"""Grade a class's exercise notebooks: run each one, record every self-check, write a report.

Command (from the repository root)::

    python -m cam_edu.exercises grade SUBMISSIONS/ [--out DIR] [--timeout 300] [--jobs 2]

``SUBMISSIONS`` holds the students' notebooks in either layout (they can be mixed):

- one folder per student, named after the student; each notebook's file name contains
  the exercise number (``ex01``, ``ex06a``) as a word of its own:
  ``alice/ex01_sigmoid_head_cam.ipynb``, ``alice/ex01.ipynb`` or ``alice/alice_ex01.ipynb``;
- flat: ``<student>_<exercise>.ipynb``, the student's name first, then the exercise
  number and optionally anything: ``alice_ex06a_gradcam_plus_plus.ipynb``, ``mary_jane_ex01.ipynb``.

Hidden files and folders (``.ipynb_checkpoints``) are skipped; other files are listed
as not graded in the summary. Each notebook is compared with the built exercise
notebook of the same number (``notebooks/exercises/exNN_*.ipynb``), then run from
a copy in memory, in a fresh kernel whose working folder is a new temporary folder,
with a time limit for the whole notebook. The submission itself is only read.

Every self-check cell of the exercise becomes one row, named by the check function
it calls (``check_sigmoid_head_cams``). A check passes when its cell, unchanged, ran
and printed its ``✓`` line. A notebook that is not valid JSON, crashes, runs past the time limit
or lost a check cell gives failed rows saying why. A submission whose check cells
were edited, or that redefines a check function, is *tampered*: it is not run and
each of its rows says ``TAMPERED``. A student with no notebook for an exercise that
others submitted gets failed rows ``no notebook submitted``.

Output, in ``--out`` (default: a folder ``grades`` next to ``SUBMISSIONS``):

- ``grades.csv``: ``student, exercise, check, passed, hint``; ``passed`` is 1 or 0,
  ``hint`` the check's ``✗`` line or why the check did not count;
- ``summary.md``: totals per student and per check, then the notebooks to look at.

>>> parse_name("mary_jane_ex01_gap_loop", {"ex01", "ex03"})
('mary_jane', 'ex01')
>>> parse_name("ex03", {"ex01", "ex03"})
('', 'ex03')
>>> parse_name("bob_ex06b_sanity_check", {"ex06a", "ex06b"})
('bob', 'ex06b')
>>> print(parse_name("notes", {"ex01"}))
None
"""

from __future__ import annotations

import ast
import asyncio
import csv
import io
import math
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from cam_edu.exercises.builder import CHECK_TAG, PASS_MARK, ExerciseError, _tags
from cam_edu.exercises.checks.harness import FAIL as FAIL_MARK
from cam_edu.exercises.safe_io import atomic_write

CHECKS_MODULE = "cam_edu.exercises.checks"
FAILED_CHECK = "SelfCheckFailed"
TAMPERED = "TAMPERED"
NOT_SUBMITTED = "no notebook submitted"
COLUMNS = ("student", "exercise", "check", "passed", "hint")
_NUMBER = re.compile(r"ex\d+[a-z]?")


class Row(NamedTuple):
    """One line of ``grades.csv``: one check of one student's exercise."""

    student: str
    exercise: str
    check: str
    passed: bool
    hint: str


@dataclass(frozen=True)
class Check:
    """A self-check cell of a built exercise: its source, and the check it calls."""

    name: str
    source: str


@dataclass(frozen=True)
class Exercise:
    """A built exercise notebook (``ex01_sigmoid_head_cam``) and its self-checks, in order."""

    name: str
    number: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Submission:
    """The notebook(s) a student handed in for one exercise (more than one is a problem)."""

    student: str
    exercise: Exercise
    paths: tuple[Path, ...]


# --------------------------------------------------------------------------- exercises


def _calls(source: str) -> set[str]:
    """The names of the functions ``source`` calls by name (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


def _check_name(source: str) -> str:
    """The check function(s) a self-check cell calls, e.g. ``check_sigmoid_head_cams``."""
    calls = sorted(_calls(source))
    return "+".join([c for c in calls if c.startswith("check_")] or calls or ["self-check"])


def load_exercises(exercises_dir: Path) -> dict[str, Exercise]:
    """The built exercise notebooks of ``exercises_dir`` by number (``"ex01"``)."""
    exercises = {}
    for path in sorted(Path(exercises_dir).glob("ex*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        checks = tuple(
            Check(_check_name(c.source), c.source.strip())
            for c in nb.cells
            if c.cell_type == "code" and CHECK_TAG in _tags(c)
        )
        if not checks:
            raise ExerciseError(
                f"{path} has no cell tagged {CHECK_TAG!r}, so there is nothing to grade; "
                "pass the folder of the built exercise notebooks (--notebooks)."
            )
        number = _NUMBER.match(path.stem).group(0)
        exercises[number] = Exercise(path.stem, number, checks)
    if not exercises:
        raise ExerciseError(
            f"no exercise notebooks (ex*.ipynb) in {exercises_dir}; build them first "
            "(python -m cam_edu.exercises build) or pass --notebooks."
        )
    return exercises


# --------------------------------------------------------------------------- submissions


def parse_name(stem: str, numbers: Iterable[str]) -> tuple[str, str] | None:
    """``(student, number)`` from a file name without suffix, or ``None`` if none matches.

    The exercise number must be a word of its own between ``_`` (or at an end);
    ``student`` is what comes before it ('' when the name starts with it).
    """
    for match in re.finditer(r"(?:^|_)(ex\d+[a-z]?)(?=_|$)", stem):
        if match.group(1) in numbers:
            return stem[: match.start()], match.group(1)
    return None


def find_submissions(
    root: Path, exercises: dict[str, Exercise]
) -> tuple[list[Submission], list[str]]:
    """The submissions under ``root`` and the files that are not graded (with why)."""
    found: dict[tuple[str, str], list[Path]] = {}
    ignored = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.is_dir():
            continue
        parsed = parse_name(path.stem, exercises) if path.suffix == ".ipynb" else None
        student = rel.parts[0] if len(rel.parts) > 1 else (parsed or ("", ""))[0]
        if parsed is None or not student:
            ignored.append(
                f"{rel.as_posix()}: not a notebook named <student>_<exNN>... or "
                f"<student>/<exNN>... with one of {', '.join(sorted(exercises))}"
            )
            continue
        found.setdefault((student, parsed[1]), []).append(path)
    submissions = [
        Submission(student, exercises[number], tuple(paths))
        for (student, number), paths in sorted(found.items())
    ]
    return submissions, ignored


# --------------------------------------------------------------------------- tampering


def _bound_check_names(source: str, names: set[str]) -> set[str]:
    """Check functions that ``source`` (re)defines, other than by importing them."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            honest = isinstance(node, ast.ImportFrom) and node.module == CHECKS_MODULE
            bound.update(
                a.asname or a.name for a in node.names if not honest or a.asname is not None
            )
    return bound & names


def tampering(nb, exercise: Exercise) -> str | None:
    """Why the check results of ``nb`` cannot be trusted, or ``None``."""
    sources = [c.source.strip() for c in nb.cells if c.cell_type == "code"]
    names = {part for check in exercise.checks for part in check.name.split("+")}
    for check in exercise.checks:
        if check.source not in sources and any(
            _calls(s) & set(check.name.split("+")) for s in sources
        ):
            return f"the self-check cell calling {check.name} was edited"
    for i, cell in enumerate(nb.cells):
        redefined = _bound_check_names(cell.source, names) if cell.cell_type == "code" else ()
        if redefined:
            return f"cell {i + 1} redefines {', '.join(sorted(redefined))}"
    return None


# --------------------------------------------------------------------------- running


class Run(NamedTuple):
    """An executed copy of a notebook: which cells ran, and why it stopped early if it did."""

    nb: object
    ran: frozenset[int]
    stopped: str | None


def _first_line(cell) -> str:
    line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return line if len(line) <= 50 else line[:47] + "..."


async def execute(nb, timeout: float, kernel: str = "python3") -> Run:
    """Run ``nb`` (changed in place) in a fresh kernel, within ``timeout`` seconds in all.

    Outputs are cleared first, so that nothing the student saved counts. The clock
    starts at the first cell (not while the kernel starts); the kernel's working
    folder is a new temporary folder, removed afterwards.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    ran: list[int] = []
    end = []

    def remaining(cell) -> int:
        if not end:
            end.append(time.monotonic() + timeout)
        return max(1, math.ceil(end[0] - time.monotonic()))

    def started(cell, cell_index) -> None:
        ran.append(cell_index)

    with tempfile.TemporaryDirectory(prefix="cam_edu_grade_") as work:
        client = NotebookClient(
            nb,
            kernel_name=kernel,
            timeout_func=remaining,
            allow_errors=True,
            shutdown_kernel="immediate",
            on_cell_execute=started,
            resources={"metadata": {"path": work}},
        )
        stopped = None
        try:
            await client.async_execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except Exception as exc:
            where = f" in cell {ran[-1] + 1} (`{_first_line(nb.cells[ran[-1]])}`)" if ran else ""
            if isinstance(exc, CellTimeoutError):
                stopped = f"stopped at the time limit of {timeout:g} s{where}"
            elif isinstance(exc, DeadKernelError):
                stopped = f"the kernel died{where}"
            else:
                stopped = f"could not run it ({type(exc).__name__}: {str(exc)[:150]})"
    return Run(nb, frozenset(ran), stopped)


def _error(cell):
    return next((o for o in cell.outputs if o.get("output_type") == "error"), None)


def _check_result(run: Run, index: int) -> tuple[bool, str]:
    """Whether the check cell ``index`` of an executed notebook passed, and the hint if not."""
    cell = run.nb.cells[index]
    if index not in run.ran or (run.stopped and index == max(run.ran)):
        return False, f"not finished: {run.stopped}"
    error = _error(cell)
    if error is not None and error.get("ename") == FAILED_CHECK:
        return False, error.get("evalue", "")
    if error is not None:
        hint = f"the check cell raised {error.get('ename')}: {error.get('evalue', '')[:200]}"
        for i in sorted(run.ran):
            earlier = _error(run.nb.cells[i]) if i < index else None
            if earlier is not None:
                hint += (
                    f"; before it, cell {i + 1} (`{_first_line(run.nb.cells[i])}`) raised "
                    f"{earlier.get('ename')}: {earlier.get('evalue', '')[:200]}"
                )
                break
        return False, hint
    printed = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    if any(line.startswith(PASS_MARK) for line in printed.splitlines()):
        return True, ""
    return False, f"the check printed no {PASS_MARK} line"


def _rows(submission: Submission, results: list[tuple[bool, str]]) -> list[Row]:
    """One row per check, each hint on one line (error messages may quote several)."""
    ex = submission.exercise
    return [
        Row(submission.student, ex.name, check.name, passed, " ".join(hint.split()))
        for check, (passed, hint) in zip(ex.checks, results, strict=True)
    ]


def _all_failed(submission: Submission, why: str) -> list[Row]:
    return _rows(submission, [(False, why)] * len(submission.exercise.checks))


async def grade_submission(
    submission: Submission, timeout: float, kernel: str = "python3"
) -> list[Row]:
    """The rows of one submission; never raises for anything inside the notebook."""
    checks = submission.exercise.checks
    if len(submission.paths) > 1:
        names = ", ".join(p.name for p in submission.paths)
        return _all_failed(submission, f"several notebooks for this exercise: {names}")
    try:
        nb = nbformat.reads(submission.paths[0].read_bytes().decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        why = f"not a valid notebook ({type(exc).__name__}: {str(exc)[:120]}); nothing was run"
        return _all_failed(submission, why)
    tampered = tampering(nb, submission.exercise)
    if tampered:
        why = f"{TAMPERED}: {tampered}; not run, its results would not be trusted"
        return _all_failed(submission, why)
    code = [(i, c.source.strip()) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    where = {
        check.source: max((i for i, s in code if s == check.source), default=None)
        for check in checks
    }
    run = None
    if any(i is not None for i in where.values()):
        run = await execute(nb, timeout, kernel)
    results = []
    for check in checks:
        index = where[check.source]
        if index is None:
            results.append((False, f"the self-check cell `{check.source}` was deleted"))
        else:
            results.append(_check_result(run, index))
    return _rows(submission, results)


# --------------------------------------------------------------------------- the class


def _missing_rows(submissions: list[Submission]) -> list[Row]:
    """Failed rows for every exercise somebody submitted that a student did not."""
    students = sorted({s.student for s in submissions})
    exercises = {s.exercise.name: s.exercise for s in submissions}
    handed_in = {(s.student, s.exercise.name) for s in submissions}
    return [
        Row(student, ex.name, check.name, False, NOT_SUBMITTED)
        for student in students
        for ex in exercises.values()
        if (student, ex.name) not in handed_in
        for check in ex.checks
    ]


async def _grade_all(submissions, timeout, jobs, kernel, progress) -> list[Row]:
    limit = asyncio.Semaphore(jobs)

    async def one(submission):
        async with limit:
            started = time.monotonic()
            rows = await grade_submission(submission, timeout, kernel)
        if progress:
            passed = sum(r.passed for r in rows)
            progress(
                f"{submission.student:>16s}  {submission.exercise.name}: {passed}/{len(rows)} "
                f"checks passed ({time.monotonic() - started:.0f} s)"
            )
        return rows

    return [row for rows in await asyncio.gather(*map(one, submissions)) for row in rows]


def grades_csv(rows: list[Row]) -> str:
    """The rows as CSV text (``passed`` as 1 or 0).

    >>> row = Row("ann", "ex01_sigmoid_head_cam", "check_sigmoid_head_cams", True, "")
    >>> print(grades_csv([row]), end="")
    student,exercise,check,passed,hint
    ann,ex01_sigmoid_head_cam,check_sigmoid_head_cams,1,
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((r.student, r.exercise, r.check, int(r.passed), r.hint) for r in rows)
    return buffer.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(rows: list[Row], ignored: list[str], timeout: float) -> str:
    """The readable report: totals per student and per check, then what to look at."""
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    students = sorted({r.student for r in rows})
    lines = [
        "# Grades",
        "",
        f"{len(students)} students, {len(exercises)} exercises, "
        f"{len({(r.exercise, r.check) for r in rows})} checks; time limit {timeout:g} s "
        "per notebook. One row per check in `grades.csv`.",
        "",
        "## Per student",
        "",
        "| student | passed | checks | " + " | ".join(exercises) + " |",
        "|---|---:|---:|" + "---:|" * len(exercises),
    ]
    for student in students:
        mine = [r for r in rows if r.student == student]
        per_ex = [[r.passed for r in mine if r.exercise == ex] for ex in exercises]
        cells = [f"{sum(p)}/{len(p)}" for p in per_ex]
        lines.append(
            f"| {_cell(student)} | {sum(r.passed for r in mine)} | {len(mine)} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "## Per check", "", "| exercise | check | passed | students |"]
    lines.append("|---|---|---:|---:|")
    for exercise, check in dict.fromkeys((r.exercise, r.check) for r in rows):
        these = [r for r in rows if (r.exercise, r.check) == (exercise, check)]
        lines.append(f"| {exercise} | {check} | {sum(r.passed for r in these)} | {len(these)} |")
    # everything but a check's own ✗ line or a missing notebook: crashes, time limits,
    # unreadable files, deleted or tampered checks
    problems = sorted(
        {
            (r.student, r.exercise, r.hint)
            for r in rows
            if not r.passed and not r.hint.startswith((FAIL_MARK, NOT_SUBMITTED))
        }
    )
    if problems:
        lines += ["", "## Notebooks to look at", ""]
        lines += [f"- {_cell(s)}, {e}: {_cell(h)}" for s, e, h in problems]
    if ignored:
        lines += ["", "## Files not graded", ""]
        lines += [f"- {_cell(i)}" for i in ignored]
    return "\n".join(lines) + "\n"


def default_output(submissions_dir: Path) -> Path:
    """``grades/`` next to the submissions folder.

    >>> default_output(Path("/course/2026/submissions")).as_posix()
    '/course/2026/grades'
    """
    return Path(submissions_dir).resolve().parent / "grades"


class Report(NamedTuple):
    """What :func:`grade` wrote."""

    rows: list[Row]
    ignored: list[str]
    csv_path: Path
    summary_path: Path


def grade(
    submissions_dir,
    exercises_dir,
    out_dir=None,
    *,
    timeout: float = 300,
    jobs: int = 2,
    kernel: str = "python3",
    progress=None,
) -> Report:
    """Grade every submission; write ``grades.csv`` and ``summary.md`` into ``out_dir``.

    Args:
        submissions_dir: the class's folder (layouts in the module documentation).
        exercises_dir: the built exercise notebooks the submissions started from.
        out_dir: where to write; default :func:`default_output`. It may not be inside
            ``submissions_dir``.
        timeout: seconds each notebook may run, all its cells together.
        jobs: notebooks run at the same time (one kernel each).
        kernel: the Jupyter kernel to run them in.
        progress: called with one line per graded notebook (e.g. ``print``), or ``None``.

    Raises:
        ExerciseError: for a missing folder, an output folder inside the submissions,
            no exercise notebooks, or no submission at all.
    """
    root = Path(submissions_dir).resolve()
    if not root.is_dir():
        raise ExerciseError(f"{submissions_dir} is not a folder; expected the class's submissions.")
    out = default_output(root) if out_dir is None else Path(out_dir).resolve()
    if out == root or root in out.parents:
        raise ExerciseError(
            f"the output folder {out} is inside the submissions {root}; grades never go "
            "next to a student's work. Pass --out with a folder outside it."
        )
    if timeout <= 0 or jobs < 1:
        raise ExerciseError(f"timeout must be > 0 and jobs >= 1; got {timeout} and {jobs}.")
    exercises = load_exercises(Path(exercises_dir))
    submissions, ignored = find_submissions(root, exercises)
    if not submissions:
        raise ExerciseError(
            f"no submission found in {root}: expected alice/ex01_sigmoid_head_cam.ipynb or "
            f"alice_ex01_sigmoid_head_cam.ipynb with one of {', '.join(sorted(exercises))}."
        )
    rows = asyncio.run(_grade_all(submissions, timeout, jobs, kernel, progress))
    order = {name: i for i, name in enumerate(e.name for e in exercises.values())}
    rows = sorted(rows + _missing_rows(submissions), key=lambda r: (r.student, order[r.exercise]))
    out.mkdir(parents=True, exist_ok=True)
    csv_path = atomic_write(out / "grades.csv", grades_csv(rows))
    summary_path = atomic_write(out / "summary.md", summary_markdown(rows, ignored, timeout))
    return Report(rows, ignored, csv_path, summary_path)
