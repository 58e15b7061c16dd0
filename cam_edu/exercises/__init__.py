r"""Instructor tooling: the exercise notebooks and their self-checks.

- :mod:`cam_edu.exercises.builder` -- student notebooks built from the solution notebooks
- :mod:`cam_edu.exercises.checks`  -- the self-checks a student runs on their functions
- :mod:`cam_edu.exercises.safe_io` -- atomic writes that never overwrite a student's work
- :mod:`cam_edu.exercises.grade`   -- grade a class's submissions, write grades.csv
- :mod:`cam_edu.exercises.judge`   -- one submission: run it sandboxed, judge its checks
- :mod:`cam_edu.exercises.definitions` -- what a notebook's cells define, read unrun
- :mod:`cam_edu.exercises.sandbox` -- the bubblewrap sandbox each notebook runs in
- :mod:`cam_edu.exercises.runner`  -- runs one notebook inside the sandbox
- :mod:`cam_edu.exercises.cli`     -- the command line

Command line: ``python -m cam_edu.exercises build|check|grade`` (see :mod:`.cli`).

>>> from cam_edu.exercises import stub_source
>>> print(stub_source("def f(x):\n    return x\n"))
def f(x):
    # YOUR CODE HERE
    raise NotImplementedError
"""

from cam_edu.exercises.builder import (
    ExerciseError,
    build,
    check,
    stub_source,
    student_notebook,
    work_fingerprint,
)
from cam_edu.exercises.cli import main
from cam_edu.exercises.grade import grade

__all__ = [
    "ExerciseError",
    "build",
    "check",
    "grade",
    "main",
    "stub_source",
    "student_notebook",
    "work_fingerprint",
]
