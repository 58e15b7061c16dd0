"""Self-checks of lesson 1: the CAM of a one-unit sigmoid head ([-M, M]).

>>> check_sigmoid_question(lambda: "raises")
✓ the negative region: all 1 cases agree with cam_edu.
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks.harness import call, compare, run

# --------------------------------------------------------------------------- one-unit sigmoid head


def tiny_sigmoid_gap_cnn():
    """The checks' tiny untrained GAP CNN with a one-unit sigmoid head (seed 5).

    Returns:
        ``(model, images)``: inputs ``(4, 16, 16, 1)``, features ``(4, 4, 4, 6)`` at
        layer ``"features"``, one output ``p = sigmoid(z)`` per image ``(4, 1)``.

    >>> model, images = tiny_sigmoid_gap_cnn()  # doctest: +SKIP
    """
    from cam_edu.course.models import build_gap_cnn
    from cam_edu.exercises.checks.harness import seeded_rng

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
    from cam_edu.cam import cam_head
    from cam_edu.exercises.checks.harness import seeded_rng

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
    head = cam_head(model)
    dense = model.get_layer("predictions")
    w, b = (np.asarray(v, np.float32) for v in dense.get_weights())
    f = head.feature_model(images, training=False).numpy()
    p = model(images, training=False).numpy()
    items.append(("a tiny untrained sigmoid GAP CNN, features (4, 4, 4, 6)", f, w, b, p))
    return items


def check_sigmoid_head_cams(fn) -> None:
    """Check ``sigmoid_head_cams(features, kernel, bias)``: ``(N, H, W, K)``, ``(K, 1)``,
    ``(1,)`` -> the two class maps ``(N, H, W, 2)`` of a one-unit sigmoid head.

    Class 1 (``p = sigmoid(z)``) has the map ``M = sum_k w_k f_k``; class 0
    (``1 - p = sigmoid(-z)``) has ``-M``. Compared with
    ``cam_edu.cam.class_activation_maps`` on the two-column kernel ``[-w, w]`` of
    :func:`cam_edu.cam.cam_head`.

    >>> check_sigmoid_head_cams(lambda f, w, b: np.einsum("nhwk,kc->nhwc", f, np.c_[-w, w]))
    ✓ sigmoid_head_cams: all 4 cases agree with cam_edu.
    """
    from cam_edu.cam import class_activation_maps

    label = "sigmoid_head_cams"

    def cases():
        items = _sigmoid_cases()
        for case, f, w, b, _ in items:
            got = call(fn, label, case, f, w, b)
            m = class_activation_maps(f, w)[..., 0].astype(np.float64)
            ref = np.stack([-m, m], axis=-1)
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="two maps per image, class 0 first: shape (N, H, W, 2).",
                value_hint="class 1's map is M = sum_k w_k f_k; class 0's map follows from "
                "1 - sigmoid(z) = sigmoid(-z).",
                mistakes=(
                    (
                        np.stack([1 - m, m], axis=-1),
                        "1 - p is a statement about probabilities; the map of class 0 comes "
                        "from its logit: 1 - sigmoid(z) = sigmoid(-z).",
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
                ),
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


def check_sigmoid_head_probabilities(fn) -> None:
    """Check ``sigmoid_head_probabilities(features, kernel, bias)`` -> ``(N, 2)``: ``[1 - p, p]``.

    Compared with the sigmoid of ``z = mean(M) + b`` and, on a tiny Keras model, with
    the model's own output.

    >>> def probs(f, w, b):
    ...     z = f.mean(axis=(1, 2)) @ w[:, 0] + b[0]
    ...     p = 1 / (1 + np.exp(-z))
    ...     return np.stack([1 - p, p], axis=1)
    >>> check_sigmoid_head_probabilities(probs)
    ✓ sigmoid_head_probabilities: all 4 cases agree with cam_edu.
    """
    label = "sigmoid_head_probabilities"

    def cases():
        items = _sigmoid_cases()
        for case, f, w, b, model_p in items:
            got = call(fn, label, case, f, w, b)
            z = f.astype(np.float64).mean(axis=(1, 2)) @ w[:, 0] + b[0]
            p = 1.0 / (1.0 + np.exp(-z)) if model_p is None else model_p[:, 0]
            two = np.stack([-z, z], axis=1)
            soft = np.exp(two) / np.exp(two).sum(axis=1, keepdims=True)
            p_no_bias = 1.0 / (1.0 + np.exp(-(z - b[0])))
            compare(
                got,
                np.stack([1 - p, p], axis=1),
                label,
                case + ("" if model_p is None else " (the model's own output)"),
                shape_hint="two probabilities per image, class 0 first: shape (N, 2).",
                value_hint="z = mean over the positions of M, plus b; p = sigmoid(z); "
                "return [1 - p, p].",
                mistakes=(
                    (
                        soft,
                        "a softmax over the two logits [-z, z] gives sigmoid(2 z), not the "
                        "model's sigmoid(z); apply the sigmoid to z.",
                    ),
                    (np.stack([p, 1 - p], axis=1), "class 0 (1 - p) comes first."),
                    (np.stack([1 - p_no_bias, p_no_bias], axis=1), "add the bias b to z."),
                ),
                atol=1e-5,
            )
        return len(items)

    run(label, cases)


def check_sigmoid_question(fn) -> None:
    """Check the answer to exercise 1's question: what a region where the class-1 map is
    strongly negative does to the probability of class 0.

    >>> check_sigmoid_question(lambda: "raises")
    ✓ the negative region: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_choice

    check_choice(
        "the negative region",
        fn,
        {
            "raises": "",
            "lowers": "write z = mean(M) + b and follow a negative value of M through "
            "1 - p = sigmoid(-z).",
            "nothing": "a negative value is not zero evidence: it moves mean(M), so it "
            "moves z and both probabilities.",
        },
        "raises",
    )
