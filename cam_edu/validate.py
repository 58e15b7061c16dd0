"""Input checks shared by every public function.

Each check raises an error that names the argument, says what was expected,
what was given, and what to do about it.

>>> import numpy as np
>>> as_features(np.zeros((1, 7, 7, 4))).shape
(1, 7, 7, 4)
"""

from __future__ import annotations

import inspect
import numbers
from pathlib import Path

import numpy as np

_PACKAGE = Path(__file__).resolve().parent


def _describe(x) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"an array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


def as_float_array(x, name: str, dtype=np.float32) -> np.ndarray:
    """Convert ``x`` to a float numpy array (``dtype``, float32 unless told), or raise a
    ``TypeError`` naming ``name``.

    >>> as_float_array([0.1], "x", np.float64).item()
    0.1
    """
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{name} must be an array of numbers; got {_describe(x)}.")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy's own message is kept
        raise TypeError(f"{name} must be an array of numbers; got {_describe(x)}.") from exc
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(
            f"{name} must be an array of numbers; got {_describe(arr)}. "
            "Convert it with np.asarray(..., dtype='float32')."
        )
    return arr.astype(dtype, copy=False)


_DIVERGED = "Check the model's input scaling and weights (a diverged training run gives NaN)."


def check_finite(
    arr: np.ndarray, name: str, expected: str = "finite numbers", hint: str = _DIVERGED
) -> np.ndarray:
    """Raise ``ValueError`` if ``arr`` holds NaN or inf; the message says what was
    ``expected`` (e.g. ``"finite pixel values"``) and what to do (``hint``)."""
    if not np.all(np.isfinite(arr)):
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} inf values; expected {expected}. {hint}"
        )
    return arr


def as_positive_int(value, name: str, hint: str = "", maximum: int | None = None) -> int:
    """Check a count or a size: an int ``>= 1`` (and ``<= maximum`` if given).

    Raises ``TypeError`` for anything but an int (a float, a bool, a string) and
    ``ValueError`` for an int out of range; ``hint`` is added to either message.

    >>> as_positive_int(3, "steps")
    3
    >>> as_positive_int(2.0, "steps")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: steps must be a positive int; got float 2.0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive int; got {type(value).__name__} {value!r}.{hint}"[:300]
        )
    if value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.{hint}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}; got {value}.{hint}")
    return int(value)


def as_features(features, name: str = "features", check_layout: bool = True) -> np.ndarray:
    """Check a batch of feature maps of shape ``(N, H, W, K)`` (channels last).

    Returns a float32 numpy array. Raises ``ValueError`` for a wrong rank, an
    empty batch, non-finite values, and (if ``check_layout``) a shape that looks
    channels-first.

    Args:
        features: the feature maps, ``(N, H, W, K)``.
        name: the argument's name, used in error messages.
        check_layout: guess from the shape whether the user passed channels-first
            maps ``(N, K, H, W)``. Pass ``False`` for a Keras model's own output,
            which is channels last by construction: a ``(N, 3, 16, 16)`` output of a
            12x64 input is 3 rows, 16 columns and 16 channels, not a transposed array.

    >>> as_features(np.ones((2, 7, 7, 8))).dtype
    dtype('float32')
    """
    arr = as_float_array(features, name)
    if arr.ndim != 4:
        hint = ""
        if arr.ndim == 3:
            hint = (
                f" If this is one image's feature maps of shape (H, W, K), add the batch "
                f"axis: {name}[None] (or np.expand_dims({name}, 0))."
            )
        raise ValueError(
            f"{name} must have shape (N, H, W, K) (rank 4, channels last); "
            f"got shape {arr.shape} (rank {arr.ndim}).{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (N = 0); pass at least one example.")
    if 0 in arr.shape[1:]:
        raise ValueError(
            f"{name} has shape {arr.shape} with an empty axis; expected (N, H, W, K) with "
            "H, W and K all at least 1 (a layer with no spatial extent left?)."
        )
    _, d1, d2, d3 = arr.shape
    # (N, 1 or 3, S, S) or (N, many, S, S): a square map stored channels first. Small maps
    # (S < 4) are left alone: (N, 3, 1, 1) is as likely H=3, W=1, K=1 as the reverse.
    if check_layout and d2 == d3 >= 4 and d1 != d2 and (d1 in (1, 3) or d1 >= 8 * d2):
        raise ValueError(
            f"{name} looks channels-first: shape {arr.shape} reads as (N, K={d1}, H={d2}, "
            f"W={d3}), but cam_edu expects channels last (N, H, W, K). "
            f"Transpose it: np.transpose({name}, (0, 2, 3, 1))."
        )
    return check_finite(arr, name)


def as_weights(weights, num_channels: int | None = None, name: str = "weights") -> np.ndarray:
    """Check a dense kernel of shape ``(K, C)``; ``K`` must equal ``num_channels`` if given.

    >>> as_weights(np.ones((8, 10)), num_channels=8).shape
    (8, 10)
    """
    arr = as_float_array(weights, name)
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must have shape (K, C); got shape {arr.shape}. For a single class "
            f"(one weight vector, as in a sigmoid head) use {name}[:, None]."
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (K, C) (rank 2); got shape {arr.shape}.")
    if num_channels is not None and arr.shape[0] != num_channels:
        hint = ""
        if arr.shape[1] == num_channels:
            hint = f" It looks transposed: use {name}.T."
        raise ValueError(
            f"{name} has shape {arr.shape}, so K = {arr.shape[0]} input channels, but the "
            f"features have K = {num_channels} channels (last axis). They must match.{hint}"
        )
    return check_finite(arr, name)


def as_class_index(class_index, num_classes: int, batch: int, name: str = "class_index"):
    """Turn ``class_index`` (an int, or one int per example) into an int array of shape ``(N,)``.

    Raises ``TypeError`` for strings and floats, ``IndexError`` outside ``[0, C)``.

    >>> as_class_index(3, num_classes=10, batch=2)
    array([3, 3])
    """
    if isinstance(class_index, str | bytes):
        raise TypeError(
            f"{name} must be an integer in [0, {num_classes}); got the string {class_index!r}. "
            "Map a class name to its index first, e.g. class_names.index(name)."
        )
    arr = np.asarray(class_index)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(int)
        else:
            raise TypeError(
                f"{name} must be an integer (or one integer per image) in [0, {num_classes}); "
                f"got {_describe(class_index)}."
            )
    if arr.ndim == 0:
        arr = np.full(batch, int(arr))
    if arr.shape != (batch,):
        raise ValueError(
            f"{name} must be one integer or one integer per image, shape ({batch},); "
            f"got shape {arr.shape}."
        )
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if bad.size:
        hint = (
            "Python's negative indexing is not supported here: "
            if bad[0] < 0
            else "Classes are numbered from 0: "
        )
        raise IndexError(
            f"{name} must lie in [0, {num_classes - 1}] for a model with {num_classes} classes; "
            f"got {int(bad[0])}. {hint}write {num_classes - 1} for the last class."
        )
    return arr.astype(int)


def target_classes(logits: np.ndarray, class_index=None) -> np.ndarray:
    """The explained class of each image ``(N,)``: its predicted class (the largest logit)
    if ``class_index`` is ``None``, else ``class_index`` checked against the ``C`` classes.

    >>> target_classes(np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])).tolist()
    [1, 0]
    >>> target_classes(np.zeros((2, 3)), 2).tolist()
    [2, 2]
    """
    if class_index is None:
        return logits.argmax(axis=1)
    return as_class_index(class_index, logits.shape[1], len(logits))


def as_threshold(threshold, name: str = "threshold") -> float:
    """Check a relative threshold in ``(0, 1]``.

    >>> as_threshold(0.2)
    0.2
    """
    if not isinstance(threshold, numbers.Real) or isinstance(threshold, bool):
        raise TypeError(f"{name} must be a number in (0, 1]; got {_describe(threshold)}.")
    if not 0.0 < float(threshold) <= 1.0:
        raise ValueError(
            f"{name} must lie in (0, 1] as a fraction of the heatmap's maximum (the CAM "
            f"paper uses 0.2); got {threshold}. For a percentage, divide by 100."
        )
    return float(threshold)


def as_heatmap(heatmap, name: str = "heatmap", allow_batch: bool = False) -> np.ndarray:
    """Check a heatmap of shape ``(H, W)`` (or ``(N, H, W)`` if ``allow_batch``).

    >>> as_heatmap(np.ones((7, 7))).shape
    (7, 7)
    """
    arr = as_float_array(heatmap, name)
    ranks = (2, 3) if allow_batch else (2,)
    if arr.ndim not in ranks:
        expected = "(H, W) or (N, H, W)" if allow_batch else "(H, W)"
        hint = ""
        if arr.ndim == 3 and not allow_batch:
            hint = f" Pass one map at a time, e.g. {name}[0]."
        if arr.ndim == 4 and arr.shape[-1] == 1:
            hint = f" Drop the channel axis: {name}[..., 0]."
        raise ValueError(f"{name} must have shape {expected}; got shape {arr.shape}.{hint}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one value.")
    return check_finite(arr, name)


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the first caller outside
    cam_edu: a warning names the user's line, however deep in the package it is raised.
    Call it in the function that warns."""
    frame, level = inspect.currentframe().f_back, 1
    while frame is not None and Path(frame.f_code.co_filename).resolve().is_relative_to(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
