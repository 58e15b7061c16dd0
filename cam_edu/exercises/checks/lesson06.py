"""Self-checks of lesson 6: Grad-CAM and Grad-CAM++ weights and maps, the sanity check.

>>> check_gradcam_weights(lambda g: g)
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ gradcam_weights: for ...(1, 1, 1, 1); expected (1, 1)...
"""

from __future__ import annotations

import warnings

import numpy as np

from cam_edu.exercises.checks import reference
from cam_edu.exercises.checks.harness import CheckFailed, call, compare, run, seeded_rng
from cam_edu.exercises.checks.questions import Number, check_choice_and_number

# --------------------------------------------------------------------------- Grad-CAM


def tiny_cnn_without_gap():
    """The checks' tiny untrained CNN with a Flatten -> Dense head (no GAP; seed 11).

    Returns:
        ``(model, images)``: inputs ``(3, 12, 12, 1)``, activations ``(3, 6, 6, 6)`` at
        layer ``"last_conv"``, 3 classes (softmax).

    >>> model, images = tiny_cnn_without_gap()  # doctest: +SKIP
    """
    import keras

    keras.utils.set_random_seed(11)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="last_conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax", name="predictions"),
        ],
        name="tiny_flatten",
    )
    images = seeded_rng(11).random((3, 12, 12, 1), dtype=np.float32)
    return model, images


def _gradient_cases():
    rng = seeded_rng(0)
    return [
        ("a single 1x1 gradient map, shape (1, 1, 1, 1)", np.full((1, 1, 1, 1), 3.0, np.float32)),
        ("random gradients of shape (2, 7, 7, 4)", rng.random((2, 7, 7, 4), dtype=np.float32)),
        (
            "non-square maps of shape (3, 5, 9, 2) with negative values",
            rng.normal(size=(3, 5, 9, 2)).astype(np.float32),
        ),
        ("one channel, shape (1, 4, 4, 1)", rng.random((1, 4, 4, 1), dtype=np.float32)),
        ("one image, shape (1, 6, 3, 5)", rng.normal(size=(1, 6, 3, 5)).astype(np.float32)),
        (
            "ResNet50-sized gradients, shape (1, 7, 7, 2048)",
            rng.random((1, 7, 7, 2048), dtype=np.float32),
        ),
    ]


def check_gradcam_weights(fn) -> None:
    """Check ``gradcam_weights(grads)``: gradients ``(N, H, W, K)`` -> weights ``(N, K)``,
    ``alpha[n, k]`` the mean over the positions of ``grads[n, :, :, k]``.

    >>> check_gradcam_weights(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ gradcam_weights: for ..., gradcam_weights returned None...
    """
    label = "gradcam_weights"

    def cases():
        items = _gradient_cases()
        for case, g in items:
            got = call(fn, label, case, g)
            g64 = g.astype(np.float64)
            compare(
                got,
                reference.grad_cam_weights(g),
                label,
                case,
                shape_hint="one weight per image and channel: shape (N, K).",
                value_hint="compare your weights with the definition of alpha at the top of "
                "the notebook on the 1x1 case first, then on a case with several positions.",
                mistakes=(
                    (g64.sum(axis=(1, 2)), "yours add the gradients up; alpha averages them."),
                    (
                        np.broadcast_to(g64.mean(axis=(0, 1, 2)), (g.shape[0], g.shape[3])),
                        "do not average over the batch axis: every image keeps its own weights.",
                    ),
                    (
                        np.maximum(g64, 0).mean(axis=(1, 2)),
                        "Grad-CAM averages the raw gradients; only Grad-CAM++ keeps the "
                        "positive ones.",
                    ),
                ),
            )
        return len(items)

    run(label, cases)


def check_gradcam_map(fn) -> None:
    """Check ``gradcam_map(activations, weights)``: ``(N, H, W, K)``, ``(N, K)`` -> ``(N, H, W)``.

    One map per image from its own weights, not normalized.

    >>> check_gradcam_map(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ gradcam_map: for ..., gradcam_map returned None...
    """
    label = "gradcam_map"

    def cases():
        rng = seeded_rng(6)
        items = [
            ("activations (2, 7, 7, 16) and weights (2, 16)", (2, 7, 7, 16)),
            ("non-square (3, 5, 9, 4) and weights (3, 4)", (3, 5, 9, 4)),
            ("one channel (1, 4, 4, 1)", (1, 4, 4, 1)),
            ("all-negative weights (the map must be all zeros)", (2, 3, 3, 5)),
        ]
        for i, (case, shape) in enumerate(items):
            a = rng.random(shape, dtype=np.float32)
            w = rng.normal(size=(shape[0], shape[-1])).astype(np.float32)
            if i == len(items) - 1:
                w = -np.abs(w) - 0.1
            got = call(fn, label, case, a, w)
            raw = np.einsum("nhwk,nk->nhw", a.astype(np.float64), w)
            ref = np.maximum(raw, 0.0)
            top = ref.max(axis=(1, 2), keepdims=True)
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="one map per image at the layer's resolution: (N, H, W). The "
                "weights are per image: image n's weights go with image n's activations.",
                value_hint="compare one position of one image with the formula of L at the "
                "top of the notebook: which axis is summed, and what happens to a negative "
                "sum?",
                mistakes=(
                    (raw, "apply ReLU: keep only the evidence FOR the class."),
                    (np.maximum(raw / shape[-1], 0.0), "sum over the channels, do not average."),
                    (
                        ref / np.where(top > 0, top, 1.0),
                        "no normalization here: return the map in its own units.",
                    ),
                ),
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


def check_activations_and_gradients(fn) -> None:
    """Check ``activations_and_gradients(cut, images, class_index)`` -> ``(A, grads)``.

    ``cut`` maps images to ``[A, logits]`` (``cam_edu.cut_model``); ``class_index``
    holds one class per image ``(N,)``. ``grads[n]`` must be the gradient of image
    ``n``'s own class logit with respect to ``A[n]``. The model is a tiny untrained CNN
    with a Flatten -> Dense head (no GAP: Grad-CAM does not need one).

    >>> check_activations_and_gradients(my_function)  # doctest: +SKIP
    ✓ activations_and_gradients: all 3 cases agree with cam_edu.
    """
    from cam_edu import cut_model

    label = "activations_and_gradients"

    def cases():
        model, images = tiny_cnn_without_gap()
        cut = cut_model(model, "last_conv")
        items = [
            ("3 images, each with a different class [0, 1, 2]", np.array([0, 1, 2])),
            ("3 images, all class 2", np.array([2, 2, 2])),
            ("1 image, class 1", np.array([1])),
        ]
        for case, classes in items:
            x = images[: len(classes)]
            got = call(fn, label, case, cut, x, classes)
            if not isinstance(got, tuple | list) or len(got) != 2:
                raise CheckFailed(
                    f"for {case}, {label} returned {type(got).__name__}; expected a pair "
                    "(activations, gradients)"
                )
            a_ref, g_ref = reference.activations_and_gradients(model, "last_conv", x, classes)
            compare(
                got[0],
                a_ref,
                label + " (activations)",
                case,
                shape_hint="the activations are the first output of cut: (N, H, W, K).",
                value_hint="return the activations that cut(images) gives.",
            )
            predicted = np.asarray(model(x, training=False)).argmax(axis=1)

            def wrong(classes=classes, target="logit", x=x):
                _, grads = reference.activations_and_gradients(
                    model, "last_conv", x, classes, target
                )
                return grads

            compare(
                got[1],
                g_ref,
                label + " (gradients)",
                case,
                shape_hint="the gradients have the activations' shape (N, H, W, K).",
                value_hint="run your function on one image alone and compare its gradients "
                "with those it gets in the batch: each image's gradient must come from its "
                "own class score, before the softmax.",
                mistakes=(
                    (
                        g_ref / len(classes),
                        "your gradients are divided by the number of images: the batch's "
                        "targets were averaged, not added up.",
                    ),
                    (
                        wrong(target="probability"),
                        "those are gradients of softmax probabilities, which saturate; take "
                        "the logits (cut's second output).",
                    ),
                    (
                        wrong(classes=predicted),
                        "those are the gradients of each image's predicted class; the task "
                        "gives the class of each image in class_index.",
                    ),
                    (
                        wrong(classes=np.full(len(classes), classes[0])),
                        "every image has its OWN class; yours uses the first image's class "
                        "for all of them.",
                    ),
                    (
                        wrong(target="all"),
                        "yours are the gradients of all the logits added up; take each "
                        "image's own class only.",
                    ),
                ),
                rtol=1e-4,
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def check_grad_cam(gradcam_weights, gradcam_map, activations_and_gradients) -> None:
    """Check the three Grad-CAM pieces together on a tiny untrained Flatten -> Dense CNN:
    gradients, then weights, then the map, for one class per image.

    >>> check_grad_cam(w_fn, map_fn, grads_fn)  # doctest: +SKIP
    ✓ Grad-CAM, end to end: all 2 cases agree with cam_edu.
    """
    from cam_edu import cut_model

    def cases():
        model, images = tiny_cnn_without_gap()
        cut = cut_model(model, "last_conv")
        items = [("3 images, classes [2, 0, 1]", [2, 0, 1]), ("3 images, class 1", [1, 1, 1])]
        for case, classes in items:
            classes = np.array(classes)
            pair = call(
                activations_and_gradients, "activations_and_gradients", case, cut, images, classes
            )
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise CheckFailed(
                    f"for {case}, activations_and_gradients returned {type(pair).__name__}; "
                    "expected a pair (activations, gradients)"
                )
            weights = call(gradcam_weights, "gradcam_weights", case, np.asarray(pair[1]))
            maps = call(gradcam_map, "gradcam_map", case, np.asarray(pair[0]), np.asarray(weights))
            a, g = reference.activations_and_gradients(model, "last_conv", images, classes)
            ref = np.maximum(np.einsum("nhwk,nk->nhw", a, reference.grad_cam_weights(g)), 0)
            compare(
                maps,
                ref,
                "Grad-CAM",
                case,
                shape_hint="maps of shape (N, H, W) at the layer's resolution.",
                value_hint="run each piece's own check above first; they must all pass.",
                rtol=1e-4,
                atol=1e-6,
            )
        return len(items)

    run("Grad-CAM, end to end", cases)


# --------------------------------------------------------------------------- Grad-CAM++

EPSILON = 1e-7
"""The ``+ 1e-7`` that pytorch-grad-cam adds to the Grad-CAM++ denominator: accepted."""


def _pp_variant(a, g, relu=True, local=False, two=2.0, guard=True, reduce="sum"):
    """Grad-CAM++ weights with one known mistake (the arguments say which)."""
    total = a if local else a.sum(axis=(1, 2), keepdims=True)
    denominator = two * g**2 + total * g**3
    with np.errstate(divide="ignore", invalid="ignore"):
        coefficient = g**2 / denominator
    if guard:
        coefficient = np.where(denominator != 0, coefficient, 0.0)
    terms = coefficient * (np.maximum(g, 0) if relu else g)
    return terms.sum(axis=(1, 2)) if reduce == "sum" else terms.mean(axis=(1, 2))


def check_gradcampp_weights(fn) -> None:
    """Check ``gradcampp_weights(activations, grads)``: ``(N, H, W, K)`` twice -> ``(N, K)``.

    The weights of Task 4 (Chattopadhay et al. 2018, for a network piecewise linear in
    the activations), 0 at a position whose denominator is 0; a ``+ 1e-7`` in the
    denominator (as pytorch-grad-cam writes it) is accepted.

    >>> check_gradcampp_weights(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ gradcampp_weights: for ..., gradcampp_weights returned None...
    """
    # The reference (reference.grad_cam_plus_plus_weights): alpha = sum_ij a_ij ReLU(g_ij),
    # a = g^2 / (2 g^2 + sum_ab A_ab g^3), 0 where that denominator is 0. Not in the
    # docstring: a student reads that with `check_gradcampp_weights?`, and Task 4 asks
    # them to derive it.
    label = "gradcampp_weights"

    def cases():
        rng = seeded_rng(17)
        zero_grads = rng.normal(size=(1, 4, 4, 3))
        zero_grads[0, :2] = 0.0
        items = [
            (
                "activations and gradients (2, 7, 7, 8)",
                rng.random((2, 7, 7, 8)),
                rng.normal(size=(2, 7, 7, 8)),
            ),
            ("non-square (3, 5, 9, 4)", rng.random((3, 5, 9, 4)), rng.normal(size=(3, 5, 9, 4))),
            (
                "constant gradients w / Z (a GAP network), (1, 4, 4, 6)",
                rng.random((1, 4, 4, 6)),
                np.broadcast_to(rng.normal(size=(1, 1, 1, 6)) / 16, (1, 4, 4, 6)).copy(),
            ),
            ("gradients that are 0 at half the positions", rng.random((1, 4, 4, 3)), zero_grads),
            (
                "all-negative gradients (every weight 0)",
                rng.random((2, 3, 3, 2)),
                -rng.random((2, 3, 3, 2)) - 0.1,
            ),
        ]
        for case, a, g in items:
            a, g = a.astype(np.float32), g.astype(np.float32)
            got = call(fn, label, case, a, g)
            a64, g64 = a.astype(np.float64), g.astype(np.float64)
            compare(
                got,
                reference.grad_cam_plus_plus_weights(a64, g64),
                label,
                case,
                shape_hint="one weight per image and channel: shape (N, K).",
                value_hint="derive a_k(i, j) again from the ratio of derivatives in Task 4 "
                "and check it at one position of the failing case by hand.",
                accept=(reference.grad_cam_plus_plus_weights(a64, g64, eps=EPSILON),),
                mistakes=(
                    (
                        _pp_variant(a64, g64, relu=False),
                        "your weights add up a_ij times the raw gradient, negative ones "
                        "included; Grad-CAM++ keeps only the positive gradients.",
                    ),
                    (
                        _pp_variant(a64, g64, local=True),
                        "the third-order term holds the activations of the whole channel, "
                        "summed over all positions, not A at the same position.",
                    ),
                    (
                        _pp_variant(a64, g64, two=1.0),
                        "count the second-derivative terms in the denominator again.",
                    ),
                    (
                        _pp_variant(a64, g64, reduce="mean"),
                        "your weights average over the positions; the a_ij already do the "
                        "weighting, alpha adds the terms up.",
                    ),
                    (
                        _pp_variant(a64, g64, guard=False),
                        "where the gradient is 0 the denominator is 0 too: the task sets "
                        "a = 0 there, not 0 / 0.",
                    ),
                    (
                        reference.grad_cam_weights(g64),
                        "that is Grad-CAM's weight, the mean gradient.",
                    ),
                ),
                rtol=1e-4,
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def gradcampp_demo() -> tuple[np.ndarray, np.ndarray]:
    """Exercise 6a's question: one image, one 2 x 2 channel whose gradient is negative at
    three positions and positive at one. Returns ``(activations, grads)``, ``(1, 2, 2, 1)``.

    >>> a, g = gradcampp_demo(); a[0, ..., 0], g[0, ..., 0]
    (array([[1., 2.],
           [0., 1.]]), array([[-0.3, -0.1],
           [-0.2,  0.4]]))
    """
    activations = np.array([[1.0, 2.0], [0.0, 1.0]]).reshape(1, 2, 2, 1)
    grads = np.array([[-0.3, -0.1], [-0.2, 0.4]]).reshape(1, 2, 2, 1)
    return activations, grads


def check_gradcampp_question(fn) -> None:
    """Check the answer to exercise 6a's question: the Grad-CAM++ weight of a channel whose
    gradient is negative at every position, backed by the Grad-CAM++ weight of
    :func:`gradcampp_demo`'s channel.

    >>> check_gradcampp_question(lambda: ("small", 0.5))
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ a channel against the class: your choice is 'small'; it should...
    """
    a, g = gradcampp_demo()
    check_choice_and_number(
        "a channel against the class",
        fn,
        {
            "negative": "that is Grad-CAM's answer (the mean of the gradients); which of the "
            "demo channel's four positions made up its Grad-CAM++ weight?",
            "zero": "",
            "positive": "which of the demo channel's positions added to its Grad-CAM++ "
            "weight, and what if that one were negative too?",
        },
        "zero",
        Number(
            float(reference.grad_cam_plus_plus_weights(a, g)[0, 0]),
            0.001,
            "run your gradcampp_weights (it passed its check) on the demo channel.",
            mistakes=(
                (float(g.mean()), "that is the demo channel's Grad-CAM weight."),
                (float(_pp_variant(a, g, relu=False)[0, 0]), "negative gradients count in yours."),
            ),
        ),
    )


# --------------------------------------------------------------------------- the sanity check


def _argsort_ranks(x):
    return np.argsort(np.argsort(x, axis=None)).reshape(x.shape).astype(np.float64)


def _per_image(maps_a, maps_b, measure, skip_constant=True):
    values = [
        measure(a.ravel(), b.ravel())
        for a, b in zip(maps_a, maps_b, strict=True)
        if not skip_constant or (np.ptp(a) > 0 and np.ptp(b) > 0)
    ]
    with np.errstate(invalid="ignore"):
        return float(np.mean(values)) if values else float("nan")


def _spearman_mistakes(x, y):
    """``(wrong result, hint)`` of the known wrong ways to compute :func:`mean_spearman`."""
    with warnings.catch_warnings():  # constant maps: scipy warns, the variants give NaN
        warnings.simplefilter("ignore")
        return _spearman_variants(x, y)


def _spearman_variants(x, y):
    from scipy.stats import kendalltau, spearmanr

    def pearson(a, b):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.corrcoef(a, b)[0, 1]

    def spearman(a, b):
        return spearmanr(a, b).statistic

    none_left = (
        ((0.0, "when no image has a ranking there is no correlation to average: NaN, not 0."),)
        if np.isnan(reference.mean_spearman(x, y))
        else ()
    )
    return none_left + (
        (
            _per_image(x, y, pearson),
            "that is Pearson's correlation of the values; Spearman correlates their ranks, "
            "so any increasing transform gives 1.",
        ),
        (
            _per_image(x, y, lambda a, b: pearson(_argsort_ranks(a), _argsort_ranks(b))),
            "ranks from argsort(argsort(...)) break ties by position: equal values (ReLU "
            "maps are full of zeros) get different ranks. Tied values share their average "
            "rank in Spearman's correlation.",
        ),
        (
            float(spearmanr(x.ravel(), y.ravel()).statistic),
            "one correlation per image, then the mean: do not pool all images' positions "
            "into one ranking.",
        ),
        (
            _per_image(x, y, spearman, skip_constant=False),
            "a constant map has no ranking (its correlation is NaN): leave such images out "
            "of the mean.",
        ),
        (
            _per_image(x, y, lambda a, b: np.nan_to_num(spearman(a, b)), skip_constant=False),
            "a constant map has no ranking: leave the image out rather than count it as 0.",
        ),
        (
            _per_image(x, y, lambda a, b: kendalltau(a, b).statistic),
            "that is Kendall's tau, another rank correlation; the sanity check uses Spearman's.",
        ),
    )


def check_mean_spearman(fn) -> None:
    """Check ``mean_spearman(maps_a, maps_b)``: two batches ``(N, H, W)`` -> one float, the
    mean over the images of the Spearman rank correlation of their two maps (ties share
    their average rank, as in ``scipy.stats.spearmanr``). Images where a map is constant
    are left out; none left gives NaN.

    >>> check_mean_spearman(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ mean_spearman: for ..., mean_spearman returned None...
    """
    label = "mean_spearman"

    def cases():
        rng = seeded_rng(18)
        a = rng.random((3, 7, 7))
        with_constant = rng.random((3, 5, 5))
        with_constant[1] = 0.0
        items = [
            ("a map and its cube (same ranking), (3, 7, 7)", a, a**3),
            ("a map and its negative", a, -a),
            ("independent random maps (4, 6, 6)", rng.random((4, 6, 6)), rng.random((4, 6, 6))),
            ("a map and a noisy increasing function of it", a, np.exp(3 * a) + 0.3 * a[::-1]),
            (
                "ReLU maps, half of their values 0 (ties), (3, 7, 7)",
                np.maximum(rng.normal(size=(3, 7, 7)), 0),
                np.maximum(rng.normal(size=(3, 7, 7)), 0),
            ),
            (
                "one of the maps is constant (all 0 after ReLU)",
                with_constant,
                rng.random((3, 5, 5)),
            ),
            ("every map constant (no ranking at all)", np.zeros((2, 4, 4)), rng.random((2, 4, 4))),
        ]
        for case, x, y in items:
            x, y = x.astype(np.float32), y.astype(np.float32)
            got = call(fn, label, case, x, y)
            x64, y64 = x.astype(np.float64), y.astype(np.float64)
            compare(
                got,
                np.float64(reference.mean_spearman(x64, y64)),
                label,
                case,
                shape_hint="return one number.",
                value_hint="compare your correlation for one image of the failing case with "
                "scipy.stats.spearmanr on the same two maps.",
                mistakes=_spearman_mistakes(x64, y64),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


GRADCAM_RANDOMIZED = 0.1097
"""Exercise 6b: the mean Spearman correlation of lesson 6's Grad-CAM maps (``conv2`` of
the ``mnist_flatten`` checkpoint, held-out digits 0-15) before and after all the weights
are randomized (seed 0), as the solution notebook computes it with ``mean_spearman``."""


def check_sanity_question(fn) -> None:
    """Check the answer to exercise 6b's question: which method fails the sanity check,
    backed by Grad-CAM's correlation after randomization (:data:`GRADCAM_RANDOMIZED`).

    >>> check_sanity_question(lambda: ("all", 0.5))
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ the sanity check: your choice is 'all'; it should be one of...
    """
    check_choice_and_number(
        "the sanity check",
        fn,
        {
            "gradcam": "a method passes when its maps CHANGE once the weights are random: "
            "compare the two correlations.",
            "edges": "",
            "both": "compare the two correlations after randomization: do they behave the same?",
            "neither": "a correlation near 1 after randomization means the maps did not "
            "depend on what the network learned.",
        },
        "edges",
        Number(
            GRADCAM_RANDOMIZED,
            0.005,
            "compare Grad-CAM's maps of the trained and of the randomized network with your "
            "mean_spearman.",
            mistakes=(
                (1.0, "that is the edge maps' correlation; the question asks for Grad-CAM's."),
            ),
        ),
    )
