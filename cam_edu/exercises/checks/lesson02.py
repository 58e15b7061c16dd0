"""Self-checks of lesson 2: the CAM of each image's class, the logit split by region.

>>> check_dark_region_question(lambda: "twice")
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ the darkest colour: your answer is 'twice'; it should be one number.
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks import reference
from cam_edu.exercises.checks.harness import call, compare, require_no_loops, run, seeded_rng
from cam_edu.exercises.checks.questions import Number, check_number

# --------------------------------------------------------------------------- a tiny GAP CNN


def tiny_gap_cnn():
    """The checks' tiny untrained GAP CNN (seed 7) and 3 seeded random inputs.

    Returns:
        ``(model, images)``: inputs ``(3, 16, 16, 1)``, features ``(3, 4, 4, 8)`` at
        layer ``"features"``, 5 classes (softmax).

    >>> model, images = tiny_gap_cnn()  # doctest: +SKIP
    """
    from cam_edu.course.models import build_gap_cnn

    model = build_gap_cnn(
        num_classes=5, input_shape=(16, 16, 1), filters=(4, 6, 8), seed=7, name="tiny_gap"
    )
    images = seeded_rng(7).random((3, 16, 16, 1), dtype=np.float32)
    return model, images


# ------------------------------------------------------------------ where the logit comes from


def check_cam_per_image(fn) -> None:
    """Check a loop-free ``cam_per_image(features, weights, class_index)`` -> ``(N, H, W)``.

    ``class_index`` ``(N,)`` names one class per image (its label, say); image ``n``
    gets the map of class ``class_index[n]``.

    >>> check_cam_per_image(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ cam_per_image: for ..., cam_per_image returned None...
    """
    label = "cam_per_image"

    def cases():
        rng = seeded_rng(13)
        items = [
            ("4 images (4, 7, 7, 16), 10 classes, classes [3, 0, 9, 3]", (4, 7, 7, 16), 10),
            ("non-square (3, 5, 9, 4), 7 classes", (3, 5, 9, 4), 7),
            ("1 image (1, 4, 4, 3), 2 classes", (1, 4, 4, 3), 2),
        ]
        for i, (case, shape, c) in enumerate(items):
            f = rng.random(shape, dtype=np.float32)
            w = rng.normal(size=(shape[-1], c)).astype(np.float32)
            classes = np.array([3, 0, 9, 3]) if i == 0 else rng.integers(0, c, shape[0])
            got = call(fn, label, case, f, w, classes)
            ref = reference.class_maps(f, w, classes)
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="one map per image: shape (N, H, W). Each image needs one kernel "
                "column, its own class's, and no other image's.",
                value_hint="compare your map of image 1 with the map of all classes of "
                "lesson 2 for that image: which class's map should it be?",
                mistakes=(
                    (
                        reference.class_maps(f, w, np.full(len(f), classes[0])),
                        "every image has its OWN class; yours uses the first image's class "
                        "for all of them.",
                    ),
                    (
                        reference.class_maps(f, w, classes) / shape[-1],
                        "a map weights the channels and adds them up; yours averages them.",
                    ),
                    (
                        np.maximum(ref, 0),
                        "no ReLU: a CAM keeps its negative values (evidence against the class).",
                    ),
                ),
                atol=1e-4,
            )
        require_no_loops(fn, label, "one einsum (or a gather and a multiply-sum)")
        return len(items) + 1

    run(label, cases)


def check_logit_parts(fn) -> None:
    """Check ``logit_parts(cam, bias, mask)``: how much of a class logit comes from a region.

    ``cam`` ``(N, H, W)`` are one class's maps, ``bias`` ``(N,)`` that class's bias per
    image, ``mask`` ``(H, W)`` booleans. Returns ``(N, 2)``: the parts of the logit
    from the positions inside and outside the mask, so that
    ``inside + outside + bias`` is the logit (the CAM identity).

    >>> check_logit_parts(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ logit_parts: for ..., logit_parts returned None...
    """
    label = "logit_parts"

    def cases():
        rng = seeded_rng(14)
        top = np.zeros((7, 7), bool)
        top[:3] = True
        items = []
        for case, shape, mask in (
            ("random maps (2, 7, 7), mask: the top 3 rows", (2, 7, 7), top),
            ("maps with negative values (3, 5, 9), a random mask", (3, 5, 9), None),
            ("a mask that covers everything, maps (1, 4, 4)", (1, 4, 4), "all"),
        ):
            cam = rng.normal(size=shape).astype(np.float32)
            if mask is None:
                mask = rng.random(shape[1:]) < 0.3
            elif isinstance(mask, str):
                mask = np.ones(shape[1:], bool)
            bias = rng.normal(size=shape[0]).astype(np.float32)
            items.append((case, cam, bias, mask, None))
        model, images = tiny_gap_cnn()
        kernel, bias = reference.dense_head(model)
        classes = np.array([0, 2, 4])
        cam = reference.class_maps(reference.features(model, images), kernel, classes)
        logit = reference.logits(model, images)[np.arange(3), classes]
        mask = np.zeros(cam.shape[1:], bool)
        mask[1:3, 1:3] = True
        items.append(
            (
                "a tiny GAP CNN's maps (3, 4, 4), the centre 2x2 (parts + bias = its logit)",
                cam.astype(np.float32),
                bias[classes].astype(np.float32),
                mask,
                logit,
            )
        )
        for case, cam, bias, mask, logit in items:
            got = call(fn, label, case, cam, bias, mask)
            c64 = cam.astype(np.float64)
            hw = cam.shape[1] * cam.shape[2]
            inside = (c64 * mask).sum(axis=(1, 2)) / hw
            outside = (c64 * ~mask).sum(axis=(1, 2)) / hw
            ref = np.stack([inside, outside], axis=1)
            if logit is not None:  # the model's own logit, split in two
                ref = np.stack([inside, logit - bias - inside], axis=1)
            k_in = max(int(mask.sum()), 1)
            k_out = max(int((~mask).sum()), 1)
            region_means = np.stack(
                [(c64 * mask).sum(axis=(1, 2)) / k_in, (c64 * ~mask).sum(axis=(1, 2)) / k_out],
                axis=1,
            )
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="two numbers per image, [inside, outside]: shape (N, 2).",
                value_hint="check your two parts on the last case: with the bias they must "
                "add up to the logit (the CAM identity of lesson 2).",
                mistakes=(
                    (
                        region_means,
                        "that is the mean of M inside each region; the logit divides every "
                        "position by the same H * W, whatever region it is in.",
                    ),
                    (
                        np.stack([inside + bias, outside], axis=1),
                        "the bias belongs to neither region: parts + bias = logit.",
                    ),
                    (
                        np.stack([inside, np.zeros_like(inside)], axis=1),
                        "return the part from outside the mask as well: [inside, outside].",
                    ),
                    (np.stack([outside, inside], axis=1), "the part inside comes first."),
                    (
                        np.stack([inside, outside], axis=1) * hw,
                        "your parts add up to H * W times the logit's share of the map: the "
                        "pooling divides by the number of positions.",
                    ),
                ),
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


RAW_RANGES = ((-61.91, 85.16), (-12.97, 75.46))
"""Exercise 2's digit 2 and digit 9 (held-out digits 1 and 3 of the offline subset, the
``mnist_gap`` checkpoint): ``(min, max)`` of their label's raw CAM, as the notebook prints."""


def check_dark_region_question(fn) -> None:
    """Check the answer to exercise 2's question: two cells with the same darkest colour in
    their min-max normalized maps: how many times more evidence against its class one
    holds than the other (the maps' raw ranges are :data:`RAW_RANGES`).

    >>> check_dark_region_question(lambda: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ the darkest colour: your answer is None; it should be one number.
    """
    (two, two_max), (nine, nine_max) = RAW_RANGES
    check_number(
        "the darkest colour",
        fn,
        Number(
            two / nine,
            0.02,
            "the darkest colour of a normalized map is that map's own minimum; find both "
            "raw values behind it in the printed table.",
            mistakes=(
                (
                    nine / two,
                    "you divided the other way round: how many times MORE does "
                    "digit 2's darkest cell hold?",
                ),
                (
                    1.0,
                    "same colour, same evidence? The darkest colour is each map's own "
                    "minimum, whatever its raw value.",
                ),
                (abs(two - nine), "that is a difference; the question asks how many times."),
                (
                    two_max / nine_max,
                    "those are the maxima, evidence FOR the class; the darkest "
                    "colour sits at each map's minimum.",
                ),
            ),
        ),
    )
