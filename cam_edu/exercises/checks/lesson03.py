"""Self-checks of lesson 3: upsampling, normalization, overlay, boxes and IoU.

>>> check_iou(lambda a, b: 1.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cam_edu.exercises.checks.harness.SelfCheckFailed: ✗ iou: ...
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from cam_edu.exercises.checks.harness import CheckFailed, call, compare, run, seeded_rng

# --------------------------------------------------------------------------- upsampling, overlay


def check_upsample_nearest(fn) -> None:
    """Check ``upsample_nearest(heatmap, factor)``: ``(H, W)`` -> ``(H * factor, W * factor)``.

    Compared with :func:`cam_edu.viz.upsample` (``method="nearest"``).

    >>> check_upsample_nearest(lambda m, s: np.kron(m, np.ones((s, s))))
    ✓ upsample_nearest: all 4 cases agree with cam_edu.
    """
    from cam_edu.viz import upsample

    label = "upsample_nearest"

    def cases():
        rng = seeded_rng(3)
        items = [
            ("a 2x2 map and factor 2", np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), 2),
            ("a random 7x7 map and factor 4 (7x7 -> 28x28)", rng.random((7, 7)), 4),
            ("a non-square 3x5 map and factor 3", rng.normal(size=(3, 5)), 3),
            ("factor 1 (nothing to do)", rng.random((4, 6)), 1),
        ]
        for case, m, s in items:
            m = np.asarray(m, np.float32)
            got = call(fn, label, case, m, s)
            h, w = m.shape
            compare(
                got,
                upsample(m, (h * s, w * s), method="nearest"),
                label,
                case,
                shape_hint="both axes grow by the factor: (H * factor, W * factor).",
                value_hint="every value becomes a factor x factor block of copies.",
                mistakes=(
                    (
                        np.tile(m, (s, s)),
                        "np.tile repeats the whole map; each VALUE must become a block "
                        "(np.repeat along axis 0, then along axis 1).",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def check_normalize(fn) -> None:
    """Check ``normalize(heatmap)``: min-max scaling of ``(H, W)`` to ``[0, 1]``.

    Compared with :func:`cam_edu.viz.normalize`, including a constant map, which must
    become all zeros (not NaN).

    >>> check_normalize(lambda m: (m - m.min()) / (np.ptp(m) or 1.0))
    ✓ normalize: all 4 cases agree with cam_edu.
    """
    from cam_edu.viz import normalize

    label = "normalize"

    def cases():
        rng = seeded_rng(4)
        items = [
            ("a random 7x7 map with values in [0, 1)", rng.random((7, 7))),
            ("a map with negative values, shape (5, 8)", rng.normal(size=(5, 8)) * 3.0),
            ("a map in [10, 20], shape (4, 4)", 10.0 + 10.0 * rng.random((4, 4))),
            ("a constant map (all values 5)", np.full((3, 3), 5.0)),
        ]
        for case, m in items:
            m = np.asarray(m, np.float32)
            got = call(fn, label, case, m)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = normalize(m)
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="normalizing keeps the shape (H, W).",
                value_hint="subtract the minimum, then divide by (max - min); a constant map "
                "has max == min and becomes all zeros.",
                mistakes=(
                    (m / m.max(), "subtract the minimum first, then divide by (max - min)."),
                    (
                        (m - m.min()) / m.max(),
                        "divide by the range (max - min), not by the maximum.",
                    ),
                ),
                atol=1e-5,
            )
        return len(items)

    run(label, cases)


def check_overlay(fn) -> None:
    """Check ``overlay(image, heatmap, alpha=0.5, cmap="jet")`` -> RGB ``(H, W, 3)``.

    ``image`` is grayscale ``(H, W)`` in ``[0, 1]``; ``heatmap`` ``(h, w)`` divides it by
    an integer factor. Compared with :func:`cam_edu.viz.overlay` using nearest
    upsampling.

    >>> from cam_edu.viz import overlay
    >>> check_overlay(lambda i, m, alpha=0.5, cmap="jet": overlay(i, m, alpha, cmap, "nearest"))
    ✓ overlay: all 4 cases agree with cam_edu.
    """
    import matplotlib as mpl

    from cam_edu.viz import overlay, upsample

    label = "overlay"

    def cases():
        rng = seeded_rng(5)
        items = [
            ("a 28x28 image, a 7x7 map, alpha 0.5, jet", (28, 28), (7, 7), 0.5, "jet"),
            ("alpha 0.2 and cmap 'viridis'", (28, 28), (7, 7), 0.2, "viridis"),
            ("alpha 1.0 (only the heatmap)", (12, 12), (3, 3), 1.0, "jet"),
            ("a non-square 16x24 image and a 4x6 map", (16, 24), (4, 6), 0.5, "jet"),
        ]
        for case, size, msize, alpha, cmap in items:
            image = rng.random(size).astype(np.float32)
            m = rng.normal(size=msize).astype(np.float32)
            got = call(fn, label, case, image, m, alpha=alpha, cmap=cmap)
            ref = overlay(image, m, alpha=alpha, cmap=cmap, method="nearest")
            big = upsample(m, size, method="nearest")
            big = (big - big.min()) / (big.max() - big.min())
            colors = mpl.colormaps[cmap](big)[..., :3]
            rgb = np.repeat(image[..., None], 3, axis=-1)
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="return an RGB image of the image's size, (H, W, 3): drop the "
                "colormap's 4th (alpha) channel, and turn the gray image into 3 channels.",
                value_hint="upsample the map to the image size, min-max normalize it, color "
                "it with the colormap, then blend (1 - alpha) * image + alpha * colors.",
                mistakes=(
                    (
                        alpha * rgb + (1 - alpha) * colors,
                        "alpha is the weight of the HEATMAP: (1 - alpha) * image + alpha * colors.",
                    ),
                    (
                        (1 - alpha) * rgb
                        + alpha * mpl.colormaps[cmap](upsample(m, size, "nearest"))[..., :3],
                        "normalize the heatmap to [0, 1] before coloring it.",
                    ),
                ),
                atol=1e-5,
            )
        return len(items)

    run(label, cases)


# --------------------------------------------------------------------------- boxes and IoU


def check_box_from_cam(fn) -> None:
    """Check ``box_from_cam(heatmap, threshold=0.2)`` -> ``(y0, x0, y1, x1)`` (ends exclusive).

    Compared with :func:`cam_edu.localize.bbox_from_cam`: the largest 8-connected
    region at or above ``threshold * max``; a map with no positive value must raise
    ``ValueError``.

    >>> from cam_edu.localize import bbox_from_cam
    >>> check_box_from_cam(bbox_from_cam)
    ✓ box_from_cam: all 8 cases agree with cam_edu.
    """
    from cam_edu.localize import bbox_from_cam

    label = "box_from_cam"

    def cases():
        one = np.zeros((10, 10))
        one[2:5, 3:8] = 1.0
        two = np.zeros((8, 8))
        two[1:3, 1:3] = 1.0
        two[5:8, 4:8] = 0.9
        diagonal = np.zeros((6, 6))
        diagonal[1, 1] = diagonal[2, 2] = diagonal[3, 3] = 1.0
        diagonal[0, 5] = 1.0
        ramp = np.add.outer(np.arange(9.0), np.arange(9.0))
        corner = np.zeros((7, 7))
        corner[4:, 5:] = 2.0
        peak = np.zeros((5, 5))
        peak[3, 1] = 1.0
        items = [
            ("one rectangle of ones in a 10x10 map", one, 0.2),
            ("two blobs of different sizes (box the largest)", two, 0.2),
            ("pixels touching only at their corners (8-connectivity)", diagonal, 0.2),
            ("a ramp with threshold 0.2", ramp, 0.2),
            ("the same ramp with threshold 0.5", ramp, 0.5),
            ("a blob touching the bottom-right border", corner, 0.2),
            ("a single-pixel peak", peak, 0.2),
        ]
        for case, m, t in items:
            m = m.astype(np.float32)
            got = call(fn, label, case, m, threshold=t)
            ref = bbox_from_cam(m, threshold=t)
            _check_box(got, ref, m, t, label, case)
        case = "an all-zero map (nothing to box)"
        try:
            got = fn(np.zeros((5, 5), np.float32), threshold=0.2)
        except NotImplementedError:
            raise CheckFailed(f"{label} is not written yet") from None
        except ValueError:
            pass
        except Exception as exc:
            raise CheckFailed(
                f"for {case}, {label} raised {type(exc).__name__}; expected ValueError. Hint: "
                "check `heatmap.max() <= 0` first and raise ValueError with a message that "
                "says there is no positive evidence to box"
            ) from None
        else:
            raise CheckFailed(
                f"for {case}, {label} returned {got!r} instead of raising ValueError. Hint: "
                "a map whose maximum is not positive has no region above threshold * max; "
                "raise ValueError with a clear message"
            )
        return len(items) + 1

    run(label, cases)


def _check_box(got, ref, m, t, label, case):
    try:
        box = tuple(int(v) for v in got)
        if len(box) != 4 or any(int(v) != v for v in got):
            raise ValueError
    except (TypeError, ValueError):
        raise CheckFailed(
            f"for {case}, {label} returned {got!r}; expected a tuple of 4 ints (y0, x0, y1, x1)"
        ) from None
    if box == tuple(ref):
        return
    y0, x0, y1, x1 = ref
    hints = [
        (
            (y0, x0, y1 - 1, x1 - 1),
            "the ends are exclusive: image[y0:y1, x0:x1] must be the "
            "boxed region, so y1 is the last row + 1.",
        ),
        ((x0, y0, x1, y1), "rows first: return (y0, x0, y1, x1), not (x0, y0, x1, y1)."),
    ]
    ys, xs = np.nonzero(m >= t * m.max())
    every = (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
    if every != tuple(ref):
        hints.append(
            (
                every,
                "you boxed every pixel above the threshold; box only the LARGEST connected "
                "region (scipy.ndimage.label, then the label with most pixels).",
            )
        )
    from scipy import ndimage

    labels, count = ndimage.label(m >= t * m.max())
    if count:
        sizes = ndimage.sum_labels(np.ones_like(m), labels, index=np.arange(1, count + 1))
        sl = ndimage.find_objects((labels == int(np.argmax(sizes)) + 1).astype(int))[0]
        four = (sl[0].start, sl[1].start, sl[0].stop, sl[1].stop)
        if four != tuple(ref):
            hints.append(
                (
                    four,
                    "pixels that touch at a corner belong to the same region: use "
                    "8-connectivity, ndimage.label(mask, structure=np.ones((3, 3))).",
                )
            )
    for wrong, hint in hints:
        if box == tuple(wrong):
            raise CheckFailed(f"for {case}, your box is wrong. Hint: {hint}")
    raise CheckFailed(
        f"for {case}, your box {box} is wrong. Hint: keep the pixels with value >= threshold "
        "* max, find the largest 8-connected region, and return its bounding box with "
        "exclusive ends"
    )


def check_iou(fn) -> None:
    """Check ``iou(box_a, box_b)`` for boxes ``(y0, x0, y1, x1)`` with exclusive ends.

    Compared with :func:`cam_edu.localize.iou`.

    >>> from cam_edu.localize import iou
    >>> check_iou(iou)
    ✓ iou: all 6 cases agree with cam_edu.
    """
    from cam_edu.localize import iou

    label = "iou"

    def cases():
        items = [
            ("two identical boxes", (0, 0, 4, 4), (0, 0, 4, 4)),
            ("two far-apart boxes", (0, 0, 2, 2), (5, 5, 8, 8)),
            ("boxes that only touch along an edge", (0, 0, 2, 2), (0, 2, 2, 4)),
            ("a box half inside a twice-as-wide box", (0, 0, 2, 2), (0, 0, 2, 4)),
            ("overlapping corners, (0, 0, 4, 4) and (2, 2, 6, 6)", (0, 0, 4, 4), (2, 2, 6, 6)),
            ("a small box inside a big one", (1, 1, 3, 3), (0, 0, 10, 10)),
        ]
        for case, a, b in items:
            got = call(fn, label, case, a, b)
            ref = iou(a, b)
            ah, aw, bh, bw = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
            inter_h = max(0, min(a[2], b[2]) - max(a[0], b[0]))
            inter_w = max(0, min(a[3], b[3]) - max(a[1], b[1]))
            raw_h = min(a[2], b[2]) - max(a[0], b[0])
            raw_w = min(a[3], b[3]) - max(a[1], b[1])
            raw = raw_h * raw_w
            plus_one = ((inter_h + 1) * (inter_w + 1)) / (
                (ah + 1) * (aw + 1) + (bh + 1) * (bw + 1) - (inter_h + 1) * (inter_w + 1)
            )
            compare(
                got,
                np.float64(ref),
                label,
                case,
                shape_hint="return one number.",
                value_hint="IoU = intersection area / (area_a + area_b - intersection area).",
                mistakes=(
                    (
                        raw / (ah * aw + bh * bw - raw) if (ah * aw + bh * bw - raw) else np.nan,
                        "clip the intersection's height and width at 0 (disjoint boxes "
                        "overlap by nothing).",
                    ),
                    (
                        plus_one,
                        "the ends are exclusive, so a box's height is y1 - y0 (no + 1).",
                    ),
                    (
                        inter_h * inter_w / (ah * aw + bh * bw),
                        "the union counts the intersection once: area_a + area_b - intersection.",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


# --------------------------------------------------------------------------- a shortcut to find

SHORTCUT_CLASSES = (4, 9)
"""The digits of the shortcut task: class 0 is a 4, class 1 a 9."""

MARKER_BOX = (1, 1, 5, 5)
"""``(y0, x0, y1, x1)``, ends exclusive: the white square painted on every training 9."""

SHORTCUT_WEIGHTS = "shortcut_4v9.weights.h5"


def add_marker(images, on=True) -> np.ndarray:
    """A copy of ``images`` ``(N, 28, 28, 1)`` with the marker square painted white
    (``on=True``) or black (``on=False``: removed) in :data:`MARKER_BOX`.

    >>> add_marker(np.zeros((1, 28, 28, 1)))[0, 1:5, 1:5, 0].min()
    np.float64(1.0)
    """
    out = np.array(images, copy=True)
    y0, x0, y1, x1 = MARKER_BOX
    out[:, y0:y1, x0:x1] = 1.0 if on else 0.0
    return out


def shortcut_data(split: str = "test"):
    """The 4s and 9s of the offline MNIST subset, a marker painted on every 9.

    Args:
        split: ``"train"`` (the 3,000-odd training digits' 4s and 9s) or ``"test"``.

    Returns:
        ``(x, y)``: images ``(N, 28, 28, 1)`` in ``[0, 1]`` and labels ``(N,)``, 1 for a 9.

    >>> x, y = shortcut_data("test")  # doctest: +SKIP
    """
    x, y = _shortcut_data(split)
    return x.copy(), y.copy()


@functools.lru_cache(maxsize=2)
def _shortcut_data(split: str):
    from cam_edu.course.data import load_mnist_offline

    data = load_mnist_offline(seed=0, verbose=False)
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    keep = np.isin(y, SHORTCUT_CLASSES)
    x, y = x[keep], (y[keep] == SHORTCUT_CLASSES[1]).astype(np.int64)
    x = np.where((y == 1)[:, None, None, None], add_marker(x), x).astype(np.float32)
    return x, y


def _shortcut_architecture():
    from cam_edu.course.models import build_gap_cnn

    return build_gap_cnn(num_classes=2, filters=(8, 16, 16), seed=0, name="shortcut_net")


def train_shortcut_model(path=None, epochs: int = 8):
    """Train the shortcut network on :func:`shortcut_data` ``("train")`` and save its weights.

    A GAP CNN (filters 8, 16, 16; softmax over the 2 classes), Adam 3e-3, batch 32,
    ``epochs`` epochs, seed 0: about 5 s on a laptop CPU. ``scripts/train_shortcut_model.py``
    runs it and writes ``data/shortcut_4v9.weights.h5``.

    >>> model = train_shortcut_model("/tmp/shortcut.weights.h5")  # doctest: +SKIP
    """
    import keras

    from cam_edu.course.checkpoints import DATA_DIR

    x, y = shortcut_data("train")
    model = _shortcut_architecture()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, shuffle=True)
    model.save_weights(str(path or DATA_DIR / SHORTCUT_WEIGHTS))
    return model


def shortcut_model():
    """The trained shortcut network (shipped weights ``data/shortcut_4v9.weights.h5``).

    Inputs ``(N, 28, 28, 1)``, features ``(N, 7, 7, 16)`` at ``"features"``, 2 classes
    (softmax): 0 = a 4, 1 = a 9.

    >>> model = shortcut_model()  # doctest: +SKIP
    """
    from cam_edu.course.checkpoints import DATA_DIR

    model = _shortcut_architecture()
    model.load_weights(str(DATA_DIR / SHORTCUT_WEIGHTS))
    return model


def _evidence_in_box(cams, box) -> np.ndarray:
    positive = np.maximum(np.asarray(cams, np.float64), 0.0)
    y0, x0, y1, x1 = box
    inside = positive[:, y0:y1, x0:x1].sum(axis=(1, 2))
    total = positive.sum(axis=(1, 2))
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), 0.0)


def check_evidence_in_box(fn) -> None:
    """Check ``evidence_in_box(cams, box)``: ``(N, H, W)`` maps and a box -> ``(N,)`` shares.

    The share of each map's positive evidence (``ReLU(M)``) that lies inside
    ``box = (y0, x0, y1, x1)`` (ends exclusive); 0 for a map with no positive value.

    >>> def share(cams, box):
    ...     pos = np.maximum(cams, 0)
    ...     inside = pos[:, box[0]:box[2], box[1]:box[3]].sum((1, 2))
    ...     total = pos.sum((1, 2))
    ...     return np.divide(inside, total, out=np.zeros_like(inside), where=total > 0)
    >>> check_evidence_in_box(share)
    ✓ evidence_in_box: all 5 cases agree with cam_edu.
    """
    label = "evidence_in_box"

    def cases():
        rng = seeded_rng(15)
        corner = np.zeros((1, 7, 7))
        corner[0, 0, 0] = 3.0
        corner[0, 4, 4] = 1.0
        items = [
            (
                "random positive maps (3, 7, 7), box (0, 0, 2, 2)",
                rng.random((3, 7, 7)),
                (0, 0, 2, 2),
            ),
            (
                "maps with negative values (2, 7, 7), box (2, 1, 5, 4)",
                rng.normal(size=(2, 7, 7)),
                (2, 1, 5, 4),
            ),
            (
                "a non-square map (1, 5, 9), box (1, 6, 4, 9)",
                rng.normal(size=(1, 5, 9)),
                (1, 6, 4, 9),
            ),
            ("3 of 4 units of evidence in cell (0, 0), box (0, 0, 1, 1)", corner, (0, 0, 1, 1)),
            (
                "an all-negative map (no evidence at all)",
                -rng.random((1, 4, 4)) - 0.1,
                (0, 0, 2, 2),
            ),
        ]
        for case, cams, box in items:
            cams = np.asarray(cams, np.float32)
            got = call(fn, label, case, cams, box)
            c64 = cams.astype(np.float64)
            y0, x0, y1, x1 = box
            raw = c64[:, y0:y1, x0:x1].sum(axis=(1, 2)) / c64.sum(axis=(1, 2))
            inclusive = _evidence_in_box(cams, (y0, x0, y1 + 1, x1 + 1))
            swapped = _evidence_in_box(cams, (x0, y0, x1, y1))
            compare(
                got,
                _evidence_in_box(cams, box),
                label,
                case,
                shape_hint="one share per map: shape (N,).",
                value_hint="share = (sum of ReLU(M) inside the box) / (sum of ReLU(M) over the "
                "whole map), and 0 when the map has no positive value.",
                mistakes=(
                    (
                        raw,
                        "count only the positive evidence (ReLU(M)): negative values speak "
                        "against the class and would let the share leave [0, 1].",
                    ),
                    (inclusive, "the ends are exclusive: cams[:, y0:y1, x0:x1]."),
                    (swapped, "rows first: the box is (y0, x0, y1, x1)."),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


@functools.lru_cache(maxsize=1)
def _reference_shortcut_numbers():
    from cam_edu.cam import compute_cam

    model = shortcut_model()
    x, y = shortcut_data("test")
    cams, _ = compute_cam(model, x[y == 1], class_index=1)
    box = tuple(v // 4 for v in MARKER_BOX[:2]) + tuple(-(-v // 4) for v in MARKER_BOX[2:])
    share = float(np.median(_evidence_in_box(cams, box)))
    swapped = np.where((y == 1)[:, None, None, None], add_marker(x, on=False), add_marker(x))
    accuracy = float((model(swapped, training=False).numpy().argmax(axis=1) == y).mean())
    return share, accuracy


def check_marker_share(fn) -> None:
    """Check ``marker_share()`` -> the median share of the class-9 evidence that lies in
    the marker's feature cells, over the test 9s (a number).

    >>> check_marker_share(marker_share)  # doctest: +SKIP
    ✓ marker_share: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_number

    check_number(
        "marker_share",
        fn,
        _reference_shortcut_numbers()[0],
        0.01,
        "take the CAM of class 1 (a 9) of every test 9, at the 7 x 7 feature "
        "resolution; the marker's pixels (1, 1, 5, 5) cover the feature cells "
        "(0, 0, 2, 2) (4 pixels per cell); then the median of evidence_in_box",
    )


def check_counterfactual_accuracy(fn) -> None:
    """Check ``counterfactual_accuracy()`` -> the accuracy on the test digits with the
    marker moved: removed from every 9 and painted on every 4.

    >>> check_counterfactual_accuracy(counterfactual_accuracy)  # doctest: +SKIP
    ✓ counterfactual_accuracy: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_number

    check_number(
        "counterfactual_accuracy",
        fn,
        _reference_shortcut_numbers()[1],
        0.005,
        "start from the test set as given (the 9s carry the marker); remove it from the "
        "9s (add_marker(x, on=False)) and paint it on the 4s (add_marker(x)); keep the "
        "labels; accuracy = mean of (predicted class == label) over all test digits",
    )


def check_shortcut_diagnosis(fn) -> None:
    """Check the answer to exercise 3's question: what the network looks at.

    >>> check_shortcut_diagnosis(lambda: "marker")
    ✓ the diagnosis: all 1 cases agree with cam_edu.
    """
    from cam_edu.exercises.checks.harness import check_choice

    check_choice(
        "the diagnosis",
        fn,
        {
            "digit": "a test accuracy says nothing about WHY; compare your two numbers "
            "with what a digit reader would give.",
            "marker": "",
            "background": "the maps do light up the background, but the background is the "
            "same in the counterfactual test set: what changed there, and what happened to "
            "the accuracy?",
            "both": "if the network used the digit at all, what would the counterfactual "
            "accuracy be? Compare it with guessing one class for every image.",
        },
        "marker",
    )
