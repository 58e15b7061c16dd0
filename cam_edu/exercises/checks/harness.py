"""The harness of the self-checks: call the student's function safely, compare with a
reference, then print one ✓ line or raise :class:`SelfCheckFailed` with one ✗ line.

A failure is an exception, not just a printed line, so that a failing check stops
"Run All" there and fails ``pytest --nbval`` on the student's notebook, whose check
cells store no output to compare with. In Jupyter the ✗ line is all the cell shows.

>>> run("demo", lambda: 3)
✓ demo: all 3 cases agree with cam_edu.
>>> run("demo", lambda: call(None, "f", "a case"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cam_edu.exercises.checks.harness.SelfCheckFailed: ✗ demo: expected a function, got NoneType...
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
from collections.abc import Callable

import numpy as np

from cam_edu.exercises.checks import record

PASS = "✓"
FAIL = "✗"


class CheckFailed(Exception):
    """One case of a self-check failed; the message is what the student reads."""


class SelfCheckFailed(AssertionError):
    """A self-check failed; the message is its ``✗ <what>: ... Hint: ...`` line."""

    def _render_traceback_(self) -> list[str]:
        """What IPython and Jupyter show instead of a traceback: the ✗ line alone."""
        return [str(self)]


def seeded_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def call(fn, label: str, case: str, *args, then=None, **kwargs):
    """Call the student's function; turn its exceptions into a readable failure.

    ``then`` (optional) turns what ``fn`` returned into what the check compares (e.g. runs
    a returned model); it may raise :class:`CheckFailed` about the returned object. In a
    recording notebook the outcome is recorded; in a replay it is the recorded one
    (:mod:`.record`), and nothing is called.
    """
    state = record.current()
    if isinstance(state, record.Replay):
        outcome = state.outcome(label, case)
        if outcome is None:
            raise CheckFailed(
                f"for {case}, no result of {label} was recorded in the notebook: the check "
                "did not finish there"
            )
    else:
        outcome = _invoke(fn, args, kwargs, then)
        if isinstance(state, record.Recorder):
            state.add(label, case, outcome)
    return _settle(outcome, label, case)


def _invoke(fn, args, kwargs, then) -> record.Outcome:
    if not callable(fn):
        return record.Outcome("not_callable", type(fn).__name__)
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        out = fn(*args, **kwargs)
        if then is not None:
            out = then(out)
    except NotImplementedError:
        return record.Outcome("not_written")
    except CheckFailed as failure:
        return record.Outcome("failed", None, str(failure))
    except Exception as exc:  # the student's bug, reported with its own message
        return record.Outcome("raised", type(exc).__name__, str(exc)[:200])
    mutated = any(
        isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True)
        for before, after in zip(copies, args, strict=True)
    )
    return record.Outcome("value", out, mutated)


def _settle(outcome: record.Outcome, label: str, case: str):
    """The value of a call, or the :class:`CheckFailed` that says what went wrong."""
    if outcome.kind == "not_callable":
        raise CheckFailed(
            f"expected a function, got {outcome.value}. Pass the function itself, "
            f"without calling it: check(...)(my_function), not my_function(...)"
        )
    if outcome.kind == "not_written":
        raise CheckFailed(
            f"{label} is not written yet (it raises NotImplementedError). Replace the "
            "`raise NotImplementedError` line in its cell with your code, run that cell, "
            "then run this check again"
        )
    if outcome.kind == "failed":
        raise CheckFailed(outcome.detail)
    if outcome.kind == "raised":
        raise CheckFailed(f"for {case}, {label} raised {outcome.value}: {outcome.detail}")
    if outcome.detail:
        raise CheckFailed(
            f"for {case}, {label} changed its input array in place. Work on a copy "
            "(or build a new array) so that the caller's data stays as it was"
        )
    return outcome.value


def as_array(out, label: str, case: str, expected_shape) -> np.ndarray:
    if hasattr(out, "numpy") and not isinstance(out, np.ndarray):
        out = out.numpy()
    if out is None:
        raise CheckFailed(
            f"for {case}, {label} returned None; expected an array of shape "
            f"{tuple(expected_shape)}. Did you forget the `return` statement?"
        )
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"for {case}, {label} returned {type(out).__name__}, which is not an array of "
            f"numbers; expected shape {tuple(expected_shape)}"
        ) from None
    return arr


def compare(
    got,
    expected: np.ndarray,
    label: str,
    case: str,
    *,
    shape_hint: str,
    value_hint: str,
    mistakes: tuple = (),
    accept: tuple = (),
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> None:
    """Fail with a specific message if ``got`` differs from ``expected``.

    NaN counts as equal to NaN. ``accept`` are other right results (a variant the
    literature writes too, such as an epsilon in a denominator). ``mistakes`` are
    ``(wrong_result, hint)`` pairs: if ``got`` equals a known wrong result, that hint
    replaces the generic ``value_hint``.
    """
    expected = np.asarray(expected, dtype=np.float64)
    arr = as_array(got, label, case, expected.shape)
    if arr.shape != expected.shape:
        raise CheckFailed(
            f"for {case}, your result has shape {arr.shape}; expected {expected.shape}. "
            f"Hint: {shape_hint}"
        )

    def same(a, b) -> bool:
        b = np.asarray(b, dtype=np.float64)
        return b.shape == a.shape and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)

    if any(same(arr, right) for right in (expected, *accept)):
        return
    for wrong, hint in mistakes:
        if same(arr, wrong):
            raise CheckFailed(f"for {case}, the values are wrong. Hint: {hint}")
    if np.isnan(arr).any() and not np.isnan(expected).any():
        raise CheckFailed(
            f"for {case}, your result contains NaN. Hint: look for a division by zero "
            f"(0 / 0 gives NaN). {value_hint}"
        )
    wrong = ~np.isclose(arr, expected, rtol=rtol, atol=atol, equal_nan=True)
    first = tuple(int(i) for i in np.argwhere(wrong)[0]) if arr.ndim else ()
    where = f", the first at index {first}" if first else ""
    k = int(wrong.sum())
    count = f"{k} of {wrong.size} values {'is' if k == 1 else 'are'} wrong"
    if wrong.size == 1:
        count = "the value is wrong"
    raise CheckFailed(f"for {case}, {count}{where}. Hint: {value_hint}")


def run(title: str, cases: Callable[[], int]) -> None:
    """Run ``cases`` (returns the number of cases); print the ✓ line.

    In a notebook the grader runs, the calls are also recorded; in the grader's replay
    they are the recorded ones (:mod:`.record`).

    Raises:
        SelfCheckFailed: with the ✗ line, if a case failed.
    """
    state = record.current()
    if isinstance(state, record.Replay):
        state.start(title)
    elif record.recording():
        state = record.Recorder(title)
    try:
        with record.active(state):
            if isinstance(state, record.Replay) and state.calls is None:
                raise CheckFailed(
                    "no result of this check was recorded in the notebook: the check cell "
                    "did not call it, or something in the notebook replaced it"
                )
            n = cases()
    except CheckFailed as failure:
        message = str(failure).rstrip(".")
        if message.startswith(title + " "):
            message = "it" + message[len(title) :]
        end = "" if message.endswith(("?", "!")) else "."
        raise SelfCheckFailed(f"{FAIL} {title}: {message}{end}") from None
    finally:
        if isinstance(state, record.Recorder):
            state.emit()
    print(f"{PASS} {title}: all {n} cases agree with cam_edu.")


def function_source(fn) -> str | None:
    """The code of the student's function ``fn`` as a check reads it, or ``None`` if it
    cannot be read.

    In the grader's replay it is the definition the notebook's cells give the name
    (:func:`cam_edu.exercises.judge.definitions`). In a notebook it is the source Python
    kept for a function defined at the top level of a cell (a ``def``, or a ``lambda``
    assigned to a name); one made inside another function or by ``exec``, a method, a
    builtin or a callable object cannot be read, in the notebook as in the replay.
    """
    if isinstance(fn, record.Replayed):
        return fn.source
    if not isinstance(fn, types.FunctionType) or "." in fn.__qualname__:
        return None
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None


def uses_python_loops(source: str) -> bool | None:
    """Whether ``source`` contains a for/while loop or a comprehension (``None``: it does
    not parse).

    >>> uses_python_loops("def f(x):\\n    return [v for v in x]"), uses_python_loops("(")
    (True, None)
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)
    return any(isinstance(node, loops) for node in ast.walk(tree))


def require_no_loops(fn, label: str, what: str) -> None:
    """Fail unless the code of ``fn`` can be read (:func:`function_source`) and has no loop."""
    source = function_source(fn)
    loops = None if source is None else uses_python_loops(source)
    if loops is None:
        raise CheckFailed(
            f"{label} gives the right numbers, but its code could not be read, so the check "
            "cannot see whether it uses a loop. Hint: define it with `def` at the top level "
            "of a cell of this notebook (not inside another function, nor with exec), run "
            "that cell, then this check"
        )
    if loops:
        raise CheckFailed(
            f"{label} gives the right numbers but uses a Python loop or comprehension. "
            f"Hint: this exercise asks for {what}, with no for/while loop"
        )
