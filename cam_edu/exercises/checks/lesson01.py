"""Self-checks of lesson 1: the two class maps and probabilities of a one-unit sigmoid head.

>>> check_sigmoid_question(lambda: ("maybe", 0.5))
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ the negative region: your choice is 'maybe'; it should be one of 'r...
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks import reference
from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng
from cam_edu.exercises.checks.questions import Number, check_choice_and_number

# --------------------------------------------------------------------------- one-unit sigmoid head


def tiny_sigmoid_gap_cnn():
    """The checks' tiny untrained GAP CNN with a one-unit sigmoid head (seed 5).

    Returns:
        ``(model, images)``: inputs ``(4, 16, 16, 1)``, features ``(4, 4, 4, 6)`` at
        layer ``"features"``, one output ``p = sigmoid(z)`` per image ``(4, 1)``.

    >>> model, images = tiny_sigmoid_gap_cnn()  # doctest: +SKIP
    """
    from cam_edu.course.models import build_gap_cnn

    model = build_gap_cnn(
        num_classes=1,
        input_shape=(16, 16, 1),
        filters=(4, 6, 6),
        activation="sigmoid",
        seed=5,
        name="tiny_sigmoid",
    )
    images = seeded_rng(5).random((4, 16, 16, 1), dtype=np.float32)
    return model, images


def _sigmoid_cases():
    """``(case, features, kernel (K, 1), bias (1,), model output or None)``."""
    rng = seeded_rng(12)
    items = []
    for case, shape in (
        ("random features (2, 7, 7, 16), kernel (16, 1), bias (1,)", (2, 7, 7, 16)),
        ("non-square features (3, 5, 9, 4), kernel (4, 1), bias (1,)", (3, 5, 9, 4)),
        ("one channel, features (1, 4, 4, 1)", (1, 4, 4, 1)),
    ):
        f = rng.random(shape, dtype=np.float32)
        w = rng.normal(size=(shape[-1], 1)).astype(np.float32)
        b = rng.normal(size=(1,)).astype(np.float32)
        items.append((case, f, w, b, None))
    model, images = tiny_sigmoid_gap_cnn()
    w, b = (np.asarray(v, np.float32) for v in model.layers[-1].get_weights())
    f = reference.features(model, images).astype(np.float32)
    p = model(images, training=False).numpy()
    items.append(("a tiny untrained sigmoid GAP CNN, features (4, 4, 4, 6)", f, w, b, p))
    return items


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def check_sigmoid_head_cams(fn) -> None:
    """Check ``sigmoid_head_cams(features, kernel, bias)``: ``(N, H, W, K)``, ``(K, 1)``,
    ``(1,)`` -> the two class maps ``(N, H, W, 2)`` of a one-unit sigmoid head, class 0
    first (compared with maps of the same Keras model as well).

    >>> check_sigmoid_head_cams(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ sigmoid_head_cams: for ..., sigmoid_head_cams returned None...
    """
    label = "sigmoid_head_cams"

    def cases():
        items = _sigmoid_cases()
        for case, f, w, b, _ in items:
            got = call(fn, label, case, f, w, b)
            m = reference.class_maps(f, w, np.zeros(len(f), int))
            k, hw = f.shape[-1], f.shape[1] * f.shape[2]
            compare(
                got,
                np.stack([-m, m], axis=-1),
                label,
                case,
                shape_hint="two maps per image, class 0 first: shape (N, H, W, 2).",
                value_hint="look at one position of one image: which logit, z or another, "
                "does each class's probability come from, and what is each map then?",
                mistakes=(
                    (
                        np.stack([1 - m, m], axis=-1),
                        "1 - p is a statement about probabilities; a map lives on the scale "
                        "of the logit: which logit gives 1 - sigmoid(z)?",
                    ),
                    (
                        np.stack([m, -m], axis=-1),
                        "class 0 (the 'no' answer, 1 - p) comes first, class 1 second.",
                    ),
                    (
                        np.stack([np.zeros_like(m), m], axis=-1),
                        "class 0 has a map too: a single weight vector speaks for both "
                        "answers at once.",
                    ),
                    (
                        np.stack([-m - b[0], m + b[0]], axis=-1),
                        "the bias is not part of the map (it does not depend on the "
                        "position); leave it out.",
                    ),
                    (
                        np.maximum(np.stack([-m, m], axis=-1), 0),
                        "no ReLU: the sign of a CAM is the point of this exercise.",
                    ),
                    (
                        np.stack([-m, m], axis=-1) / k,
                        "a map weights the channels and adds them up; yours averages them.",
                    ),
                    (
                        np.stack([-m, m], axis=-1) / hw,
                        "the division by the number of positions belongs to the pooling "
                        "(the logit), not to the map.",
                    ),
                    (
                        np.stack([_sigmoid(-m), _sigmoid(m)], axis=-1),
                        "a map is not a probability: no sigmoid at each position.",
                    ),
                ),
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


def check_sigmoid_head_probabilities(fn) -> None:
    """Check ``sigmoid_head_probabilities(features, kernel, bias)`` -> ``(N, 2)``: ``[1 - p, p]``.

    Compared with the sigmoid of ``z = mean(M) + b`` and, on a tiny Keras model, with
    the model's own output.

    >>> check_sigmoid_head_probabilities(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ sigmoid_head_probabilities: for ..., sigmoid_head_proba...
    """
    label = "sigmoid_head_probabilities"

    def cases():
        items = _sigmoid_cases()
        for case, f, w, b, model_p in items:
            got = call(fn, label, case, f, w, b)
            m = reference.class_maps(f, w, np.zeros(len(f), int))
            z = m.mean(axis=(1, 2)) + b[0]
            p = _sigmoid(z) if model_p is None else model_p[:, 0]

            def pair(q):
                return np.stack([1 - q, q], axis=1)

            compare(
                got,
                pair(p),
                label,
                case + ("" if model_p is None else " (the model's own output)"),
                shape_hint="two probabilities per image, class 0 first: shape (N, 2).",
                value_hint="follow one image from its class-1 map to z (the CAM identity of "
                "lesson 2), then to p; which step differs from the model's?",
                mistakes=(
                    (
                        pair(_sigmoid(2 * z)),
                        "a softmax over the two logits [-z, z] gives sigmoid(2 z), not the "
                        "model's sigmoid(z).",
                    ),
                    (np.stack([p, 1 - p], axis=1), "class 0 (1 - p) comes first."),
                    (pair(_sigmoid(z - b[0])), "the bias is part of z: your z leaves it out."),
                    (
                        pair(_sigmoid(m.sum(axis=(1, 2)) + b[0])),
                        "the network pools by averaging over the positions; your z adds them up.",
                    ),
                    (
                        np.stack([-z, z], axis=1),
                        "those are the two logits; the question asks for probabilities.",
                    ),
                    (
                        pair(_sigmoid(m).mean(axis=(1, 2))),
                        "the sigmoid comes after the pooling: yours averages per-position "
                        "probabilities.",
                    ),
                ),
                atol=1e-5,
            )
        return len(items)

    run(label, cases)


REGION_LOGIT = 4 * -8.0 / 16
"""Exercise 1's question: a 4 x 4 class-1 map, 0 except 4 cells at -8, bias 0: z = -2."""


def check_sigmoid_question(fn) -> None:
    """Check the answer to exercise 1's question: what a region where the class-1 map is
    strongly negative does to the probability of class 0, backed by that probability in
    the question's example.

    >>> check_sigmoid_question(lambda: 0.5)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ the negative region: your answer is 0.5; return two things...
    """
    z = REGION_LOGIT
    check_choice_and_number(
        "the negative region",
        fn,
        {
            "raises": "",
            "lowers": "your number says where class 0's probability went from 0.5 (a map "
            "of zeros); does your choice agree with it?",
            "nothing": "a negative value is not zero evidence: it moves the pooled logit "
            "z, and z moves both probabilities.",
        },
        "raises",
        Number(
            float(_sigmoid(-z)),
            0.005,
            "write down z for this map first (the CAM identity of lesson 2), then the "
            "probability of class 0.",
            mistakes=(
                (float(_sigmoid(z)), "that is the probability of class 1, p = sigmoid(z)."),
                (0.5, "that is the probability with a map of zeros: the region moves z."),
                (
                    float(_sigmoid(8.0)),
                    "z pools the map over all of its 16 cells, not only over the region.",
                ),
            ),
        ),
    )
