"""Checked answers to the exercises' questions: a number, or a choice backed by a number.

A question's answer is a function the student writes, without arguments. A number is
checked within a tolerance (:func:`check_number`). A choice among a few options alone
could be found by trying each one, so a choice comes with a number that only the
reasoning behind it produces (:func:`check_choice_and_number`): a probability worked out
for the situation asked about, a value measured in the notebook. The number is judged
first; a wrong choice then gets that choice's own hint. Known wrong numbers get a hint
that names the mistake; no hint gives the expected value.

>>> check_number("q", lambda: 0.31, Number(0.3, 0.02, "recount"))
✓ q: all 1 cases agree with cam_edu.
>>> choices = {"a": "look again", "b": ""}
>>> check_choice_and_number("q", lambda: ("b", 2.0), choices, "b", Number(2.0, 0.1, "?"))
✓ q: all 1 cases agree with cam_edu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cam_edu.exercises.checks.harness import CheckFailed, call, run


@dataclass(frozen=True)
class Number:
    """An expected number: ``tolerance`` around ``expected``, the ``hint`` for a wrong
    one, and ``mistakes``, ``(wrong value, hint)`` pairs for known wrong numbers."""

    expected: float
    tolerance: float
    hint: str
    mistakes: tuple[tuple[float, str], ...] = ()


def _as_number(value, what: str) -> float:
    if isinstance(value, str | bytes) or np.ndim(value) != 0:
        raise CheckFailed(f"{what} is {value!r}; it should be one number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} is {value!r}; it should be one number") from None


def _judge(value: float, number: Number) -> None:
    if abs(value - number.expected) <= number.tolerance:
        return
    for wrong, hint in number.mistakes:
        if abs(value - wrong) <= number.tolerance:
            raise CheckFailed(f"your number is not the one asked for. Hint: {hint}")
    raise CheckFailed(f"your number is off by more than {number.tolerance:g}. Hint: {number.hint}")


def check_number(title: str, fn, number: Number) -> None:
    """Check an answer function ``fn() -> float`` against ``number``."""

    def cases():
        got = call(fn, title, "your answer")
        _judge(_as_number(got, "your answer"), number)
        return 1

    run(title, cases)


def check_choice_and_number(
    title: str, fn, choices: dict, correct: str, number: Number | dict
) -> None:
    """Check an answer function ``fn() -> (choice, number)``.

    ``choices`` maps every allowed choice to the hint a student who picks it reads if it
    is wrong (what to look at again, never the answer). ``number`` is the expected
    :class:`Number`, or one per choice (a dict: the number measured for that choice).
    The number is judged first.
    """
    allowed = ", ".join(repr(c) for c in choices)

    def cases():
        got = call(fn, title, "your answer")
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise CheckFailed(
                f"your answer is {got!r}; return two things, your choice (one of {allowed}) "
                "and your number: return (choice, number)"
            )
        choice, value = got
        if not isinstance(choice, str) or choice.strip().lower() not in choices:
            raise CheckFailed(f"your choice is {choice!r}; it should be one of {allowed}")
        choice = choice.strip().lower()
        expected = number if isinstance(number, Number) else number[choice]
        _judge(_as_number(value, "your number"), expected)
        if choice != correct:
            raise CheckFailed(f"{choice!r} is not the best choice. Hint: {choices[choice]}")
        return 1

    run(title, cases)
