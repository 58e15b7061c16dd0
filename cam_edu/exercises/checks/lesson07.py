"""Self-checks of lesson 7: occlusion sensitivity by hand, and reading a deletion curve.

>>> check_deletion_question(lambda: "occlusion")
✓ the most faithful map: all 1 cases agree with cam_edu.
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng


def tiny_logits_model():
    """The checks' tiny untrained GAP CNN (4 classes, seed 19) without its softmax.

    Returns:
        ``(model, logits_fn, images)``: the Keras model, a function
        ``images (M, 12, 12, 1) -> logits (M, 4)``, and 2 seeded images ``(2, 12, 12, 1)``.

    >>> model, logits_fn, images = tiny_logits_model()  # doctest: +SKIP
    """
    from cam_edu.course.models import build_gap_cnn
    from cam_edu.layers import logits_model

    model = build_gap_cnn(
        num_classes=4, input_shape=(12, 12, 1), filters=(4, 6, 8), seed=19, name="tiny_occ"
    )
    scores = logits_model(model)

    def logits_fn(images):
        return scores(np.asarray(images, np.float32), training=False).numpy()

    images = seeded_rng(19).random((2, 12, 12, 1), dtype=np.float32)
    return model, logits_fn, images


def _starts(length: int, patch: int, stride: int) -> list[int]:
    starts = list(range(0, length - patch + 1, stride))
    return starts if starts[-1] == length - patch else [*starts, length - patch]


def _occlusion(logits_fn, image, c, patch, stride, last_edge=True, mean=True, sign=1.0):
    h, w = image.shape[:2]
    rows = _starts(h, patch, stride) if last_edge else list(range(0, h - patch + 1, stride))
    cols = _starts(w, patch, stride) if last_edge else list(range(0, w - patch + 1, stride))
    base = logits_fn(image[None])[0, c]
    total, covered = np.zeros((h, w)), np.zeros((h, w))
    for i in rows:
        for j in cols:
            x = image.copy()
            x[i : i + patch, j : j + patch] = 0.0
            total[i : i + patch, j : j + patch] += sign * (base - logits_fn(x[None])[0, c])
            covered[i : i + patch, j : j + patch] += 1
    return total / np.maximum(covered, 1) if mean else total


def check_occlusion(fn) -> None:
    """Check ``occlusion(logits_fn, image, class_index, patch, stride)`` -> ``(H, W)``.

    ``image`` is ``(H, W, ch)``; a black ``patch x patch`` square slides with step
    ``stride`` (plus one last row and column of positions touching the far edges); a
    pixel's value is the mean drop of the class logit over the patches that cover it.
    Compared with :func:`cam_edu.perturbation.occlusion_map` (baseline 0).

    >>> check_occlusion(my_occlusion)  # doctest: +SKIP
    ✓ occlusion: all 3 cases agree with cam_edu.
    """
    from cam_edu.perturbation import occlusion_map

    label = "occlusion"

    def cases():
        model, logits_fn, images = tiny_logits_model()
        items = [
            ("image 0, class 1, patch 4, stride 4 (tiles the 12x12 image)", 0, 1, 4, 4),
            ("image 1, class 3, patch 4, stride 2 (overlapping patches)", 1, 3, 4, 2),
            (
                "image 0, class 0, patch 5, stride 3 (the last patch must touch the edge)",
                0,
                0,
                5,
                3,
            ),
        ]
        for case, k, c, patch, stride in items:
            image = images[k]
            got = call(fn, label, case, logits_fn, image, c, patch, stride)
            ref, _ = occlusion_map(model, image[None], class_index=c, patch=patch, stride=stride)
            probs_fn = _softmax_of(logits_fn)
            compare(
                got,
                ref[0],
                label,
                case,
                shape_hint="one value per pixel of the image: (H, W), no channel axis.",
                value_hint="for each patch position: drop = logit(image) - logit(occluded "
                "image) for the class; add the drop to every pixel under the patch; "
                "divide by how many patches covered each pixel.",
                mistakes=(
                    (
                        _occlusion(logits_fn, image, c, patch, stride, last_edge=False),
                        "with this stride the patches miss the last rows or columns: add "
                        "one last position at H - patch (and W - patch).",
                    ),
                    (
                        _occlusion(logits_fn, image, c, patch, stride, mean=False),
                        "average the drops of the patches covering a pixel (divide by "
                        "the count), do not sum them.",
                    ),
                    (
                        _occlusion(logits_fn, image, c, patch, stride, sign=-1.0),
                        "the drop is logit(original) - logit(occluded): positive where "
                        "hiding the pixels lowers the score.",
                    ),
                    (
                        _occlusion(probs_fn, image, c, patch, stride),
                        "use the logits (logits_fn), not probabilities: a softmax "
                        "saturates and couples the classes.",
                    ),
                ),
                rtol=1e-4,
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


def _softmax_of(logits_fn):
    def probs(images):
        z = logits_fn(images)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return probs


def check_deletion_question(fn) -> None:
    """Check the answer to exercise 7's question: which map the deletion curves in the
    notebook rank as the most faithful.

    >>> check_deletion_question(lambda: "occlusion")
    ✓ the most faithful map: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_choice

    check_choice(
        "the most faithful map",
        fn,
        {
            "cam": "on a deletion curve, is a LARGE or a SMALL area better? Removing the "
            "truly important pixels first should make the probability fall fast.",
            "occlusion": "",
            "random": "a random order is the baseline every map must beat; compare its "
            "area with the others'.",
        },
        "occlusion",
    )
