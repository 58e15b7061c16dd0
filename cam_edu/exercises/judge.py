"""Grade one submission: run it in a sandbox, then judge its checks outside it.

1. :func:`tampering`: a submission whose self-check cells were edited, or that
   redefines a check function, is not run (its rows say ``TAMPERED``).
2. :func:`run_notebook`: the notebook runs from a copy in the grader's runner
   (:mod:`.runner`), inside a new sandbox (:mod:`.sandbox`) unless the instructor chose
   ``--no-sandbox``, with a time limit; the grader reads back the executed copy.
3. :func:`judge`: every check cell's records (:mod:`.checks.record`) are replayed
   through the real checks in the grader's process, which never ran student code:
   that verdict, not what the notebook printed, is the grade.

Hints name cells as Jupyter shows them: ``cell [7] (`check_x(f)`)``, by execution count.

>>> sorted(calls("check_cam_per_image(cam_per_image)\\nprint(f(1))"))
['check_cam_per_image', 'f', 'print']
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import json
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import nbformat

from cam_edu.exercises import sandbox
from cam_edu.exercises.builder import PASS_MARK
from cam_edu.exercises.checks import record
from cam_edu.exercises.definitions import definitions
from cam_edu.exercises.runner import Run, where

CHECKS_MODULE = "cam_edu.exercises.checks"
TAMPERED = "TAMPERED"
PRINTED_PASS = (
    " (in the notebook this check printed ✓: code in the notebook changed how the checks "
    "compare, so the grader judged the recorded results itself)"
)
STARTUP_SECONDS = 120  # beyond the time limit: the sandbox, the kernel and its imports
MAX_OUTPUT_MB = 64


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


@dataclass(frozen=True)
class Isolation:
    """How submissions run: in a sandbox or not, and their limits."""

    sandboxed: bool = True
    limits: sandbox.Limits = sandbox.Limits()


# --------------------------------------------------------------------------- tampering


def calls(source: str) -> set[str]:
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
            calls(s) & set(check.name.split("+")) for s in sources
        ):
            return f"the self-check cell calling {check.name} was edited"
    for cell in nb.cells:
        redefined = _bound_check_names(cell.source, names) if cell.cell_type == "code" else ()
        if redefined:
            return f"the cell `{cell.source.strip().splitlines()[0][:50]}` redefines " + (
                ", ".join(sorted(redefined))
            )
    return None


# --------------------------------------------------------------------------- running


async def run_notebook(nb, timeout: float, kernel: str, isolation: Isolation) -> Run:
    """Run ``nb`` in the runner, sandboxed unless ``isolation`` says not; never raises
    for anything the notebook does. The result is the runner's executed copy."""
    runner = [sys.executable, "-m", "cam_edu.exercises.runner"]
    limits = isolation.limits
    if isolation.sandboxed:
        start = sandbox.prepared(runner, limits)
    else:  # the process limit would count all the instructor's processes
        plain = sandbox.Limits(limits.memory_mb, 0, limits.cpu_seconds)
        start = contextlib.nullcontext([*runner, *plain.runner_args()])
    request = json.dumps({"notebook": nbformat.writes(nb), "timeout": timeout, "kernel": kernel})
    env = None if isolation.sandboxed else {**os.environ, "CAM_EDU_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="cam_edu_runner_") as work, start as argv:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            cwd=work,
            env=env,
        )
        try:
            answer = await asyncio.wait_for(
                _exchange(proc, request.encode()), timeout + STARTUP_SECONDS
            )
        except asyncio.TimeoutError:
            return Run(nb, frozenset(), f"stopped at the time limit of {timeout:g} s")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    return _parse_answer(answer, nb)


async def _exchange(proc, request: bytes) -> bytes:
    proc.stdin.write(request)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await proc.stdin.drain()
    proc.stdin.close()
    limit, chunks, size = MAX_OUTPUT_MB * 2**20, [], 0
    while chunk := await proc.stdout.read(2**20):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b""
    return b"".join(chunks)


def _parse_answer(answer: bytes, nb) -> Run:
    """The runner's answer as a :class:`Run`; an empty or broken one says so."""
    try:
        data = json.loads(answer)
        executed = nbformat.reads(data["notebook"], as_version=4)
        ran = frozenset(int(i) for i in data["ran"])
        stopped = data["stopped"]
        if len(executed.cells) != len(nb.cells) or not ran <= set(range(len(nb.cells))):
            raise ValueError("cells were added or removed")
        if any(a.source != b.source for a, b in zip(executed.cells, nb.cells, strict=True)):
            raise ValueError("cells were changed")  # the replay reads the code submitted
        if stopped is not None and not isinstance(stopped, str):
            raise ValueError("unknown stop reason")
    except Exception:
        why = "the run ended without a readable result (the kernel or the runner was killed)"
        return Run(nb, frozenset(), why)
    return Run(executed, ran, stopped and stopped[:300])


# --------------------------------------------------------------------------- verdicts


def verdict(check_source: str, records: list, sources: dict[str, str]) -> tuple[bool, str]:
    """Run the check cell ``check_source`` on ``records``: whether it passes, and its ✗ line.

    Runs in the grader's process: the check functions are the real ones, every other name
    in the cell stands for a student's function (:class:`.checks.record.Replayed`).
    """
    from cam_edu.exercises import checks

    namespace = {name: getattr(checks, name) for name in checks.__all__}
    for node in ast.walk(ast.parse(check_source)):
        if isinstance(node, ast.Name) and node.id not in namespace:
            namespace[node.id] = record.Replayed(node.id, sources.get(node.id))
    printed = io.StringIO()
    try:
        with record.replaying(records), contextlib.redirect_stdout(printed):
            exec(compile(check_source, "<self-check>", "exec"), namespace)
    except checks.SelfCheckFailed as failure:
        return False, str(failure)
    except record.RecordError as exc:
        return False, f"the check's record in the notebook is not one a check writes ({exc})"
    except Exception as exc:  # recorded values no check expected: never the grader's crash
        return (
            False,
            f"the grader could not judge the recorded results ({type(exc).__name__}: {exc})",
        )
    lines = printed.getvalue().splitlines()
    if lines and all(line.startswith(PASS_MARK) for line in lines):
        return True, ""
    return False, f"the check printed no {PASS_MARK} line"


def _error(cell):
    return next((o for o in cell.outputs if o.get("output_type") == "error"), None)


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def judge(run: Run, index: int, check: Check) -> tuple[bool, str]:
    """Whether the check cell ``index`` of an executed notebook passed, and the hint if not."""
    cell = run.nb.cells[index]
    if index not in run.ran or (run.stopped and index == max(run.ran)):
        return False, f"not finished: {run.stopped}"
    records = record.records_of(cell.outputs)
    if records:
        passed, line = verdict(check.source, records, definitions(run.nb.cells[:index]))
        if not passed and any(s.startswith(PASS_MARK) for s in _printed(cell).splitlines()):
            line += PRINTED_PASS
        return passed, line
    error = _error(cell)
    if error is None:
        return False, (
            "no result of this check was recorded: something in the notebook replaced "
            "the check or stopped it from recording"
        )
    hint = f"the check cell raised {error.get('ename')}: {error.get('evalue', '')[:200]}"
    for i in sorted(run.ran):
        earlier = _error(run.nb.cells[i]) if i < index else None
        if earlier is not None:
            hint += (
                f"; before it, {where(run.nb.cells[i])} raised "
                f"{earlier.get('ename')}: {earlier.get('evalue', '')[:200]}"
            )
            break
    return False, hint


# --------------------------------------------------------------------------- one submission


def rows(submission: Submission, results: list[tuple[bool, str]]) -> list[Row]:
    """One row per check, each hint on one line (error messages may quote several)."""
    ex = submission.exercise
    return [
        Row(submission.student, ex.name, check.name, passed, " ".join(hint.split()))
        for check, (passed, hint) in zip(ex.checks, results, strict=True)
    ]


def all_failed(submission: Submission, why: str) -> list[Row]:
    return rows(submission, [(False, why)] * len(submission.exercise.checks))


async def grade_submission(
    submission: Submission,
    timeout: float,
    kernel: str = "python3",
    isolation: Isolation | None = None,
) -> list[Row]:
    """The rows of one submission; never raises for anything inside the notebook."""
    checks = submission.exercise.checks
    if len(submission.paths) > 1:
        names = ", ".join(p.name for p in submission.paths)
        return all_failed(submission, f"several notebooks for this exercise: {names}")
    try:
        nb = nbformat.reads(submission.paths[0].read_bytes().decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        why = f"not a valid notebook ({type(exc).__name__}: {str(exc)[:120]}); nothing was run"
        return all_failed(submission, why)
    tampered = tampering(nb, submission.exercise)
    if tampered:
        why = f"{TAMPERED}: {tampered}; not run, its results would not be trusted"
        return all_failed(submission, why)
    code = [(i, c.source.strip()) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    where_is = {
        check.source: max((i for i, s in code if s == check.source), default=None)
        for check in checks
    }
    run = None
    if any(i is not None for i in where_is.values()):
        run = await run_notebook(nb, timeout, kernel, isolation or Isolation())
    results = []
    for check in checks:
        index = where_is[check.source]
        if index is None:
            results.append((False, f"the self-check cell `{check.source}` was deleted"))
        else:
            results.append(judge(run, index, check))
    return rows(submission, results)
