"""Self-checks of lesson 3: finding a shortcut with CAM.

>>> check_shortcut_diagnosis(lambda: "marker")
✓ the diagnosis: all 1 cases agree with cam_edu.
"""

from __future__ import annotations

import functools

import numpy as np

from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng

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
