"""Self-checks for the exercise notebooks: your function against the course's answers.

Each ``check_*`` function takes the function(s) you wrote, runs them on several
small cases (random inputs, odd shapes, edge cases) and gives one line:

- it prints ``✓ <what>: all <n> cases agree with cam_edu.`` when everything matches;
- it raises :class:`SelfCheckFailed` with the line
  ``✗ <what>: <which case failed and how>. Hint: <what to look at>.`` otherwise
  (in Jupyter the cell then shows that line, without a traceback).

A failure message names the case, the shapes, how many values are wrong and where
the first one is, never the expected values. A known mistake gets a hint that names
it; no hint shows the code or the formula a task asks for. The checks are fast (no
training; seeded arrays and at most a tiny untrained model) and print nothing else,
so their output is deterministic. Their answers (:mod:`.reference`) are written
independently of the ``cam_edu`` library. Answers to questions are checked too: a
number, or a choice backed by a number (:mod:`.questions`). When the grader runs a
notebook, the checks also record what the student's functions returned, and the
grader judges that again in its own process (:mod:`.record`). One module per lesson:

- :mod:`.harness`: calling the student's function, comparing, the ✓ / ✗ line
- :mod:`.questions`: answers to questions, a number or a choice backed by a number
- :mod:`.reference`: the checks' own answers, independent of the library
- :mod:`.record`: what a graded notebook records, replayed by the grader
- :mod:`.lesson01`: the two class maps and probabilities of a one-unit sigmoid head
- :mod:`.lesson02`: the CAM of each image's class, the logit split by region
- :mod:`.lesson03`: finding a shortcut with CAM
- :mod:`.lesson04`: the crack's position between columns (parabola), the grid's own error
- :mod:`.lesson05`: the feature model and CAM of a nested transfer-learning model
- :mod:`.lesson06`: Grad-CAM, Grad-CAM++ weights, the randomization sanity check
- :mod:`.lesson07`: occlusion sensitivity; reading deletion curves

>>> check_number("a demo question", lambda: 0.51, Number(0.5, 0.02, "count again"))
✓ a demo question: all 1 cases agree with cam_edu.
>>> check_number("a demo question", lambda: 0.7, Number(0.5, 0.02, "count again"))
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ a demo question: your number is off by more than 0.02. Hint: count...
"""

from cam_edu.exercises.checks.harness import SelfCheckFailed
from cam_edu.exercises.checks.lesson01 import (
    check_sigmoid_head_cams,
    check_sigmoid_head_probabilities,
    check_sigmoid_question,
    tiny_sigmoid_gap_cnn,
)
from cam_edu.exercises.checks.lesson02 import (
    check_cam_per_image,
    check_dark_region_question,
    check_logit_parts,
    tiny_gap_cnn,
)
from cam_edu.exercises.checks.lesson03 import (
    MARKER_BOX,
    MARKER_CELLS,
    add_marker,
    check_counterfactual_accuracy,
    check_evidence_in_box,
    check_marker_share,
    check_shortcut_diagnosis,
    shortcut_data,
    shortcut_model,
)
from cam_edu.exercises.checks.lesson04 import (
    check_grid_error_question,
    check_refined_peak_position,
)
from cam_edu.exercises.checks.lesson05 import (
    check_cell_size_question,
    check_feature_model,
    check_transfer_cam,
    tiny_transfer_model,
)
from cam_edu.exercises.checks.lesson06 import (
    check_activations_and_gradients,
    check_grad_cam,
    check_gradcam_map,
    check_gradcam_weights,
    check_gradcampp_question,
    check_gradcampp_weights,
    check_mean_spearman,
    check_sanity_question,
    gradcampp_demo,
    tiny_cnn_without_gap,
)
from cam_edu.exercises.checks.lesson07 import (
    check_deletion_question,
    check_occlusion,
    tiny_logits_model,
)
from cam_edu.exercises.checks.questions import Number, check_choice_and_number, check_number

__all__ = [
    "MARKER_BOX",
    "MARKER_CELLS",
    "Number",
    "SelfCheckFailed",
    "add_marker",
    "check_activations_and_gradients",
    "check_cam_per_image",
    "check_cell_size_question",
    "check_choice_and_number",
    "check_counterfactual_accuracy",
    "check_dark_region_question",
    "check_deletion_question",
    "check_evidence_in_box",
    "check_feature_model",
    "check_grad_cam",
    "check_gradcam_map",
    "check_gradcam_weights",
    "check_gradcampp_question",
    "check_gradcampp_weights",
    "check_grid_error_question",
    "check_logit_parts",
    "check_marker_share",
    "check_mean_spearman",
    "check_number",
    "check_occlusion",
    "check_refined_peak_position",
    "check_sanity_question",
    "check_shortcut_diagnosis",
    "check_sigmoid_head_cams",
    "check_sigmoid_head_probabilities",
    "check_sigmoid_question",
    "check_transfer_cam",
    "gradcampp_demo",
    "shortcut_data",
    "shortcut_model",
    "tiny_cnn_without_gap",
    "tiny_gap_cnn",
    "tiny_logits_model",
    "tiny_sigmoid_gap_cnn",
    "tiny_transfer_model",
]
