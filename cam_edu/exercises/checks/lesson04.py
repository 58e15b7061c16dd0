"""Self-checks of lesson 4: where the CAM puts the crack, its error, the chance baseline.

>>> check_localization_error(lambda p, t: abs(p - t))  # doctest: +ELLIPSIS
✓ ...
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng

# --------------------------------------------------------------------------- cantilever metric


def check_peak_position(fn) -> None:
    """Check ``peak_position(cams)``: CAMs ``(N, H, W)`` -> fault positions ``(N,)`` in ``[0, 1]``.

    Rows are time, columns run from the clamp to the tip. Compared with
    :func:`cam_edu.course.cantilever.cam_peak_position` with ``refine=False``: average over
    the rows, take the column ``j`` of the maximum, return its centre ``(j + 0.5) / W``.

    >>> from cam_edu.course.cantilever import cam_peak_position
    >>> check_peak_position(lambda c: cam_peak_position(c, refine=False))
    ✓ peak_position: all 5 cases agree with cam_edu.
    """
    from cam_edu.course.cantilever import cam_peak_position

    label = "peak_position"

    def cases():
        rng = seeded_rng(8)
        column = np.zeros((1, 4, 16))
        column[0, :, 4] = 1.0
        ends = np.zeros((2, 3, 10))
        ends[0, :, 0] = 1.0
        ends[1, :, 9] = 1.0
        spike = np.zeros((1, 8, 12))
        spike[0, :, 7] = 1.0
        spike[0, 0, 2] = 5.0  # one hot pixel, but a weak column on average
        items = [
            ("one CAM with a bright column 4 of 16", column),
            ("peaks in the first and in the last column", ends),
            ("one hot pixel against a column that is bright in every row", spike),
            ("random CAMs of a 32x64 image, shape (3, 32, 64)", rng.random((3, 32, 64))),
            ("random CAMs at feature resolution, shape (4, 8, 16)", rng.normal(size=(4, 8, 16))),
        ]
        for case, cams in items:
            cams = cams.astype(np.float32)
            got = call(fn, label, case, cams)
            n, _, w = cams.shape
            j = cams.mean(axis=1).argmax(axis=1)
            global_j = cams.reshape(n, -1).argmax(axis=1) % w
            compare(
                got,
                cam_peak_position(cams, refine=False),
                label,
                case,
                shape_hint="one position per CAM: shape (N,).",
                value_hint="average each CAM over its rows (time), take the column j of the "
                "maximum, and return the centre of that column as a fraction of the beam.",
                mistakes=(
                    (
                        j / w,
                        "column j covers [j / W, (j + 1) / W] of the beam; return its "
                        "centre, (j + 0.5) / W.",
                    ),
                    (
                        j / (w - 1),
                        "column j covers [j / W, (j + 1) / W] of the beam; return "
                        "its centre, (j + 0.5) / W.",
                    ),
                    (j.astype(float), "return a fraction of the beam length, not a column index."),
                    (
                        (global_j + 0.5) / w,
                        "average over the rows (time) first: one hot pixel "
                        "is not the place with the most evidence along the beam.",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def check_localization_error(fn) -> None:
    """Check ``localization_error(predicted, true)`` -> ``(N,)`` distances along the beam.

    Compared with :func:`cam_edu.course.cantilever.localization_error`.

    >>> check_localization_error(lambda p, t: np.abs(np.asarray(p) - np.asarray(t)))
    ✓ localization_error: all 3 cases agree with cam_edu.
    """
    from cam_edu.course.cantilever import localization_error

    label = "localization_error"

    def cases():
        rng = seeded_rng(9)
        items = [
            ("predicted [0.2, 0.9] and true [0.25, 0.5]", [0.2, 0.9], [0.25, 0.5]),
            ("a prediction BEFORE the fault and one after", [0.1, 0.8], [0.3, 0.6]),
            ("10 random positions", rng.random(10), rng.random(10)),
        ]
        for case, p, t in items:
            p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
            got = call(fn, label, case, p, t)
            compare(
                got,
                localization_error(p, t),
                label,
                case,
                shape_hint="one error per fault image: shape (N,).",
                value_hint="the error is the distance |predicted - true| along the beam.",
                mistakes=(
                    (p - t, "a distance is never negative: take the absolute value."),
                    (t - p, "a distance is never negative: take the absolute value."),
                    ((p - t) ** 2, "report the distance itself, not its square."),
                ),
                atol=1e-9,
            )
        return len(items)

    run(label, cases)


def check_expected_chance_error(fn) -> None:
    """Check ``expected_chance_error(true)``: mean error of a uniform guess, ``(N,)``.

    For a fault at ``p`` and a guess ``u`` uniform on ``[0, 1]``, the expected
    error is ``E|u - p|``; compared with :func:`cam_edu.course.cantilever.expected_chance_error`.

    >>> check_expected_chance_error(lambda p: (np.asarray(p) ** 2 + (1 - np.asarray(p)) ** 2) / 2)
    ✓ expected_chance_error: all 4 cases agree with cam_edu.
    """
    from cam_edu.course.cantilever import expected_chance_error

    label = "expected_chance_error"

    def cases():
        rng = seeded_rng(10)
        items = [
            ("a fault in the middle, p = [0.5]", [0.5]),
            ("faults at the clamp and at the tip, p = [0, 1]", [0.0, 1.0]),
            ("p = [0.1, 0.25, 0.9]", [0.1, 0.25, 0.9]),
            ("20 random positions", rng.random(20)),
        ]
        for case, p in items:
            p = np.asarray(p, np.float64)
            got = call(fn, label, case, p)
            compare(
                got,
                expected_chance_error(p),
                label,
                case,
                shape_hint="one expected error per fault position: shape (N,).",
                value_hint="E|u - p| is the integral of |u - p| over u from 0 to 1; split it "
                "at u = p into two triangles.",
                mistakes=(
                    (np.full_like(p, 0.5), "the expected error depends on where the fault is."),
                    (
                        np.abs(p - 0.5),
                        "that is the error of always guessing the middle; the "
                        "guess u is random, uniform on [0, 1]: average |u - p| over u.",
                    ),
                    (p**2 + (1 - p) ** 2, "each triangle has area (base * height) / 2."),
                ),
                atol=1e-9,
            )
        return len(items)

    run(label, cases)


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
