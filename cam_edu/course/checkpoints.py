"""The lessons' trained networks, shipped as small weight files in ``data/``.

Each network has a recipe (architecture, data, seed, epochs) in :data:`RECIPES`.
``python scripts/train_checkpoints.py [NAME ...]`` trains it once with
:func:`train_checkpoint`, which writes ``data/<NAME>.weights.h5`` and records in
``data/checkpoints.json`` the seed, epochs, data and the test accuracy it reached.
A lesson calls :func:`load_checkpoint` to get the trained model in a second.

The MNIST networks are trained and measured on the offline MNIST subset (4,000 train,
1,000 test digits, :func:`cam_edu.course.data.load_mnist_offline`) with or without a
network, so a checkpoint states one accuracy on one data set; with a network,
:func:`cam_edu.course.models.mnist_gap_cnn` still trains on the full MNIST.

>>> sorted(RECIPES)
['beam', 'canvas_gap', 'canvas_gmp', 'mnist_flatten', 'mnist_gap']
>>> load_checkpoint("beam").get_layer("features").output.shape
(None, 8, 32, 32)
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from cam_edu.course.cantilever import make_dataset
from cam_edu.course.data import augment_digits, digits_on_canvas, load_mnist_offline
from cam_edu.course.models import (
    accuracy,
    build_beam_cnn,
    build_flatten_cnn,
    build_gap_cnn,
    train,
    write_atomically,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MANIFEST = "checkpoints.json"
CANVAS = 56
CANVAS_COPIES = 3  # moved copies of each training digit, besides the digit, for the canvases

Arrays = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Recipe:
    """How one checkpoint is built, trained and measured.

    Attributes:
        build: makes the untrained architecture (seeded).
        architecture: the call that ``build`` makes, as text for the manifest.
        train_data: returns the training images ``(N, H, W, 1)`` and labels ``(N,)``.
        test_data: returns the held-out images and labels the accuracy is measured on.
        train_text, test_text: what ``train_data`` and ``test_data`` are, in words.
        epochs, batch_size, learning_rate: of :func:`cam_edu.course.models.train`.
        cosine: decay the learning rate to 0 along a cosine over the run, or keep it constant.
        moved_copies: if not 0, every epoch trains on this many freshly moved copies of the
            training images (:class:`MovedImages`) instead of the images themselves.
        seed: seeds the initialization, the shuffling, the moves and the training.
    """

    build: Callable[[], keras.Model]
    architecture: str
    train_data: Callable[[], Arrays]
    test_data: Callable[[], Arrays]
    train_text: str
    test_text: str
    epochs: int
    batch_size: int = 64
    learning_rate: float = 3e-3
    cosine: bool = False
    moved_copies: int = 0
    seed: int = 0


class MovedImages(keras.utils.PyDataset):
    """Batches of freshly moved copies of ``x`` ``(N, H, W, 1)`` with labels ``y`` ``(N,)``.

    An epoch shows ``copies`` copies of every image, shuffled, each shifted and rotated
    at random by :func:`cam_edu.course.data.augment_digits`. The order and the moves of
    batch ``i`` of epoch ``e`` depend only on ``(seed, e, i)``, so training on it is
    as reproducible as training on arrays, and no epoch repeats another's images.

    >>> batches = MovedImages(np.ones((5, 28, 28, 1)), np.arange(5), 4, copies=2)
    >>> len(batches), batches[2][0].shape, batches[2][1].shape
    (3, (2, 28, 28, 1), (2,))
    """

    def __init__(self, x, y, batch_size: int, copies: int = 1, seed: int = 0):
        super().__init__()
        self.x, self.y = np.asarray(x, np.float32), np.asarray(y)
        self.batch_size, self.copies, self.seed = batch_size, copies, seed
        self.epoch = -1
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(self.copies * len(self.y) / self.batch_size)

    def __getitem__(self, i: int):
        rows = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        seed = int(np.random.default_rng([self.seed, self.epoch, i]).integers(2**31))
        return augment_digits(self.x[rows], copies=1, seed=seed), self.y[rows]

    def on_epoch_end(self) -> None:
        """Start the next epoch: a new order of the ``copies * N`` rows, new moves."""
        self.epoch += 1
        rows = np.tile(np.arange(len(self.y)), self.copies)
        self.order = np.random.default_rng([self.seed, self.epoch]).permutation(rows)


def _digits(split: str, copies: int = 0) -> Arrays:
    """The offline MNIST subset's ``"train"`` digits and ``copies`` moved copies, or ``"test"``."""
    data = load_mnist_offline(verbose=False)
    if split == "test":
        return data.x_test, data.y_test
    if not copies:
        return data.x_train, data.y_train
    moved = augment_digits(data.x_train, copies, seed=0)
    return np.concatenate([data.x_train, moved]), np.tile(data.y_train, copies + 1)


def _canvases(split: str) -> Arrays:
    """Lesson 06's canvases: the test digits with seed 1; training: all moved digits, seed 0."""
    x, y = _digits(split, CANVAS_COPIES)
    canvases = digits_on_canvas(x, y, canvas_size=CANVAS, seed=1 if split == "test" else 0)
    return canvases.x, canvases.y


def _beams(split: str) -> Arrays:
    """Lesson 04's simulated beams: 3,000 for training (seed 1), 800 for testing (seed 2)."""
    n, seed = (800, 2) if split == "test" else (3000, 1)
    data = make_dataset(n, seed=seed, progress=False)
    return data.images, data.labels


_MOVES = "shifts up to 10 %, rotations up to 14.4 degrees"


def _moved_text(copies: int) -> str:
    return (
        "offline MNIST subset (load_mnist_offline(seed=0)), the 4,000 training digits: each "
        f"epoch {copies} freshly moved copies of each (MovedImages(copies={copies}), "
        f"augment_digits: {_MOVES})"
    )


_MNIST_TEST = "the 1,000 held-out test digits of the offline MNIST subset"
_CANVAS_TRAIN = (
    "offline MNIST subset (load_mnist_offline(seed=0)): the 4,000 training digits and "
    f"{CANVAS_COPIES} moved copies of each (augment_digits(copies={CANVAS_COPIES}, seed=0): "
    f"{_MOVES}), each on a {CANVAS}x{CANVAS} canvas (digits_on_canvas(seed=0))"
)
_CANVAS_TEST = (
    f"{_MNIST_TEST} on a {CANVAS}x{CANVAS} canvas (digits_on_canvas(seed=1)), as in lesson 06"
)


def _canvas_recipe(pooling: str, epochs: int) -> Recipe:
    return Recipe(
        build=lambda: build_gap_cnn(
            input_shape=(CANVAS, CANVAS, 1), pooling=pooling, seed=0, name=f"{pooling}_net"
        ),
        architecture=(
            f"build_gap_cnn(input_shape=({CANVAS}, {CANVAS}, 1), pooling={pooling!r}, "
            f"name='{pooling}_net')"
        ),
        train_data=lambda: _canvases("train"),
        test_data=lambda: _canvases("test"),
        train_text=_CANVAS_TRAIN,
        test_text=_CANVAS_TEST,
        epochs=epochs,
        cosine=True,
    )


RECIPES: dict[str, Recipe] = {
    "mnist_gap": Recipe(
        build=lambda: build_gap_cnn(filters=(32, 64, 128)),
        architecture="build_gap_cnn(filters=(32, 64, 128))",
        train_data=lambda: _digits("train"),
        test_data=lambda: _digits("test"),
        train_text=_moved_text(5),
        test_text=_MNIST_TEST,
        epochs=20,
        cosine=True,
        moved_copies=5,
    ),
    "mnist_flatten": Recipe(
        build=build_flatten_cnn,
        architecture="build_flatten_cnn()",
        train_data=lambda: _digits("train"),
        test_data=lambda: _digits("test"),
        train_text=_moved_text(2),
        test_text=_MNIST_TEST,
        epochs=10,
        cosine=True,
        moved_copies=2,
    ),
    # GAP learns much more slowly than GMP on the mostly blank canvases (8 epochs each gave
    # 0.949 and 0.979): 12 and 3 epochs bring them within 1 point of each other, so that
    # lesson 06 compares the CAMs of two equally good classifiers
    "canvas_gap": _canvas_recipe("avg", epochs=12),
    "canvas_gmp": _canvas_recipe("max", epochs=3),
    "beam": Recipe(
        build=lambda: build_beam_cnn(filters=(8, 16, 32), seed=0),
        architecture="build_beam_cnn(filters=(8, 16, 32))",
        train_data=lambda: _beams("train"),
        test_data=lambda: _beams("test"),
        train_text="make_dataset(3000, seed=1): lesson 04's simulated beams, half faulty",
        test_text="make_dataset(800, seed=2): lesson 04's test beams",
        epochs=20,
        batch_size=32,
    ),
}


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"Unknown checkpoint {name!r}; the known ones are {sorted(RECIPES)}.")
    return RECIPES[name]


def _regenerate(name: str) -> str:
    return f"Regenerate it with `python scripts/train_checkpoints.py {name}`."


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(directory: Path | str | None = None) -> dict:
    """The manifest ``checkpoints.json``: per checkpoint name, how it was trained and its accuracy.

    Empty if there is none yet.
    """
    path = Path(directory or DATA_DIR) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def checkpoint_info(name: str, directory: Path | str | None = None) -> dict:
    """The manifest's entry of checkpoint ``name``: file, seed, epochs, data, test accuracy..."""
    _recipe(name)
    manifest = read_manifest(directory)
    if name not in manifest:
        raise FileNotFoundError(
            f"The checkpoint {name!r} is not in {Path(directory or DATA_DIR) / MANIFEST}. "
            + _regenerate(name)
        )
    return manifest[name]


def load_checkpoint(name: str, directory: Path | str | None = None) -> keras.Model:
    """The trained network ``name`` (one of :data:`RECIPES`), from its shipped weights.

    Builds the architecture of the recipe and loads ``<directory>/<name>.weights.h5``
    (default directory: the course's ``data/``) after checking it is the file the
    manifest describes (same SHA-256). The model is not compiled; ``predict``, CAM
    and Grad-CAM need no compiling.

    Raises:
        ValueError: an unknown name (the message lists the known ones), or a file that
            is damaged or not the one the manifest describes.
        FileNotFoundError: no weights file or no manifest entry.
    """
    recipe = _recipe(name)
    path = Path(directory or DATA_DIR) / f"{name}.weights.h5"
    if not path.exists():
        raise FileNotFoundError(
            f"The checkpoint {name!r} is missing: no file {path}. " + _regenerate(name)
        )
    info = checkpoint_info(name, directory)
    if _sha256(path) != info["sha256"]:
        raise ValueError(
            f"The checkpoint file {path} is damaged or was replaced: its SHA-256 differs from "
            f"the one in {MANIFEST}. " + _regenerate(name)
        )
    model = recipe.build()
    try:
        model.load_weights(path)
    except Exception as exc:
        raise ValueError(
            f"The checkpoint file {path} could not be loaded into {recipe.architecture} "
            f"({type(exc).__name__}). " + _regenerate(name)
        ) from exc
    return model


def measure_accuracy(name: str, model: keras.Model) -> tuple[int, int]:
    """``(correct, total)``: how many of the recipe's test images ``model`` classifies right."""
    x, y = _recipe(name).test_data()
    return round(accuracy(model, x, y) * len(y)), len(y)


def train_checkpoint(name: str, directory: Path | str | None = None) -> dict:
    """Train checkpoint ``name`` by its recipe, save its weights and its manifest entry.

    Writes ``<directory>/<name>.weights.h5`` and updates ``<directory>/checkpoints.json``
    (default directory: the course's ``data/``). Prints nothing.

    Returns:
        the manifest entry: file, architecture, seed, epochs, data, training seconds,
        test accuracy (``test_correct`` of ``test_size``) and the file's SHA-256.
    """
    recipe = _recipe(name)
    directory = Path(directory or DATA_DIR)
    x, y = recipe.train_data()
    size = len(y) * max(recipe.moved_copies, 1)  # images per epoch
    if recipe.moved_copies:
        x, y = MovedImages(x, y, recipe.batch_size, recipe.moved_copies, recipe.seed), None
    model = recipe.build()
    steps = recipe.epochs * math.ceil(size / recipe.batch_size)
    rate = (
        keras.optimizers.schedules.CosineDecay(recipe.learning_rate, steps)
        if recipe.cosine
        else recipe.learning_rate
    )
    start = time.perf_counter()
    train(model, x, y, recipe.epochs, recipe.batch_size, recipe.seed, learning_rate=rate, verbose=0)
    seconds = time.perf_counter() - start
    correct, total = measure_accuracy(name, model)
    path = directory / f"{name}.weights.h5"
    shipped = recipe.build()  # not compiled: its file holds no optimizer state (1/3 the size)
    shipped.set_weights(model.get_weights())
    write_atomically(path, shipped.save_weights, suffix=".weights.h5")
    entry = {
        "file": path.name,
        "architecture": recipe.architecture,
        "seed": recipe.seed,
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "learning_rate": f"Adam, {recipe.learning_rate:g}, "
        + ("cosine-decayed to 0" if recipe.cosine else "constant"),
        "train_data": recipe.train_text,
        "train_size": size,
        "test_data": recipe.test_text,
        "test_size": total,
        "test_correct": correct,
        "test_accuracy": round(correct / total, 4),
        "training_seconds": round(seconds),
        "sha256": _sha256(path),
    }
    manifest = {**read_manifest(directory), name: entry}
    text = json.dumps(dict(sorted(manifest.items())), indent=2) + "\n"
    write_atomically(directory / MANIFEST, lambda tmp: Path(tmp).write_text(text), suffix=".json")
    return entry
