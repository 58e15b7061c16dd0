"""Self-checks of lesson 4: the crack's position between columns, the grid's own error.

>>> check_grid_error_question(lambda: [0.1, 0.2])
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ the grid's own error: your answer is [0.1, 0.2]; it should be one n...
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks import reference
from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng
from cam_edu.exercises.checks.questions import Number, check_number

# --------------------------------------------------------------------------- a sub-column peak


def check_refined_peak_position(fn) -> None:
    """Check ``refined_peak_position(cams)``: ``(N, H, W)`` -> ``(N,)`` positions in ``[0, 1]``,
    refined between columns by a parabola through the peak column and its two neighbours.

    At the first and last column (one neighbour only) the column centre stays.

    >>> check_refined_peak_position(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ refined_peak_position: for ..., refined_peak_position returned...
    """
    label = "refined_peak_position"

    def cases():
        rng = seeded_rng(16)
        lopsided = np.zeros((2, 4, 10))
        lopsided[0, :, 3:6] = [2.0, 3.0, 1.0]
        lopsided[1, :, 6:9] = [0.5, 3.0, 2.5]
        clamp = np.zeros((1, 3, 8))
        clamp[0, :, :2] = [4.0, 3.0]
        clamp[0, :, -1] = 1.0
        tip = np.zeros((1, 3, 8))
        tip[0, :, -2:] = [3.0, 4.0]
        tip[0, :, 0] = 1.0
        flat = np.zeros((1, 2, 6))
        flat[0, :, 2:5] = 1.0
        symmetric = np.zeros((1, 2, 9))
        symmetric[0, :, 3:6] = [1.0, 2.0, 1.0]
        items = [
            ("peaks with unequal neighbours (2, 4, 10)", lopsided),
            ("the peak at the clamp, column 0", clamp),
            ("the peak at the tip, the last column", tip),
            ("a flat top: three equal columns", flat),
            ("a symmetric peak (no shift)", symmetric),
            ("random CAMs (4, 8, 32)", rng.normal(size=(4, 8, 32))),
        ]
        for case, cams in items:
            cams = cams.astype(np.float32)
            got = call(fn, label, case, cams)
            profile = cams.astype(np.float64).mean(axis=1)
            n, width = profile.shape
            j = profile.argmax(axis=1)
            rows = np.arange(n)
            left, mid, right = (
                profile[rows, j - 1],
                profile[rows, j],
                profile[rows, (j + 1) % width],
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                shift = 0.5 * (left - right) / (left - 2 * mid + right)
            ref = reference.refined_peak_position(cams)
            t = ref * width - j - 0.5
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="one position per CAM: shape (N,).",
                value_hint="work out the case that fails on paper: the profile, its top "
                "column, the parabola's top, then the fraction of the beam.",
                mistakes=(
                    (
                        (j + 0.5 + shift) / width,
                        "at column 0 there is no left neighbour (index -1 is the LAST "
                        "column in numpy), at column W - 1 no right one.",
                    ),
                    (
                        (j + 0.5 - t) / width,
                        "your position moves away from the larger neighbour: check the sign "
                        "of the parabola's top.",
                    ),
                    ((j + 0.5) / width, "your position is the column's centre, not refined."),
                    (ref * width, "return fractions of the beam length, in [0, 1], not columns."),
                    ((j + t) / width, "a column's centre is half a column from its edge."),
                    (
                        reference.refined_peak_position(cams.max(axis=1, keepdims=True)),
                        "the profile averages the rows (time); yours takes their maximum.",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def check_grid_error_question(fn) -> None:
    """Check the answer to exercise 4's question: the largest error that the feature grid
    alone causes without refinement, in beam lengths, for a map that peaks in the right
    column of the 32.

    >>> check_grid_error_question(lambda: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ the grid's own error: your answer is None; it should be one number.
    """
    columns = 32
    check_number(
        "the grid's own error",
        fn,
        Number(
            0.5 / columns,
            1e-4,
            "the map has 32 columns along the beam, and the unrefined position is a "
            "column's centre. How far from that centre can the crack be and still fall "
            "in the column?",
            mistakes=(
                (
                    1 / columns,
                    "the crack cannot be a whole column from the centre of its own column.",
                ),
                (0.5, "that is half a column in columns; the question asks in beam lengths."),
                (0.0, "a position that can only take 32 values cannot be exact."),
            ),
        ),
    )
