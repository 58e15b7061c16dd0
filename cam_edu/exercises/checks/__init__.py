"""Self-checks for the exercise notebooks: your function against cam_edu's reference.

Each ``check_*`` function takes the function(s) you wrote, runs them on several
small cases (random inputs, odd shapes, edge cases) and gives one line:

- it prints ``✓ <what>: all <n> cases agree with cam_edu.`` when everything matches;
- it raises :class:`SelfCheckFailed` with the line
  ``✗ <what>: <which case failed and how>. Hint: <what to look at>.`` otherwise
  (in Jupyter the cell then shows that line, without a traceback).

A failure message names the case, the shapes, how many values are wrong and where
the first one is, never the expected values. The checks are fast (no training;
seeded arrays and at most a tiny untrained model) and print nothing else, so their
output is deterministic. One module per lesson, over a small :mod:`.harness`:
:mod:`.lesson01` (GAP loop), :mod:`.lesson02` (vectorized GAP and CAM, the CAM identity),
:mod:`.lesson03` (upsampling, overlay, boxes, IoU), :mod:`.lesson04` (the crack's
position, its error, the chance baseline), :mod:`.lesson06` (Grad-CAM).

>>> import numpy as np
>>> check_gap_loop(lambda f: np.asarray(f).mean(axis=(1, 2)))
✓ global_average_pool_loop: all 6 cases agree with cam_edu.
>>> check_gap_loop(lambda f: np.asarray(f).sum(axis=(1, 2)))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cam_edu.exercises.checks.harness.SelfCheckFailed: ✗ global_average_pool_loop: ...sum over...
"""

from cam_edu.exercises.checks.harness import SelfCheckFailed
from cam_edu.exercises.checks.lesson01 import check_gap_loop
from cam_edu.exercises.checks.lesson02 import (
    check_cam_identity,
    check_cam_vectorized,
    check_gap_vectorized,
    tiny_gap_cnn,
)
from cam_edu.exercises.checks.lesson03 import (
    check_box_from_cam,
    check_iou,
    check_normalize,
    check_overlay,
    check_upsample_nearest,
)
from cam_edu.exercises.checks.lesson04 import (
    check_expected_chance_error,
    check_localization_error,
    check_peak_position,
)
from cam_edu.exercises.checks.lesson06 import (
    check_activations_and_gradients,
    check_grad_cam,
    check_gradcam_map,
    check_gradcam_weights,
    tiny_cnn_without_gap,
)

__all__ = [
    "SelfCheckFailed",
    "check_activations_and_gradients",
    "check_box_from_cam",
    "check_cam_identity",
    "check_cam_vectorized",
    "check_expected_chance_error",
    "check_gap_loop",
    "check_gap_vectorized",
    "check_grad_cam",
    "check_gradcam_map",
    "check_gradcam_weights",
    "check_iou",
    "check_localization_error",
    "check_normalize",
    "check_overlay",
    "check_peak_position",
    "check_upsample_nearest",
    "tiny_cnn_without_gap",
    "tiny_gap_cnn",
]
