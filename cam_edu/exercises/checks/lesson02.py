"""Self-checks of lesson 2: the CAM of each image's class, the logit split by region.

>>> check_dark_region_question(lambda: 61.91 / 12.97)
✓ the darkest colour: all 1 cases agree with cam_edu.
"""

from __future__ import annotations

import numpy as np

from cam_edu.exercises.checks.harness import call, compare, require_no_loops, run, seeded_rng

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
    gets the map of class ``class_index[n]``, as :func:`cam_edu.cam.class_activation_map_loop`.

    >>> check_cam_per_image(lambda f, w, c: np.einsum("nhwk,kn->nhw", f, w[:, c]))
    ✓ cam_per_image: all 4 cases agree with cam_edu.
    """
    from cam_edu.cam import class_activation_map_loop

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
            ref = class_activation_map_loop(f, w, classes).astype(np.float64)
            first = np.einsum("nhwk,k->nhw", f.astype(np.float64), w[:, classes[0]])
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="one map per image: shape (N, H, W). Pick the kernel columns "
                "w[:, class_index], shape (K, N), and pair column n with image n.",
                value_hint="map n = sum over k of w[k, class_index[n]] * f[n, :, :, k].",
                mistakes=(
                    (
                        first,
                        "every image has its OWN class: do not use class_index[0] for all.",
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

    >>> def parts(cam, bias, mask):
    ...     hw = cam.shape[1] * cam.shape[2]
    ...     return np.stack([(cam * mask).sum((1, 2)) / hw, (cam * ~mask).sum((1, 2)) / hw], 1)
    >>> check_logit_parts(parts)
    ✓ logit_parts: all 4 cases agree with cam_edu.
    """
    from cam_edu.cam import cam_head, class_activation_map_loop
    from cam_edu.layers import cut_model

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
        head = cam_head(model)
        f = head.feature_model(images, training=False).numpy()
        classes = np.array([0, 2, 4])
        cam = class_activation_map_loop(f, head.kernel, classes)
        _, logits = cut_model(model, head.feature_layer)(images, training=False)
        logit = logits.numpy()[np.arange(3), classes]
        mask = np.zeros(cam.shape[1:], bool)
        mask[1:3, 1:3] = True
        items.append(
            (
                "a tiny GAP CNN's maps (3, 4, 4), the centre 2x2 (parts + bias = its logit)",
                cam,
                head.bias[classes],
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
                value_hint="the logit is mean(M) + b = (sum of M over ALL positions) / (H W) "
                "+ b; split that sum into the positions inside and outside the mask.",
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
                ),
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


DARKEST_RATIO = 4.774
"""Exercise 2's digit 2 and digit 9 (held-out digits 1 and 3 of the offline subset, the
``mnist_gap`` checkpoint): the ratio of the raw minima of their label's CAMs, -61.91 / -12.97."""


def check_dark_region_question(fn) -> None:
    """Check the answer to exercise 2's question: two cells with the same darkest colour in
    their min-max normalized maps, and how many times more evidence against its class one
    holds than the other (the ratio of the two raw minima, :data:`DARKEST_RATIO`).

    >>> check_dark_region_question(lambda: 61.91 / 12.97)
    ✓ the darkest colour: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_number

    check_number(
        "the darkest colour",
        fn,
        DARKEST_RATIO,
        0.02,
        "the darkest colour of a normalized map is that map's own minimum; read both raw "
        "minima in the printed table and divide them",
    )
