"""Self-checks of lesson 7: occlusion sensitivity by hand, and reading a deletion curve.

>>> check_deletion_question(lambda: ("lime", 0.5))
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ the most faithful map: your choice is 'lime'; it should be one of...
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks import reference
from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng
from cam_edu.exercises.checks.questions import Number, check_choice_and_number


def tiny_logits_model():
    """The checks' tiny untrained GAP CNN (4 classes, seed 19) without its softmax.

    Returns:
        ``(model, logits_fn, images)``: the Keras model, a function
        ``images (M, 12, 12, 1) -> logits (M, 4)``, and 2 seeded images ``(2, 12, 12, 1)``.

    >>> model, logits_fn, images = tiny_logits_model()  # doctest: +SKIP
    """
    from cam_edu import logits_model
    from cam_edu.course.models import build_gap_cnn

    model = build_gap_cnn(
        num_classes=4, input_shape=(12, 12, 1), filters=(4, 6, 8), seed=19, name="tiny_occ"
    )
    scores = logits_model(model)

    def logits_fn(images):
        return scores(np.asarray(images, np.float32), training=False).numpy()

    images = seeded_rng(19).random((2, 12, 12, 1), dtype=np.float32)
    return model, logits_fn, images


def _softmax_of(logits_fn):
    def probs(images):
        z = logits_fn(images)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return probs


def check_occlusion(fn) -> None:
    """Check ``occlusion(logits_fn, image, class_index, patch, stride)`` -> ``(H, W)``.

    ``image`` is ``(H, W, ch)``; a black ``patch x patch`` square slides with step
    ``stride`` (plus one last row and column of positions touching the far edges); a
    pixel's value is the mean drop of the class logit over the patches that cover it.

    >>> check_occlusion(my_occlusion)  # doctest: +SKIP
    ✓ occlusion: all 3 cases agree with cam_edu.
    """
    label = "occlusion"

    def cases():
        _, logits_fn, images = tiny_logits_model()
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

            def variant(fn=logits_fn, image=image, c=c, patch=patch, stride=stride, **kw):
                return reference.occlusion(fn, image, c, patch, stride, **kw)

            missed = variant(last_edge=False)
            compare(
                got,
                variant(),
                label,
                case,
                shape_hint="one value per pixel of the image: (H, W), no channel axis.",
                value_hint="list your patch positions for this case and check them by hand, "
                "then follow one pixel: which patches cover it, and what do they add?",
                mistakes=(
                    (
                        missed,
                        "with this stride your patches never reach the last rows and columns "
                        "(their pixels come out as 0 / 0).",
                    ),
                    (
                        np.nan_to_num(missed),
                        "with this stride your patches never reach the last rows and columns "
                        "(their pixels stay 0).",
                    ),
                    (
                        variant(mean=False),
                        "average the drops of the patches covering a pixel, do not sum them.",
                    ),
                    (
                        variant(sign=-1.0),
                        "the drop is the score lost by hiding the pixels: positive where "
                        "hiding them lowers the class logit.",
                    ),
                    (
                        variant(fn=_softmax_of(logits_fn)),
                        "use the logits (logits_fn), not probabilities: a softmax "
                        "saturates and couples the classes.",
                    ),
                    (variant(fill=0.5), "the patch is black (0), not grey."),
                    (
                        variant(fill=float(image.mean())),
                        "the patch is black (0), not the image's mean.",
                    ),
                    (
                        variant(stride=patch),
                        "your patches step by their own size; the step is the stride.",
                    ),
                ),
                rtol=1e-4,
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


DELETION_AUC = {"cam": 0.2199, "occlusion": 0.1425, "random": 0.4189}
"""Exercise 7: the mean deletion AUC over held-out digits 0-15 of the three maps of the
``mnist_gap`` checkpoint (28 steps, removed pixels 0), as the solution notebook computes
them with ``cam_edu.curve_auc``."""


def check_deletion_question(fn) -> None:
    """Check the answer to exercise 7's question: which map the deletion curves rank as the
    most faithful, backed by that map's deletion AUC (:data:`DELETION_AUC`).

    >>> check_deletion_question(lambda: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ the most faithful map: your answer is None; return two things...
    """
    hint = (
        "compute the area under each digit's deletion curve of the map you chose, then the "
        "mean over the digits."
    )
    numbers = {
        method: Number(
            auc,
            0.002,
            hint,
            mistakes=tuple(
                (other, f"that is the area of the {name!r} map's curve, not of your choice's.")
                for name, other in DELETION_AUC.items()
                if name != method
            ),
        )
        for method, auc in DELETION_AUC.items()
    }
    check_choice_and_number(
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
        numbers,
    )
