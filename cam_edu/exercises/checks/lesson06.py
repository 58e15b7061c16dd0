"""Self-checks of lesson 6: Grad-CAM weights, map, activations and gradients.

>>> check_gradcam_weights(lambda g: g.mean(axis=(1, 2)))
✓ gradcam_weights: all 6 cases agree with cam_edu.
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks.harness import (
    CheckFailed,
    call,
    compare,
    feature_cases,
    run,
    seeded_rng,
)

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


def check_gradcam_weights(fn) -> None:
    """Check ``gradcam_weights(grads)``: gradients ``(N, H, W, K)`` -> weights ``(N, K)``.

    ``alpha[n, k]`` is the mean over the positions of ``grads[n, :, :, k]``, as in
    :class:`cam_edu.gradcam.GradCAM`.

    >>> check_gradcam_weights(lambda g: g.mean(axis=(1, 2)))
    ✓ gradcam_weights: all 6 cases agree with cam_edu.
    """
    label = "gradcam_weights"

    def cases():
        items = feature_cases()
        for case, g in items:
            case = case.replace("features", "gradients").replace("feature map", "gradient map")
            got = call(fn, label, case, g)
            g64 = g.astype(np.float64)
            compare(
                got,
                _gradcam_reference_weights(g),
                label,
                case,
                shape_hint="one weight per image and channel: shape (N, K).",
                value_hint="alpha[n, k] = the mean over all positions (i, j) of grads[n, i, j, k].",
                mistakes=(
                    (g64.sum(axis=(1, 2)), "average the gradients (divide by Z = H * W)."),
                    (
                        np.broadcast_to(g64.mean(axis=(0, 1, 2)), (g.shape[0], g.shape[3])),
                        "do not average over the batch axis: every image keeps its own "
                        "weights (axes 1 and 2 only).",
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


def _gradcam_reference_weights(grads: np.ndarray) -> np.ndarray:
    from cam_edu.gradcam import GradCAM

    method = GradCAM.__new__(GradCAM)  # only the weighting rule, no model needed
    return method.channel_weights(np.zeros_like(grads), grads)


def check_gradcam_map(fn) -> None:
    """Check ``gradcam_map(activations, weights)``: ``(N, H, W, K)``, ``(N, K)`` -> ``(N, H, W)``.

    ``L[n] = ReLU(sum_k weights[n, k] * activations[n, ..., k])``, not normalized.

    >>> check_gradcam_map(lambda a, w: np.maximum(np.einsum("nhwk,nk->nhw", a, w), 0))
    ✓ gradcam_map: all 4 cases agree with cam_edu.
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
            compare(
                got,
                np.maximum(raw, 0.0),
                label,
                case,
                shape_hint="one map per image at the layer's resolution: (N, H, W). The "
                "weights are per image, so pair weights[n] with activations[n].",
                value_hint="L[n] = ReLU(sum over k of weights[n, k] * activations[n, :, :, k]).",
                mistakes=(
                    (raw, "apply ReLU: keep only the evidence FOR the class (np.maximum(., 0))."),
                    (
                        np.maximum(raw / shape[-1], 0.0),
                        "sum over the channels, do not average.",
                    ),
                ),
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


def check_activations_and_gradients(fn) -> None:
    """Check ``activations_and_gradients(cut, images, class_index)`` -> ``(A, grads)``.

    ``cut`` maps images to ``[A, logits]`` (:func:`cam_edu.layers.cut_model`);
    ``class_index`` holds one class per image ``(N,)``. ``grads[n]`` must be the
    gradient of image ``n``'s own class logit with respect to ``A[n]``, as in
    :meth:`cam_edu.gradcam.GradCAM.activations_and_gradients`. The model is a tiny
    untrained CNN with a Flatten -> Dense head (no GAP: Grad-CAM does not need one).

    >>> check_activations_and_gradients(my_function)  # doctest: +SKIP
    ✓ activations_and_gradients: all 3 cases agree with cam_edu.
    """
    from cam_edu.gradcam import GradCAM
    from cam_edu.layers import cut_model

    label = "activations_and_gradients"

    def cases():
        model, images = tiny_cnn_without_gap()
        cut = cut_model(model, "last_conv")
        reference = GradCAM(model, "last_conv")
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
            a_ref, g_ref, _, _ = reference.activations_and_gradients(x, classes)
            compare(
                got[0],
                a_ref,
                label + " (activations)",
                case,
                shape_hint="the activations are the first output of cut: (N, H, W, K).",
                value_hint="return the activations that cut(images) gives.",
            )
            batch_mean = g_ref / len(classes)
            compare(
                got[1],
                g_ref,
                label + " (gradients)",
                case,
                shape_hint="the gradients have the activations' shape (N, H, W, K): "
                "tape.gradient(target, activations).",
                value_hint="the target is each image's OWN class logit, summed over the batch: "
                "tf.reduce_sum(tf.gather(logits, class_index, axis=1, batch_dims=1)). Take "
                "the gradient of the logits (cut's 2nd output), not of softmax probabilities.",
                mistakes=(
                    (
                        batch_mean,
                        "sum the targets over the batch, do not average them: averaging "
                        "divides every image's gradient by N.",
                    ),
                ),
                rtol=1e-4,
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def check_grad_cam(gradcam_weights, gradcam_map, activations_and_gradients) -> None:
    """Check the three Grad-CAM pieces together against :func:`cam_edu.gradcam.grad_cam`.

    On a tiny untrained Flatten -> Dense CNN: gradients, then weights, then the map,
    for one class per image.

    >>> check_grad_cam(w_fn, map_fn, grads_fn)  # doctest: +SKIP
    ✓ Grad-CAM, end to end: all 2 cases agree with cam_edu.
    """
    from cam_edu.gradcam import grad_cam
    from cam_edu.layers import cut_model

    def cases():
        model, images = tiny_cnn_without_gap()
        cut = cut_model(model, "last_conv")
        items = [("3 images, classes [2, 0, 1]", [2, 0, 1]), ("3 images, class 1", [1, 1, 1])]
        for case, classes in items:
            classes = np.array(classes)
            pair = call(
                activations_and_gradients, "activations_and_gradients", case, cut, images, classes
            )
            weights = call(gradcam_weights, "gradcam_weights", case, np.asarray(pair[1]))
            maps = call(gradcam_map, "gradcam_map", case, np.asarray(pair[0]), np.asarray(weights))
            ref, _ = grad_cam(model, images, classes, layer="last_conv")
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


def check_gradcampp_weights(fn) -> None:
    """Check ``gradcampp_weights(activations, grads)``: ``(N, H, W, K)`` twice -> ``(N, K)``.

    Compared with :meth:`cam_edu.gradcam.GradCAMPlusPlus.channel_weights`:
    ``alpha = sum_ij a_ij ReLU(g_ij)`` with ``a = g^2 / (2 g^2 + sum_ab A_ab g^3)``, and
    ``a = 0`` where that denominator is 0.

    >>> from cam_edu.gradcam import GradCAMPlusPlus
    >>> check_gradcampp_weights(GradCAMPlusPlus.__new__(GradCAMPlusPlus).channel_weights)
    ✓ gradcampp_weights: all 5 cases agree with cam_edu.
    """
    from cam_edu.gradcam import GradCAMPlusPlus

    label = "gradcampp_weights"
    reference = GradCAMPlusPlus.__new__(GradCAMPlusPlus)  # only the weighting rule

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
            ref = reference.channel_weights(a64, g64)
            g2, g3 = g64**2, g64**3
            with np.errstate(divide="ignore", invalid="ignore"):
                local = np.nan_to_num(g2 / (2 * g2 + a64 * g3))
                no_two = np.nan_to_num(g2 / (g2 + a64.sum(axis=(1, 2), keepdims=True) * g3))
                coeff = np.nan_to_num(g2 / (2 * g2 + a64.sum(axis=(1, 2), keepdims=True) * g3))
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="one weight per image and channel: shape (N, K).",
                value_hint="a_ij = g^2 / (2 g^2 + (sum over ALL positions of A) * g^3), then "
                "alpha = sum over (i, j) of a_ij * ReLU(g_ij).",
                mistakes=(
                    (
                        (coeff * g64).sum(axis=(1, 2)),
                        "Grad-CAM++ sums only the POSITIVE gradients: ReLU(g).",
                    ),
                    (
                        (local * np.maximum(g64, 0)).sum(axis=(1, 2)),
                        "the third-order term has the SUM of the activation map over all "
                        "positions, sum_ab A_ab, not A at the same position.",
                    ),
                    (
                        (no_two * np.maximum(g64, 0)).sum(axis=(1, 2)),
                        "the second derivative term has a factor 2: 2 g^2.",
                    ),
                    (
                        (coeff * np.maximum(g64, 0)).mean(axis=(1, 2)),
                        "sum over the positions; the a_ij already do the weighting.",
                    ),
                ),
                rtol=1e-4,
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


# --------------------------------------------------------------------------- the sanity check


def check_mean_spearman(fn) -> None:
    """Check ``mean_spearman(maps_a, maps_b)``: two batches ``(N, H, W)`` -> one float, the
    mean over the images of the Spearman rank correlation of their two maps.

    Compared with :func:`cam_edu.randomization.rank_correlation` (maps without a ranking,
    constant ones, are left out; none left gives NaN).

    >>> from cam_edu.randomization import rank_correlation
    >>> check_mean_spearman(rank_correlation)
    ✓ mean_spearman: all 5 cases agree with cam_edu.
    """
    from scipy.stats import pearsonr, spearmanr

    from cam_edu.randomization import rank_correlation

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
            ("a map and a noisy increasing function of it", a, None),
            (
                "one of the maps is constant (all 0 after ReLU)",
                with_constant,
                rng.random((3, 5, 5)),
            ),
        ]
        for case, x, y in items:
            if y is None:
                y = np.exp(3 * x) + 0.3 * rng.random(x.shape)
            x, y = x.astype(np.float32), y.astype(np.float32)
            got = call(fn, label, case, x, y)
            ref = rank_correlation(x, y)
            keep = [i for i in range(len(x)) if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0]
            pearson = np.mean([pearsonr(x[i].ravel(), y[i].ravel()).statistic for i in keep])
            pooled = spearmanr(x.ravel(), y.ravel()).statistic
            compare(
                got,
                np.float64(ref),
                label,
                case,
                shape_hint="return one number.",
                value_hint="for each image, rank the positions of each map and correlate the "
                "ranks (scipy.stats.spearmanr); leave out images where a map is constant; "
                "return the mean.",
                mistakes=(
                    (
                        pearson,
                        "that is Pearson's correlation of the values; Spearman correlates "
                        "their RANKS, so any increasing transform gives 1.",
                    ),
                    (
                        pooled,
                        "one correlation per image, then the mean: do not pool all images' "
                        "positions into one ranking.",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def check_sanity_question(fn) -> None:
    """Check the answer to exercise 6b's question: which method fails the sanity check.

    >>> check_sanity_question(lambda: "edges")
    ✓ the sanity check: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_choice

    check_choice(
        "the sanity check",
        fn,
        {
            "gradcam": "a method passes when its maps CHANGE once the weights are random: "
            "which correlation stayed high?",
            "edges": "",
            "both": "look at the two correlations after randomization again: do they "
            "behave the same?",
            "neither": "a correlation near 1 after randomization means the maps did not "
            "depend on what the network learned.",
        },
        "edges",
    )


def check_gradcampp_question(fn) -> None:
    """Check the answer to exercise 6a's question: the Grad-CAM++ weight of a channel whose
    gradient is negative at every position.

    >>> check_gradcampp_question(lambda: "zero")
    ✓ a channel against the class: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_choice

    check_choice(
        "a channel against the class",
        fn,
        {
            "negative": "that is Grad-CAM's answer (the mean of the gradients); look at "
            "which gradients Grad-CAM++ adds up.",
            "zero": "",
            "positive": "can a sum of a_ij * ReLU(g_ij) be positive when every g_ij < 0?",
        },
        "zero",
    )
