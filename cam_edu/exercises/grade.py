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
notebook of the same number (``notebooks/exercises/exNN_*.ipynb``), then run from a
copy, in a fresh kernel inside a sandbox of its own (:mod:`.sandbox`: no network, the
system read-only, nothing of the instructor's or the other students' visible, limits
on memory, processes and CPU), with a time limit for the whole notebook. Where no
sandbox can be made, :func:`grade` refuses unless ``sandboxed=False`` (``--no-sandbox``).
The submission itself is only read.

Every self-check cell of the exercise becomes one row, named by the check function it
calls (``check_sigmoid_head_cams``). The verdict is not what the notebook printed: the
results the student's functions returned in it are judged again by the same checks in
the grader's own process (:mod:`.judge`, :mod:`.checks.record`), so nothing a notebook
does to ``numpy``, ``cam_edu`` or the checks changes a grade. A notebook that is not
valid JSON, crashes, runs past the time limit or lost a check cell gives failed rows
saying why. A submission whose check cells were edited, or that redefines a check
function, is *tampered*: it is not run and each of its rows says ``TAMPERED``. A
student with no notebook for an exercise that others submitted gets failed rows ``no
notebook submitted``.

Output, in ``--out`` (default: a folder ``grades`` next to ``SUBMISSIONS``):

- ``grades.csv``: ``student, exercise, check, passed, hint``; ``passed`` is 1 or 0,
  ``hint`` the check's ``✗`` line or why the check did not count;
- ``summary.md``: how the notebooks ran (sandbox or not), totals per student and per
  check, then the notebooks to look at.

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

import asyncio
import csv
import io
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import nbformat

from cam_edu.exercises import sandbox
from cam_edu.exercises.builder import CHECK_TAG, ExerciseError, cell_tags
from cam_edu.exercises.checks.harness import FAIL as FAIL_MARK
from cam_edu.exercises.judge import (
    PRINTED_PASS,
    Check,
    Exercise,
    Isolation,
    Row,
    Submission,
    calls,
    grade_submission,
)
from cam_edu.exercises.safe_io import atomic_write

NOT_SUBMITTED = "no notebook submitted"
COLUMNS = ("student", "exercise", "check", "passed", "hint")
_NUMBER = re.compile(r"ex\d+[a-z]?")


# --------------------------------------------------------------------------- exercises


def _check_name(source: str) -> str:
    """The check function(s) a self-check cell calls, e.g. ``check_sigmoid_head_cams``."""
    called = sorted(calls(source))
    return "+".join([c for c in called if c.startswith("check_")] or called or ["self-check"])


def load_exercises(exercises_dir: Path) -> dict[str, Exercise]:
    """The built exercise notebooks of ``exercises_dir`` by number (``"ex01"``)."""
    exercises = {}
    for path in sorted(Path(exercises_dir).glob("ex*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        checks = tuple(
            Check(_check_name(c.source), c.source.strip())
            for c in nb.cells
            if c.cell_type == "code" and CHECK_TAG in cell_tags(c)
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


async def _grade_all(submissions, timeout, jobs, kernel, isolation, progress) -> list[Row]:
    limit = asyncio.Semaphore(jobs)

    async def one(submission):
        async with limit:
            started = time.monotonic()
            rows = await grade_submission(submission, timeout, kernel, isolation)
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


def summary_markdown(
    rows: list[Row], ignored: list[str], timeout: float, isolation: Isolation | None = None
) -> str:
    """The readable report: how the notebooks ran, totals per student and per check, then
    what to look at."""
    exercises = list(dict.fromkeys(r.exercise for r in rows))
    students = sorted({r.student for r in rows})
    lines = [
        "# Grades",
        "",
        f"{len(students)} students, {len(exercises)} exercises, "
        f"{len({(r.exercise, r.check) for r in rows})} checks; time limit {timeout:g} s "
        "per notebook. One row per check in `grades.csv`.",
        "",
        isolation_note(isolation or Isolation()),
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
            if not r.passed
            and (not r.hint.startswith((FAIL_MARK, NOT_SUBMITTED)) or PRINTED_PASS in r.hint)
        }
    )
    if problems:
        lines += ["", "## Notebooks to look at", ""]
        lines += [f"- {_cell(s)}, {e}: {_cell(h)}" for s, e, h in problems]
    if ignored:
        lines += ["", "## Files not graded", ""]
        lines += [f"- {_cell(i)}" for i in ignored]
    return "\n".join(lines) + "\n"


def _isolation(sandboxed: bool, memory_mb: int, jobs: int, private) -> Isolation:
    """How the notebooks will run; refuses a sandbox that cannot be made or would show
    ``private`` folders (submissions, grades) to the students' code."""
    if not sandboxed:
        return Isolation(False, sandbox.Limits(memory_mb=memory_mb))
    why = sandbox.unavailable()
    if why:
        raise ExerciseError(
            f"no sandbox for the students' notebooks on this machine: {why}. Without one, "
            "their code would run with your permissions (read your files, use the "
            "network). Fix that, or pass --no-sandbox to grade anyway."
        )
    for folder in private:
        for shown in sandbox.readable_paths():
            if folder == shown or shown in folder.parents:
                raise ExerciseError(
                    f"{folder} is inside {shown}, which every sandbox shows to the students' "
                    "code; move the submissions and the grades out of the course's package, "
                    "data and Python folders."
                )
    threads = max(1, (os.cpu_count() or 2) // jobs)
    return Isolation(True, sandbox.Limits(memory_mb=memory_mb, threads=threads))


def isolation_note(isolation: Isolation) -> str:
    """One sentence on how the notebooks ran, for the report and the command line."""
    limits = isolation.limits
    if not isolation.sandboxed:
        return (
            "The notebooks ran WITHOUT a sandbox (--no-sandbox): with the instructor's "
            "permissions, files and network; only the time limit and "
            f"{limits.memory_mb} MB of memory per process applied."
        )
    return (
        "Each notebook ran in a sandbox of its own (bubblewrap): no network, the system "
        "read-only, no other submission or instructor file visible, "
        f"{limits.memory_mb} MB of memory per process, {limits.processes} processes, "
        f"{limits.cpu_seconds} CPU seconds per process; everything it started ended with it."
    )


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
    sandboxed: bool = True,
    memory_mb: int = sandbox.Limits.memory_mb,
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
        sandboxed: run each notebook in a sandbox (:mod:`.sandbox`); ``False`` runs them
            with the instructor's permissions.
        memory_mb: address space each process of a notebook may use, in MB.
        progress: called with how the notebooks run, then one line per graded notebook
            (e.g. ``print``), or ``None``.

    Raises:
        ExerciseError: for a missing folder, an output folder inside the submissions,
            no exercise notebooks, no submission at all, or no sandbox on this machine
            when ``sandboxed``.
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
    if timeout <= 0 or jobs < 1 or memory_mb < 512:
        raise ExerciseError(
            f"timeout must be > 0, jobs >= 1 and memory >= 512 MB; got {timeout}, {jobs} "
            f"and {memory_mb}."
        )
    isolation = _isolation(sandboxed, memory_mb, jobs, (root, out))
    if progress:
        progress(isolation_note(isolation))
    exercises = load_exercises(Path(exercises_dir))
    submissions, ignored = find_submissions(root, exercises)
    if not submissions:
        raise ExerciseError(
            f"no submission found in {root}: expected alice/ex01_sigmoid_head_cam.ipynb or "
            f"alice_ex01_sigmoid_head_cam.ipynb with one of {', '.join(sorted(exercises))}."
        )
    rows = asyncio.run(_grade_all(submissions, timeout, jobs, kernel, isolation, progress))
    order = {name: i for i, name in enumerate(e.name for e in exercises.values())}
    rows = sorted(rows + _missing_rows(submissions), key=lambda r: (r.student, order[r.exercise]))
    out.mkdir(parents=True, exist_ok=True)
    csv_path = atomic_write(out / "grades.csv", grades_csv(rows))
    summary = summary_markdown(rows, ignored, timeout, isolation)
    summary_path = atomic_write(out / "summary.md", summary)
    return Report(rows, ignored, csv_path, summary_path)
