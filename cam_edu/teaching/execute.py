"""Run the lessons and the appendix as the course stores them (``make lessons``).

Each lesson runs from the top in a fresh ``python3`` kernel, in ``notebooks/``, the way
``make test`` checks it: offline (``CAM_EDU_OFFLINE=1`` and an empty Keras cache, so
lesson 5 stores its random-weight outputs on every machine), with Python's hash seed
fixed, TensorFlow's oneDNN off (the same float rounding everywhere) and the widgets' state
stored (the explorer's picture). Then the slide metadata and the **Time:** line are set
(:func:`cam_edu.teaching.notebooks.annotate`) and the notebook is written back.

>>> sorted(LESSON_ENV)
['CAM_EDU_OFFLINE', 'PYTHONHASHSEED', 'TF_CPP_MIN_LOG_LEVEL', 'TF_ENABLE_ONEDNN_OPTS']
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from cam_edu.teaching.notebooks import NOTEBOOKS, annotate, appendix_paths, lesson_paths

LESSON_ENV = {
    "CAM_EDU_OFFLINE": "1",
    "PYTHONHASHSEED": "0",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}


@contextmanager
def _lesson_environment():
    """The kernel inherits this process's environment: set it for the run, then restore."""
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="keras-home-") as keras_home:
        os.environ.update(LESSON_ENV, KERAS_HOME=keras_home)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)


def execute(path: Path, timeout: int = 1800) -> float:
    """Run the notebook at ``path`` in place; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with _lesson_environment():
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOKS)}},
            store_widget_state=True,
        ).execute()
    annotate(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(names: list[str] | None = None) -> int:
    notebooks = lesson_paths() + appendix_paths()
    chosen = [p for p in notebooks if not names or any(n in p.name for n in names)]
    if not chosen:
        print(f"no notebook matches {names}; notebooks: {[p.name for p in notebooks]}")
        return 1
    for path in chosen:
        print(f"{path.name}: ran in {execute(path):.0f} s", flush=True)
    return 0
