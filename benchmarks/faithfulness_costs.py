"""The cost of the perturbation maps, in forward passes: occlusion, Score-CAM and LIME.

Each method is timed against one forward pass ``model(x)`` of the same batch, alternately
in the same run (:func:`cam_edu.timing.compare`), so a ratio of 40 means "as long as 40
forward passes of the batch". The check column gives how many images each method runs
through the model per input image, which the ratio should roughly follow.

``rows(model, x, name)`` returns dicts with the fields of ``run_benchmarks.Row``.
"""

from __future__ import annotations

import numpy as np

from cam_edu.engine import engine, logits_engine
from cam_edu.perturbation import (
    grid_segmentation,
    lime_map,
    occlusion_map,
    score_cam,
)
from cam_edu.timing import compare

GROUP = "perturbation maps ÷ forward pass"


def _model_images_per_image(method: str, model, x, patch, stride, num_samples) -> int:
    """How many images the method runs through the model for each input image."""
    if method == "occlusion":
        per_axis = [
            len(range(0, n - patch + 1, stride)) + ((n - patch) % stride > 0) for n in x.shape[1:3]
        ]
        return 2 + per_axis[0] * per_axis[1]  # the image, again beside its occluded copies
    if method == "Score-CAM":
        return 1 + engine(model).forward(x[:1])[0].shape[-1]
    return 1 + num_samples


def rows(
    model,
    x: np.ndarray,
    name: str,
    repeat: int = 3,
    patch: int = 8,
    stride: int = 4,
    num_samples: int = 1000,
) -> list[dict]:
    """One row per method: its time on ``x`` divided by the time of a compiled ``model(x)``."""
    grid = grid_segmentation(8)  # lime's quickshift finds one superpixel on a small digit
    methods = {
        "occlusion": (
            lambda: occlusion_map(model, x, patch=patch, stride=stride),
            f"patch {patch}, stride {stride}",
        ),
        "Score-CAM": (lambda: score_cam(model, x), "last conv layer"),
        "LIME": (
            lambda: lime_map(model, x, num_samples=num_samples, segmentation=grid),
            f"{num_samples} samples, 8×8 grid of superpixels",
        ),
    }
    forward = logits_engine(model)  # a compiled forward pass, the methods' own floor
    forward.logits(x)
    out = []
    for method, (fn, setting) in methods.items():
        tm, tf = compare(fn, lambda: forward.logits(x), repeat=repeat, max_seconds=20)
        per_image = _model_images_per_image(method, model, x, patch, stride, num_samples)
        out.append(
            {
                "group": GROUP,
                "label": f"{method} ÷ forward, {name}",
                "workload": f"{len(x)} images {'×'.join(map(str, x.shape[1:]))}, {setting}",
                "baseline": method,
                "candidate": "compiled model(x)",
                "baseline_ms": tm.ms,
                "candidate_ms": tf.ms,
                "ratio": tm.median / tf.median,
                "meaning": "forward passes of the same batch",
                "check": f"runs the model on {per_image} images per image",
                "extra": {"model_images_per_image": per_image},
            }
        )
    return out
