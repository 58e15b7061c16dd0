"""Self-checks of lesson 4: the crack's position between columns, the grid's own error.

>>> check_grid_error_question(lambda: 1 / 64)
✓ the grid's own error: all 1 cases agree with cam_edu.
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng

# --------------------------------------------------------------------------- a sub-column peak


def check_refined_peak_position(fn) -> None:
    """Check ``refined_peak_position(cams)``: ``(N, H, W)`` -> ``(N,)`` positions in ``[0, 1]``,
    refined between columns by a parabola through the peak column and its two neighbours.

    Compared with :func:`cam_edu.course.cantilever.cam_peak_position` (``refine=True``): at
    the first and last column (one neighbour only) the column centre stays.

    >>> from cam_edu.course.cantilever import cam_peak_position
    >>> check_refined_peak_position(cam_peak_position)
    ✓ refined_peak_position: all 6 cases agree with cam_edu.
    """
    from cam_edu.course.cantilever import cam_peak_position

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
            left, mid = profile[rows, j - 1], profile[rows, j]
            right = profile[rows, (j + 1) % width]
            with np.errstate(divide="ignore", invalid="ignore"):
                wrap = (j + 0.5 + 0.5 * (left - right) / (left - 2 * mid + right)) / width
                flipped = (j + 0.5 - 0.5 * (left - right) / (left - 2 * mid + right)) / width
            ref = cam_peak_position(cams, refine=True)
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="one position per CAM: shape (N,).",
                value_hint="fit y = a t^2 + b t + c through (-1, left), (0, peak), (1, right); "
                "its top is at t = b / (-2 a); the position is (j + 0.5 + t) / W.",
                mistakes=(
                    (
                        np.nan_to_num(wrap, nan=-1.0),
                        "at column 0 there is no left neighbour (index -1 is the LAST "
                        "column in numpy), at column W - 1 no right one: keep t = 0 there.",
                    ),
                    (
                        np.nan_to_num(flipped, nan=-1.0),
                        "the top moves TOWARDS the larger neighbour: check the sign of t.",
                    ),
                    ((j + 0.5) / width, "refine the column centre with the parabola's top."),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def check_grid_error_question(fn) -> None:
    """Check the answer to exercise 4's question: the largest error that the feature grid
    alone causes without refinement, in beam lengths (32 columns: half a column).

    >>> check_grid_error_question(lambda: 1 / 64)
    ✓ the grid's own error: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_number

    check_number(
        "the grid's own error",
        fn,
        0.5 / 32,
        1e-4,
        "the map has 32 columns along the beam, each covering 1/32 of it, and the "
        "unrefined position is a column's centre. How far from that centre can the crack "
        "be and still fall in the column?",
    )
