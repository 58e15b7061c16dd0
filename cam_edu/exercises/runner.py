"""The part of grading that runs next to the student's code: one notebook, one fresh kernel.

``python -m cam_edu.exercises.runner [--memory-mb M] [--processes P] [--cpu-seconds C]``
reads a request ``{"notebook": <notebook JSON text>, "timeout": <seconds>, "kernel":
<kernel name>}`` from standard input, runs the notebook from the top with
:func:`execute` and writes ``{"notebook": <executed notebook JSON text>, "ran": [<cell
indices started>], "stopped": <why it stopped early, or null>}`` to standard output.
The grader starts it inside the sandbox (:mod:`.sandbox`) and believes none of its
answer but the values it hands to the checks' replay (:mod:`.checks.record`).

First, the runner lowers its own resource limits, soft and hard, so that the kernel and
everything the student's code starts inherit them and cannot raise them again:
address space per process, processes and threads, CPU seconds per process, file size,
no core files. The kernel records its checks (:data:`.checks.record.ENV`).

>>> limits(memory_mb=4096, processes=64, cpu_seconds=600)[0]
('RLIMIT_AS', 4294967296)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

FILE_MB = 256


def limits(memory_mb: int, processes: int, cpu_seconds: int) -> list[tuple[str, int]]:
    """The resource limits the runner sets, as ``(name, value)``; 0 means "leave as is"."""
    wanted = [
        ("RLIMIT_AS", memory_mb * 2**20),
        ("RLIMIT_NPROC", processes),
        ("RLIMIT_CPU", cpu_seconds),
        ("RLIMIT_FSIZE", FILE_MB * 2**20),
        ("RLIMIT_CORE", 0),
    ]
    return [(name, value) for name, value in wanted if value or name == "RLIMIT_CORE"]


def apply_limits(memory_mb: int, processes: int, cpu_seconds: int) -> None:
    """Lower this process's limits, soft and hard (so nothing below can raise them)."""
    for name, value in limits(memory_mb, processes, cpu_seconds):
        kind = getattr(resource, name)
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


class Run(NamedTuple):
    """An executed copy of a notebook: which cells ran, and why it stopped early if it did."""

    nb: object
    ran: frozenset[int]
    stopped: str | None


def first_line(cell) -> str:
    """The first line of a cell's source, cut at 50 characters."""
    line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    return line if len(line) <= 50 else line[:47] + "..."


def where(cell) -> str:
    """A cell as the student sees it: ``cell [7] (`check_x(f)`)``, its number as Jupyter
    shows it (the execution count), or its first line alone if it never got one."""
    count = cell.get("execution_count")
    number = f"cell [{count}] " if count else "the cell "
    return f"{number}(`{first_line(cell)}`)"


async def execute(nb, timeout: float, kernel: str = "python3") -> Run:
    """Run ``nb`` (changed in place) in a fresh kernel, within ``timeout`` seconds in all.

    Outputs are cleared first, so that nothing the student saved counts. The clock
    starts at the first cell (not while the kernel starts); the kernel's working
    folder is a new temporary folder, removed afterwards.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

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
        error = None
        try:
            await client.async_execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except Exception as exc:
            error = exc
    for count, index in enumerate(ran, start=1):  # a cell stopped before its reply came
        if nb.cells[index].get("execution_count") is None:
            nb.cells[index].execution_count = count
    at = f" in {where(nb.cells[ran[-1]])}" if ran else ""
    stopped = None
    if isinstance(error, CellTimeoutError):
        stopped = f"stopped at the time limit of {timeout:g} s{at}"
    elif isinstance(error, DeadKernelError):
        stopped = f"the kernel died{at}"
    elif error is not None:
        stopped = f"could not run it ({type(error).__name__}: {str(error)[:150]})"
    return Run(nb, frozenset(ran), stopped)


def main(argv=None) -> int:
    """Read the request, run the notebook, write the result; see the module documentation."""
    p = argparse.ArgumentParser(prog="python -m cam_edu.exercises.runner")
    p.add_argument("--memory-mb", type=int, default=0)
    p.add_argument("--processes", type=int, default=0)
    p.add_argument("--cpu-seconds", type=int, default=0)
    args = p.parse_args(argv)
    apply_limits(args.memory_mb, args.processes, args.cpu_seconds)
    os.nice(10)
    import nbformat

    from cam_edu.exercises.checks import record

    os.environ[record.ENV] = "1"
    request = json.loads(sys.stdin.read())
    nb = nbformat.reads(request["notebook"], as_version=4)
    run = asyncio.run(execute(nb, float(request["timeout"]), request.get("kernel", "python3")))
    answer = {"notebook": nbformat.writes(run.nb), "ran": sorted(run.ran), "stopped": run.stopped}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
