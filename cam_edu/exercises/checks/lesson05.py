"""Self-checks of lesson 5: CAM out of a real, nested transfer-learning model, by hand.

The checks' model is :func:`tiny_transfer_model`: a ``keras.applications.MobileNetV2``
base (``weights=None``: random weights, nothing is downloaded) nested in a Sequential
model after a ``Rescaling`` layer, then GAP and a Dense head, as in transfer learning.

>>> check_cell_size_question(lambda: "big")
Traceback (most recent call last):
...
cam_edu...SelfCheckFailed: ✗ the size of a CAM cell: your answer is 'big'; it should be one number.
"""

from __future__ import annotations

import functools

import numpy as np

from cam_edu.exercises.checks import reference
from cam_edu.exercises.checks.harness import CheckFailed, call, compare, run, seeded_rng
from cam_edu.exercises.checks.questions import Number, check_number

INPUT_SIZE = 64


def tiny_transfer_model(num_classes: int = 3):
    """A transfer-learning model: Rescaling -> MobileNetV2 base (nested) -> GAP -> Dense.

    The base is ``keras.applications.MobileNetV2(weights=None, include_top=False,
    input_shape=(64, 64, 3), alpha=0.35)``: random weights (seed 3), its BatchNorm
    statistics set by one pass over 16 random images, its features ``(N, 2, 2, 1280)``.
    The Dense head has random weights and a random bias (seed 5). Inputs are
    ``(N, 64, 64, 3)`` pixels in ``[0, 255]``.

    Returns:
        ``(model, images)``: the model and 3 seeded random images ``(3, 64, 64, 3)``.

    >>> model, images = tiny_transfer_model()  # doctest: +SKIP
    """
    model, images = _transfer_model(num_classes)
    return model, images.copy()


@functools.lru_cache(maxsize=1)
def _transfer_model(num_classes: int):
    import keras

    keras.utils.set_random_seed(3)
    base = keras.applications.MobileNetV2(
        weights=None, include_top=False, input_shape=(INPUT_SIZE, INPUT_SIZE, 3), alpha=0.35
    )
    # Random weights and the default BatchNorm statistics (mean 0, variance 1) shrink the
    # signal to ~1e-9 by the last layer; one pass in training mode with momentum 0 sets each
    # BatchNorm's statistics to those of its input, as a trained base would have them.
    norms = [la for la in base.layers if isinstance(la, keras.layers.BatchNormalization)]
    calibration = seeded_rng(4).uniform(-1, 1, (16, INPUT_SIZE, INPUT_SIZE, 3)).astype("float32")
    for layer in norms:
        layer.momentum = 0.0
    base(calibration, training=True)
    for layer in norms:
        layer.momentum = 0.99
    model = keras.Sequential(
        [
            keras.Input((INPUT_SIZE, INPUT_SIZE, 3)),
            keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_minus1_1"),
            base,
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(num_classes, activation="softmax", name="predictions"),
        ],
        name="transfer",
    )
    head = model.layers[-1]  # a head that was trained would have a bias: give it one
    head.bias.assign(seeded_rng(5).normal(0.0, 0.5, num_classes).astype("float32"))
    images = (seeded_rng(3).random((3, INPUT_SIZE, INPUT_SIZE, 3)) * 255).astype(np.float32)
    return model, images


def _features(model, images) -> np.ndarray:
    """The feature maps the GAP layer reads: the model's layers before it, applied in order."""
    import keras

    x = images
    for layer in model.layers:
        if isinstance(layer, keras.layers.GlobalAveragePooling2D):
            return np.asarray(x, np.float64)
        x = layer(x, training=False)
    raise ValueError(f"{model.name} has no GlobalAveragePooling2D layer")


def check_feature_model(fn) -> None:
    """Check ``feature_model_of(model)``: a ``keras.Model`` from the model's input to the
    feature maps its GAP layer reads, ``(N, 2, 2, 1280)``, on :func:`tiny_transfer_model`.

    >>> check_feature_model(my_feature_model)  # doctest: +SKIP
    ✓ feature_model_of: all 1 cases agree with cam_edu.
    """
    import keras

    label = "feature_model_of"

    def cases():
        model, images = tiny_transfer_model()
        base = next(la for la in model.layers if isinstance(la, keras.Model))
        case = "the transfer model Rescaling -> MobileNetV2 -> GAP -> Dense"

        def features_of(got):
            if not isinstance(got, keras.Model):
                raise CheckFailed(
                    f"for {case}, {label} returned {type(got).__name__}; expected a keras.Model "
                    "(keras.Model(inputs, outputs))"
                )
            return got(images, training=False)

        features = call(fn, label, case, model, then=features_of)
        compare(
            features,
            _features(model, images),
            label,
            case,
            shape_hint="the feature maps are the 4-D tensor the GAP layer reads, "
            "(N, 2, 2, 1280) here, not the pooled vector (N, 1280) nor the predictions.",
            value_hint="list the layers your model runs, in order, and compare them with the "
            "layers the full model runs before its GAP.",
            mistakes=(
                (
                    base(images, training=False).numpy(),
                    "your feature model feeds the raw pixels to the base: the Rescaling layer "
                    "in front of it is missing.",
                ),
            ),
            rtol=1e-4,
            atol=1e-4,
        )
        return 1

    run(label, cases)


def check_transfer_cam(fn) -> None:
    """Check ``transfer_cam(model, feature_model, images, class_index)`` -> ``(N, h, w)``:
    one class per image.

    >>> check_transfer_cam(my_cam)  # doctest: +SKIP
    ✓ transfer_cam: all 2 cases agree with cam_edu.
    """
    import keras

    label = "transfer_cam"

    def cases():
        model, images = tiny_transfer_model()
        f = _features(model, images)
        inputs = keras.Input(images.shape[1:])
        x = inputs
        for layer in model.layers[:2]:
            x = layer(x)
        feature_model = keras.Model(inputs, x)
        kernel, bias = reference.dense_head(model)
        items = [("3 images, classes [0, 2, 1]", [0, 2, 1]), ("3 images, class 2", [2, 2, 2])]
        for case, classes in items:
            classes = np.array(classes)
            got = call(fn, label, case, model, feature_model, images, classes)
            ref = reference.class_maps(f, kernel, classes)
            lo = ref.min(axis=(1, 2), keepdims=True)
            span = np.ptp(ref, axis=(1, 2), keepdims=True)
            compare(
                got,
                ref,
                label,
                case,
                shape_hint="one map per image at the feature resolution: (N, 2, 2).",
                value_hint="check the CAM identity on your maps: the mean of each map plus "
                "its class's bias must be the model's logit for that class.",
                mistakes=(
                    (np.maximum(ref, 0), "the CAM is the raw weighted sum; do not apply ReLU."),
                    (
                        np.einsum("nhwk,k->nhw", f, kernel[:, classes].sum(axis=1)),
                        "each image uses ITS class's column of the kernel only.",
                    ),
                    (
                        ref + bias[classes][:, None, None],
                        "the bias is not part of the map (it does not depend on the position).",
                    ),
                    (
                        (ref - lo) / np.where(span > 0, span, 1),
                        "return the raw map, not normalized.",
                    ),
                    (
                        ref / f.shape[-1],
                        "a map weights the channels and adds them up; yours averages them.",
                    ),
                ),
                rtol=1e-3,
                atol=1e-4,
            )
        return len(items)

    run(label, cases)


def check_cell_size_question(fn) -> None:
    """Check the answer to exercise 5's question: how many input pixels wide one cell of
    the CAM is for a ``64 x 64`` input of :func:`tiny_transfer_model`.

    >>> check_cell_size_question(lambda: None)
    Traceback (most recent call last):
    ...
    cam_edu...SelfCheckFailed: ✗ the size of a CAM cell: your answer is None; it should be one n...
    """
    cells = 2
    check_number(
        "the size of a CAM cell",
        fn,
        Number(
            float(INPUT_SIZE // cells),
            0.5,
            "print the shape of the feature maps: how many cells cover the 64 pixels of one side?",
            mistakes=(
                (
                    cells,
                    "that is how many cells cover one side; the question asks how many "
                    "pixels one cell covers.",
                ),
                (INPUT_SIZE, "that is the whole side of the image."),
                (1280, "that is the number of channels of the feature maps."),
            ),
        ),
    )
