"""cam_edu: the helper package of a course on Class Activation Maps.

The notebooks teach; this package computes. Three parts, each in its own place:

**The CAM library** (this package), one job per module:

- :mod:`cam_edu.validate` -- input checks with errors that say what to do
- :mod:`cam_edu.gap`      -- global average (and max) pooling, naive loop and vectorized
- :mod:`cam_edu.layers`   -- the tensor to explain in any Keras model (nested bases
  included) and the model that returns it
- :mod:`cam_edu.engine`   -- one compiled path to activations, logits and gradients
- :mod:`cam_edu.cam`      -- class activation maps and the GAP -> Dense head of a model
- :mod:`cam_edu.gradcam`  -- Grad-CAM, Grad-CAM++ and the randomization sanity check
- :mod:`cam_edu.perturbation` -- occlusion, LIME and Score-CAM maps
- :mod:`cam_edu.faithfulness` -- deletion/insertion curves, pointing game, randomization
- :mod:`cam_edu.methods`  -- every map method behind one call (for the explorer)
- :mod:`cam_edu.viz`      -- upsampling, normalization, overlays and plots
- :mod:`cam_edu.reading`  -- a raw CAM's numbers: sign, positive area, strokes vs background
- :mod:`cam_edu.localize` -- boxes from heatmaps (20 % of max rule), IoU, box accuracy
- :mod:`cam_edu.widgets`  -- the interactive explorer every lesson ends with
- :mod:`cam_edu.timing`   -- fair timing of two functions (ratios, not seconds)

**The course's material**: :mod:`cam_edu.course` (MNIST and canvas data, the lessons'
models, ResNet50 and ImageNet photos, the cantilever simulation).

**Instructor tooling**: :mod:`cam_edu.exercises` (the exercise builder, the self-checks,
the grader) and :mod:`cam_edu.teaching` (slides, the course website, the instructor page,
pre-fetching the downloads for a classroom without a network).

The entry points are importable from here:

>>> import numpy as np
>>> from cam_edu import class_activation_maps
>>> class_activation_maps(np.ones((1, 2, 2, 3)), np.ones((3, 4))).shape
(1, 2, 2, 4)
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from cam_edu.cam import (  # noqa: E402 - the environment above must come first
    cam_head,
    class_activation_map_loop,
    class_activation_maps,
    class_probabilities,
    compute_cam,
)
from cam_edu.faithfulness import (  # noqa: E402
    curve_auc,
    deletion_curve,
    insertion_curve,
    randomization_correlation,
)
from cam_edu.gap import global_average_pool, global_average_pool_loop  # noqa: E402
from cam_edu.gradcam import cascading_randomization, grad_cam, grad_cam_plus_plus  # noqa: E402
from cam_edu.layers import cut_model, locate_target  # noqa: E402
from cam_edu.localize import bbox_from_cam, box_accuracy, iou  # noqa: E402
from cam_edu.perturbation import lime_map, occlusion_map, score_cam  # noqa: E402
from cam_edu.viz import overlay, plot_cam_grid, upsample  # noqa: E402
from cam_edu.widgets import cam_explorer  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "bbox_from_cam",
    "box_accuracy",
    "cam_explorer",
    "cam_head",
    "cascading_randomization",
    "class_activation_map_loop",
    "class_activation_maps",
    "class_probabilities",
    "compute_cam",
    "curve_auc",
    "cut_model",
    "deletion_curve",
    "global_average_pool",
    "global_average_pool_loop",
    "grad_cam",
    "grad_cam_plus_plus",
    "insertion_curve",
    "iou",
    "lime_map",
    "locate_target",
    "occlusion_map",
    "overlay",
    "plot_cam_grid",
    "randomization_correlation",
    "score_cam",
    "upsample",
]
