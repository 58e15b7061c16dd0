"""Self-checks of lesson 1: global average pooling as a loop.

>>> check_gap_loop(lambda f: f.mean(axis=(1, 2)))
✓ global_average_pool_loop: all 6 cases agree with cam_edu.
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks.harness import call, compare, feature_cases, run


def gap_cases(fn, label: str) -> int:
    from cam_edu.gap import global_average_pool

    cases = feature_cases()
    for case, f in cases:
        n, h, w, k = f.shape
        got = call(fn, label, case, f)
        f64 = f.astype(np.float64)
        compare(
            got,
            global_average_pool(f),
            label,
            case,
            shape_hint="GAP gives one number per image and channel: shape (N, K). Average "
            "over the positions (axes 1 and 2, height and width), keep axes 0 and 3.",
            value_hint="each output F[n, k] is the mean of channel k of image n over all "
            "H * W positions.",
            mistakes=(
                (f64.sum(axis=(1, 2)), "this is the sum over the positions; divide by H * W."),
                (f64.max(axis=(1, 2)), "this is global MAX pooling; GAP takes the mean."),
                (
                    f64.sum(axis=(1, 2)) / (h * h),
                    "divide by H * W (height times width), not by H * H.",
                ),
                (f64.sum(axis=(1, 2)) / k, "divide by H * W (the positions), not by K."),
                (
                    np.abs(f64).mean(axis=(1, 2)),
                    "average the values themselves, not their absolute values.",
                ),
            ),
        )
    return len(cases)


def check_gap_loop(fn) -> None:
    """Check a ``global_average_pool_loop(features)``: ``(N, H, W, K)`` -> ``(N, K)``.

    Compared with :func:`cam_edu.gap.global_average_pool` on six feature shapes.

    >>> check_gap_loop(lambda f: f.mean(axis=(1, 2)))
    ✓ global_average_pool_loop: all 6 cases agree with cam_edu.
    """
    label = "global_average_pool_loop"
    run(label, lambda: gap_cases(fn, label))
