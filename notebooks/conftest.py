"""pytest configuration for the notebooks.

The student exercise notebooks (``exercises/*.ipynb``) are built so that, untouched,
they FAIL under nbval at their self-check cells. A plain ``pytest --nbval`` (``make
test``) therefore skips them; the solutions in ``solutions/`` are run instead, and
``tests/test_exercises.py`` proves both directions.

A student checks their own work by naming the notebook (or the folder)::

    pytest --nbval notebooks/exercises/ex01_gap_loop.ipynb
    pytest --nbval notebooks/exercises/

Setting ``CAM_EDU_EXERCISES=1`` collects them in any run.
"""

import os
from pathlib import Path

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
