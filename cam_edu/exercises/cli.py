"""``python -m cam_edu.exercises build|check|grade``: the instructor's command line.

- ``build [--force] [--execute] [NAME ...]`` and ``check``: :mod:`.builder`;
- ``grade SUBMISSIONS [--out DIR] [--timeout S] [--jobs N] [--memory MB] [--no-sandbox]``:
  :mod:`.grade`; each notebook runs in a sandbox (:mod:`.sandbox`), and where none can be
  made the command says why and stops, unless given ``--no-sandbox``.

Exit codes: 0 done, 1 something needs the instructor (edited notebooks kept, out of
sync), 2 bad input (the message says what was expected).

>>> parser().parse_args(["grade", "class/", "--timeout", "60"]).timeout
60.0
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cam_edu.exercises import sandbox
from cam_edu.exercises.builder import ExerciseError, build, check, default_notebooks_dir
from cam_edu.exercises.grade import grade


def parser() -> argparse.ArgumentParser:
    """The argument parser of the three commands."""
    p = argparse.ArgumentParser(
        prog="python -m cam_edu.exercises",
        description="Build the student exercise notebooks from the solutions, check them, "
        "or grade a class's submissions.",
    )
    p.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        help="folder holding solutions/ and exercises/ (default: ./notebooks)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write exercises/*.ipynb from solutions/*.ipynb")
    b.add_argument("names", nargs="*", help="only these notebooks (file name or prefix: ex01)")
    b.add_argument("--force", action="store_true", help="replace edited copies (keeps .bak)")
    b.add_argument("--execute", action="store_true", help="run the solutions first")
    sub.add_parser("check", help="exit 1 unless every student notebook matches a fresh build")
    g = sub.add_parser(
        "grade",
        help="run every submitted notebook, write grades.csv and summary.md",
        description="Submissions: SUBMISSIONS/<student>/ex01_sigmoid_head_cam.ipynb or "
        "SUBMISSIONS/<student>_ex01_sigmoid_head_cam.ipynb. Submissions are only read.",
    )
    g.add_argument("submissions", type=Path, help="the class's folder of notebooks")
    g.add_argument(
        "--out", type=Path, default=None, help="output folder (default: grades/ next to it)"
    )
    g.add_argument("--timeout", type=float, default=300, help="seconds per notebook (default: 300)")
    g.add_argument(
        "--jobs",
        type=int,
        default=max(1, (os.cpu_count() or 2) // 2),
        help="notebooks run at the same time (default: half the CPUs)",
    )
    g.add_argument(
        "--memory",
        type=int,
        default=sandbox.Limits.memory_mb,
        help="memory (address space) each process of a notebook may use, in MB "
        f"(default: {sandbox.Limits.memory_mb})",
    )
    g.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the notebooks without a sandbox, with your permissions (only where "
        "none can be made, for notebooks you trust)",
    )
    return p


def _build(args) -> int:
    results = build(args.notebooks, args.names, force=args.force, execute=args.execute)
    kept = []
    for r in results:
        extra = f" (your version saved as {r.backup.name})" if r.backup else ""
        print(f"{r.status:9s} {r.path}{extra}")
        if r.status == "kept":
            kept.append(r.path)
    if kept:
        print(
            f"\n{len(kept)} notebook(s) were edited since the last build and were NOT "
            "overwritten. Re-run with --force to replace them (each edited copy is saved "
            "as <name>.bak first).",
            file=sys.stderr,
        )
        return 1
    return 0


def _check(args) -> int:
    problems = check(args.notebooks)
    for p in problems:
        print(f"✗ {p}")
    if not problems:
        print("✓ the exercise notebooks are in sync with their solutions.")
    return 1 if problems else 0


def _grade(args) -> int:
    root = default_notebooks_dir() if args.notebooks is None else args.notebooks
    report = grade(
        args.submissions,
        root / "exercises",
        args.out,
        timeout=args.timeout,
        jobs=args.jobs,
        sandboxed=not args.no_sandbox,
        memory_mb=args.memory,
        progress=print,
    )
    passed = sum(r.passed for r in report.rows)
    print(f"\n{passed} of {len(report.rows)} checks passed; wrote {report.csv_path}")
    print(f"and {report.summary_path}")
    return 0


def main(argv=None) -> int:
    """Run one command; returns the exit code."""
    args = parser().parse_args(argv)
    command = {"build": _build, "check": _check, "grade": _grade}[args.command]
    try:
        return command(args)
    except ExerciseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
