"""cam_edu: the helper package of a course on Class Activation Maps.

The notebooks teach; this package computes. Three parts, each in its own place:

**The CAM library** (this package), one job per module:

- :mod:`cam_edu.validate` -- array checks with errors that say what to do
- :mod:`cam_edu.inputs`   -- the check of a model's input batch, once at the public door
- :mod:`cam_edu.extras`   -- optional parts and the extra that installs each
- :mod:`cam_edu.gap`      -- global average (and max) pooling, naive loop and vectorized
- :mod:`cam_edu.layers`   -- the tensor and the output to explain in any Keras model
  (nested bases included) and the model that returns them
- :mod:`cam_edu.engine`   -- one compiled path to activations, logits and gradients,
  kept as long as the model
- :mod:`cam_edu.channels` -- the base of the channel-weight methods: weights, weighted sum
- :mod:`cam_edu.cam`      -- class activation maps and the GAP -> Dense head of a model
- :mod:`cam_edu.gradcam`  -- Grad-CAM and Grad-CAM++
- :mod:`cam_edu.perturbation` -- occlusion and Score-CAM maps, and the class scores they read
- :mod:`cam_edu.lime_maps` -- LIME maps (the ``lime`` extra)
- :mod:`cam_edu.methods`  -- the one registry of map methods
- :mod:`cam_edu.faithfulness` -- deletion and insertion curves
- :mod:`cam_edu.randomization` -- the model-randomization sanity check, rank correlation
  and its chance floor
- :mod:`cam_edu.comparison` -- every method on one test set: table, costs, bootstrap
- :mod:`cam_edu.viz`      -- upsampling, normalization, overlays and plots
- :mod:`cam_edu.reading`  -- a raw CAM's numbers: sign, positive area, strokes vs background
- :mod:`cam_edu.localize` -- boxes from heatmaps (20 % of max rule), IoU, box accuracy,
  pointing game, true boxes
- :mod:`cam_edu.widgets`  -- the interactive explorer every lesson ends with; its parts
  (state, rendering, picture widget, controls) in :mod:`cam_edu.explorer`
- :mod:`cam_edu.timing`   -- fair timing of two functions (ratios, not seconds)

**The course's material**: :mod:`cam_edu.course` (MNIST and canvas data, the lessons'
models, ResNet50 and ImageNet photos, the cantilever simulation).

**Instructor tooling**: :mod:`cam_edu.exercises` (the exercise builder, the self-checks,
the grader) and :mod:`cam_edu.teaching` (slides, the course website, the instructor page,
pre-fetching the downloads for a classroom without a network).

Everything a lesson or an exercise uses from the library is importable from here (loaded
on first use, so ``import cam_edu`` stays light); drawing lives in :mod:`cam_edu.viz` and
the course's material in :mod:`cam_edu.course`:

>>> import numpy as np
>>> from cam_edu import class_activation_maps
>>> class_activation_maps(np.ones((1, 2, 2, 3)), np.ones((3, 4))).shape
(1, 2, 2, 4)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> the module that defines it. One table: ``from cam_edu import grad_cam`` imports
# ``cam_edu.gradcam`` then, not before.
_EXPORTS = {
    "cam": (
        "CAM",
        "cam_head",
        "class_activation_map_loop",
        "class_activation_maps",
        "class_probabilities",
        "compute_cam",
        "softmax",
    ),
    "gap": ("global_average_pool", "global_average_pool_loop"),
    "layers": ("cut_model", "locate_target", "logits_model"),
    "reading": ("cam_numbers",),
    "localize": (
        "BoxTruth",
        "bbox_from_cam",
        "box_accuracy",
        "box_area",
        "ink_box",
        "iou",
        "localization_score",
        "pointing_game",
        "share_in_box",
    ),
    "gradcam": ("GradCAM", "GradCAMPlusPlus", "grad_cam", "grad_cam_plus_plus"),
    "randomization": (
        "cascading_randomization",
        "chance_floor",
        "rank_correlation",
        "randomization_correlation",
        "untied_rank_correlation",
    ),
    "faithfulness": ("curve_auc", "deletion_curve", "insertion_curve"),
    "comparison": ("bootstrap_difference", "compare_methods"),
    "perturbation": (
        "ClassScores",
        "ScoreCAM",
        "baseline_images",
        "occlusion_map",
        "score_cam",
        "score_cam_weights",
    ),
    "lime_maps": ("grid_segmentation", "lime_map"),
    "timing": ("speedup",),
    "viz": ("overlay", "plot_cam_grid", "show_map", "upsample"),
    "widgets": ("cam_explorer",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'cam_edu' has no attribute {name!r}")
    try:
        module = importlib.import_module(f"cam_edu.{_MODULE_OF[name]}")
    except ModuleNotFoundError as error:
        if error.name != "tensorflow":
            raise
        from cam_edu.extras import TENSORFLOW_HINT

        raise ModuleNotFoundError(
            "cam_edu computes with Keras on TensorFlow, which is not installed: "
            f"{TENSORFLOW_HINT}.",
            name="tensorflow",
        ) from None
    value = getattr(module, name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
