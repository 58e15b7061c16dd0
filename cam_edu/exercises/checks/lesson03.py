"""Self-checks of lesson 3: finding a shortcut with CAM.

>>> check_shortcut_diagnosis(lambda: ("luck", 0.5))
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ the diagnosis: your choice is 'luck'; it should be one of...
"""

from __future__ import annotations

import functools

import numpy as np

from cam_edu.exercises.checks import reference
from cam_edu.exercises.checks.harness import call, compare, run, seeded_rng
from cam_edu.exercises.checks.questions import Number, check_choice_and_number

# --------------------------------------------------------------------------- a shortcut to find

SHORTCUT_CLASSES = (4, 9)
"""The digits of the shortcut task: class 0 is a 4, class 1 a 9."""

MARKER_BOX = (1, 1, 5, 5)
"""``(y0, x0, y1, x1)``, ends exclusive: the white square painted on every training 9."""

CELL = 4
"""Pixels per side of one cell of the shortcut network's 7 x 7 CAM (28 x 28 inputs)."""

MARKER_CELLS = tuple(v // CELL for v in MARKER_BOX[:2]) + tuple(
    -(-v // CELL) for v in MARKER_BOX[2:]
)
"""The CAM cells the marker's pixels fall in: ``(0, 0, 2, 2)``."""

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

    >>> check_evidence_in_box(lambda *args: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ evidence_in_box: for ..., evidence_in_box returned None...
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
            with np.errstate(divide="ignore", invalid="ignore"):
                raw = c64[:, y0:y1, x0:x1].sum(axis=(1, 2)) / c64.sum(axis=(1, 2))
                magnitude = np.abs(c64[:, y0:y1, x0:x1]).sum(axis=(1, 2)) / np.abs(c64).sum(
                    axis=(1, 2)
                )
                no_guard = _evidence_in_box(cams, box)
                no_guard[np.maximum(c64, 0).sum(axis=(1, 2)) == 0] = np.nan
            compare(
                got,
                _evidence_in_box(cams, box),
                label,
                case,
                shape_hint="one share per map: shape (N,).",
                value_hint="work the case out by hand on a small map (the case with 3 of 4 "
                "units in one cell is one): which values count, and which cells are in "
                "the box?",
                mistakes=(
                    (
                        raw,
                        "count only the positive evidence (ReLU(M)): negative values speak "
                        "against the class and would let the share leave [0, 1].",
                    ),
                    (
                        magnitude,
                        "the absolute value counts evidence against the class as if it were "
                        "for it; only the positive part is evidence for the class.",
                    ),
                    (
                        _evidence_in_box(cams, (y0, x0, y1 + 1, x1 + 1)),
                        "the ends of the box are exclusive, as in a Python slice.",
                    ),
                    (
                        _evidence_in_box(cams, (x0, y0, x1, y1)),
                        "rows first: the box is (y0, x0, y1, x1).",
                    ),
                    (
                        no_guard,
                        "a map with no positive value has no evidence to share: the task "
                        "asks for 0 there, not 0 / 0.",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    run(label, cases)


def _class_one_maps(model, images) -> np.ndarray:
    kernel, _ = reference.dense_head(model)
    f = reference.features(model, images)
    return reference.class_maps(f, kernel, np.ones(len(images), int))


@functools.lru_cache(maxsize=1)
def _nines_cases():
    """The test 9s, and five of them whose shares' mean and median differ by 0.02."""
    model = shortcut_model()
    x, y = shortcut_data("test")
    nines = x[y == 1]
    shares = _evidence_in_box(_class_one_maps(model, nines), MARKER_CELLS)
    order = np.argsort(shares)
    pick = np.sort(order[[0, 1, len(order) // 2, len(order) // 2 + 1, -1]])
    return (
        (f"the {len(nines)} test 9s", nines),
        (f"five test 9s (numbers {', '.join(map(str, pick))} among the 9s)", nines[pick]),
    )


def check_marker_share(fn) -> None:
    """Check ``marker_share(model, images)`` -> the median, over the images, of the share of
    their class-1 (a 9) evidence that lies in the marker's cells :data:`MARKER_CELLS`, at
    the CAM's own 7 x 7 resolution.

    >>> check_marker_share(marker_share)  # doctest: +SKIP
    ✓ marker_share: all 2 cases agree with cam_edu.
    """
    label = "marker_share"

    def cases():
        model = shortcut_model()
        y0, x0, y1, x1 = MARKER_CELLS
        for case, images in _nines_cases():
            got = call(fn, label, case, model, images)
            maps = _class_one_maps(model, images)
            shares = _evidence_in_box(maps, MARKER_CELLS)
            fours = reference.class_maps(
                reference.features(model, images),
                reference.dense_head(model)[0],
                np.zeros(len(images), int),
            )
            compare(
                got,
                np.median(shares),
                label,
                case,
                shape_hint="one number: the median over the images.",
                value_hint="print the shares of a few images and check each step: which "
                "class's map, at which resolution, which cells, and which statistic?",
                mistakes=(
                    (
                        shares.mean(),
                        "that is the mean of the shares; the task asks for the median, which "
                        "a few odd maps cannot pull.",
                    ),
                    (
                        np.median(_evidence_in_box(maps, MARKER_BOX)),
                        "the box (1, 1, 5, 5) is in pixels; the maps have 7 x 7 cells of "
                        f"{CELL} x {CELL} pixels.",
                    ),
                    (
                        np.median(_evidence_in_box(fours, MARKER_CELLS)),
                        "that is the map of class 0 (a 4); the evidence for a 9 is in the "
                        "map of class 1.",
                    ),
                    (
                        (y1 - y0) * (x1 - x0) / maps[0].size,
                        "that is the share of an even spread: your function does not look "
                        "at the maps.",
                    ),
                ),
                atol=1e-4,
            )
        return 2

    run(label, cases)


def moved_marker(images, labels) -> np.ndarray:
    """The counterfactual test set: the marker removed from the 9s, painted on the 4s."""
    nine = (np.asarray(labels) == 1)[:, None, None, None]
    return np.where(nine, add_marker(images, on=False), add_marker(images))


def _predict(model, images) -> np.ndarray:
    return np.asarray(model(images, training=False)).argmax(axis=1)


@functools.lru_cache(maxsize=1)
def _counterfactual_cases():
    x, y = shortcut_data("test")
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:12]]
    return (
        (f"the {len(y)} test digits", x, y),
        (f"the {int((y == 0).sum())} test 4s and 12 of the 9s (unbalanced)", x[keep], y[keep]),
    )


def check_counterfactual_accuracy(fn) -> None:
    """Check ``counterfactual_accuracy(model, images, labels)`` -> the accuracy on the
    images with the marker moved: removed from every 9 and painted on every 4.

    >>> check_counterfactual_accuracy(counterfactual_accuracy)  # doctest: +SKIP
    ✓ counterfactual_accuracy: all 2 cases agree with cam_edu.
    """
    label = "counterfactual_accuracy"

    def cases():
        model = shortcut_model()
        for case, x, y in _counterfactual_cases():
            got = call(fn, label, case, model, x, y)
            predicted = _predict(model, moved_marker(x, y))
            right = predicted == y
            nine = (y == 1)[:, None, None, None]
            only_removed = _predict(model, np.where(nine, add_marker(x, on=False), x)) == y
            only_painted = _predict(model, np.where(nine, x, add_marker(x))) == y
            compare(
                got,
                right.mean(),
                label,
                case,
                shape_hint="one number: an accuracy.",
                value_hint="look at a few moved images (do the 9s lose the square, do the 4s "
                "get it?) and count the right predictions by hand for them.",
                mistakes=(
                    (
                        np.mean([right[y == c].mean() for c in (0, 1)]),
                        "that is the balanced accuracy (the mean of the two classes' "
                        "accuracies); the task asks for the accuracy over all the images.",
                    ),
                    (
                        (_predict(model, x) == y).mean(),
                        "that is the accuracy of the images as given: the marker did not move.",
                    ),
                    (only_removed.mean(), "your 4s do not carry the marker."),
                    (only_painted.mean(), "your 9s still carry their marker."),
                    ((predicted == 1 - y).mean(), "keep the true labels: a 9 is still a 9."),
                    (right[y == 1].mean(), "count the 4s too, not only the 9s."),
                    (right[y == 0].mean(), "count the 9s too, not only the 4s."),
                ),
                atol=1e-6,
            )
        return 2

    run(label, cases)


@functools.lru_cache(maxsize=1)
def _nines_kept():
    """Share of the test 9s still called a 9 with their marker removed, and of the 4s
    called a 4 with it painted on."""
    model = shortcut_model()
    x, y = shortcut_data("test")
    nines = (_predict(model, add_marker(x[y == 1], on=False)) == 1).mean()
    fours = (_predict(model, add_marker(x[y == 0])) == 0).mean()
    return float(nines), float(fours)


def check_shortcut_diagnosis(fn) -> None:
    """Check the answer to exercise 3's question: what the network looks at, backed by the
    share of the test 9s it still calls a 9 once their marker is removed.

    >>> check_shortcut_diagnosis(lambda: ("marker", "many"))
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ the diagnosis: your number is 'many'; it should be one number.
    """
    nines, fours = _nines_kept()
    check_choice_and_number(
        "the diagnosis",
        fn,
        {
            "digit": "a test accuracy says nothing about WHY; what does your number say "
            "about the 9s without their square?",
            "marker": "",
            "background": "the maps do light up the background, but the background did not "
            "change in your experiment: what changed, and what happened?",
            "both": "if the network used the digit as well, what share of the 9s would it "
            "still recognize without the square?",
        },
        "marker",
        Number(
            nines,
            0.005,
            "take the test 9s, remove their square, and count how many the network still "
            "calls a 9.",
            mistakes=(
                (
                    fours,
                    "that is the share of 4s still called a 4; the question asks about the 9s.",
                ),
                (1 - nines, "that is the share of 9s now called a 4."),
                (1.0, "that is with the square still there: remove it first."),
            ),
        ),
    )
