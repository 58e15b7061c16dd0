"""The cost of the perturbation maps, in forward passes: occlusion, Score-CAM and LIME.

Each method is timed against one forward pass ``model(x)`` of the same batch, alternately
in the same run (:func:`cam_edu.timing.compare`), so a ratio of 40 means "as long as 40
forward passes of the batch". The check column gives how many images each method runs
through the model per input image, counted on the compiled model calls of one run (the
ratio should roughly follow it).

``rows(model, x, name)`` returns dicts with the fields of ``run_benchmarks.Row``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

import numpy as np

from cam_edu.engine import Engine, LogitsEngine, logits_engine
from cam_edu.lime_maps import grid_segmentation, lime_map
from cam_edu.perturbation import occlusion_map, score_cam
from cam_edu.timing import compare

GROUP = "perturbation maps ÷ forward pass"


@contextlib.contextmanager
def counting_model_images() -> Iterator[list[int]]:
    """Count the images that go through a model: every compiled call of cam_edu (the
    engines' ``forward``, ``gradients`` and ``logits``) adds its batch's length to the list
    it yields (one entry per call)."""
    counts: list[int] = []
    spies = []
    for cls, name in ((Engine, "forward"), (Engine, "gradients"), (LogitsEngine, "logits")):
        original = getattr(cls, name)

        def spy(self, images, *args, _original=original):
            counts.append(len(images))
            return _original(self, images, *args)

        spies.append(mock.patch.object(cls, name, spy))
    with contextlib.ExitStack() as stack:
        for patch in spies:
            stack.enter_context(patch)
        yield counts


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
        with counting_model_images() as counts:
            fn()
        per_image = sum(counts) // len(x)
        tm, tf = compare(fn, lambda: forward.logits(x), repeat=repeat, max_seconds=20)
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
