"""pytest configuration for the notebooks.

The student exercise notebooks (``exercises/*.ipynb``) are built so that, untouched,
they FAIL under nbval at their self-check cells. A plain ``pytest --nbval`` (``make
test``) therefore skips them; the solutions in ``solutions/`` are run instead, and
``tests/test_exercises.py`` proves both directions.

A student checks their own work by naming the notebook (or the folder)::

    pytest --nbval notebooks/exercises/ex01_gap_loop.ipynb
    pytest --nbval notebooks/exercises/

Setting ``CAM_EDU_EXERCISES=1`` collects them in any run.

A failing self-check is reported the way a student can use it: its ``✗`` line first,
then the cell as Jupyter numbers it when the notebook runs from the top (``[7]``), not
nbval's own count, and no traceback.
"""

import os
from pathlib import Path

import pytest

FAIL_MARK = "✗"

EXERCISES = Path(__file__).resolve().parent / "exercises"


def _named_on_command_line(path: Path, config) -> bool:
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        named = (base / str(arg).split("::")[0]).resolve()
        if named == path or named == EXERCISES:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path).resolve()
    if path.suffix != ".ipynb" or path.parent != EXERCISES:
        return None
    if os.environ.get("CAM_EDU_EXERCISES") == "1" or _named_on_command_line(path, config):
        return None
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Replace a failing cell's report by its ``✗`` line and the cell's number ``[n]``."""
    outcome = yield
    report = outcome.get_result()
    cell = getattr(item, "cell", None)
    if report.when != "call" or not report.failed or cell is None:
        return
    text = str(report.longrepr)
    line = next((s.strip() for s in text.splitlines() if s.strip().startswith(FAIL_MARK)), None)
    if line is None:
        return
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    # nbval runs every code cell once, from the top: the k-th code cell is [k + 1]
    report.longrepr = f"{line}\n(cell [{item.cell_num + 1}] `{first}`)"
