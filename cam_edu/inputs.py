"""The public door's check of a model's input batch: shape, dtype and pixel scale.

Every public function that runs a model checks its images here, once; the functions
behind it take the checked float32 array.

>>> import keras, numpy as np
>>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
>>> as_model_images(np.zeros((3, 4, 4, 1)), m).dtype
dtype('float32')
>>> as_model_images(np.zeros((4, 4, 1)), m)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: images must have shape (N, 4, 4, 1), a batch, ... For one image add ...
"""

from __future__ import annotations

import keras
import numpy as np

from cam_edu.layers import require_model, walk_layers
from cam_edu.validate import as_float_array, check_finite


def _input_rescaling(model: keras.Model):
    """The model's first layer if it is a ``Rescaling`` of 0-255 pixels (scale < 0.1)."""
    for layer, _ in walk_layers(model):
        if isinstance(layer, keras.layers.InputLayer | keras.Model):
            continue
        if isinstance(layer, keras.layers.Rescaling) and float(np.max(layer.scale)) < 0.1:
            return layer
        return None
    return None


def as_model_images(images, model: keras.Model, name: str = "images") -> np.ndarray:
    """Check that ``images`` is a batch the model accepts: shape ``(N, *model input shape)``.

    Also refuses integer (0-255) images for a float model that does not rescale them
    itself, and [0, 1] images for a model starting with a ``Rescaling`` of 0-255 pixels
    (``Rescaling(1/255)``, or ``Rescaling(1/127.5, offset=-1)`` as in MobileNetV3).
    """
    require_model(model)
    arr = as_float_array(images, name)
    expected = tuple(model.inputs[0].shape[1:])
    want = f"(N, {', '.join(map(str, expected))})"

    def matches(shape) -> bool:
        return len(shape) == len(expected) and all(
            e is None or g == e for g, e in zip(shape, expected, strict=True)
        )

    if arr.ndim != len(expected) + 1:
        hint = ""
        if matches(arr.shape):
            hint = f" For one image add the batch axis: {name}[None]."
        elif expected[-1] == 1 and matches((*arr.shape[1:], 1)):
            hint = f" The channel axis is missing: {name}[..., None]."
        elif expected[-1] == 1 and matches((*arr.shape, 1)):
            hint = (
                f" For one grayscale image add the batch and channel axes: {name}[None, ..., None]."
            )
        raise ValueError(
            f"{name} must have shape {want}, a batch, for model {model.name!r}; got shape "
            f"{arr.shape}.{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (N = 0); pass at least one image.")
    if not matches(arr.shape[1:]):
        hint = ""
        if arr.shape[-1] == 1 and expected[-1] == 3:
            hint = f" Grayscale into an RGB model: np.repeat({name}, 3, axis=-1)."
        elif arr.shape[-1] == 3 and expected[-1] == 1:
            hint = f" RGB into a grayscale model: {name}.mean(axis=-1, keepdims=True)."
        elif arr.shape[1] == expected[-1]:
            hint = f" Channels first? Use np.transpose({name}, (0, 2, 3, 1))."
        raise ValueError(
            f"{name} has shape {arr.shape}, but model {model.name!r} expects {want}.{hint}"
        )
    check_finite(arr, name, "finite pixel values", "Check how the images were made or loaded.")
    raw = (
        images.numpy()
        if hasattr(images, "numpy") and not isinstance(images, np.ndarray)
        else images
    )
    dtype = np.asarray(raw).dtype
    model_dtype = keras.backend.standardize_dtype(model.inputs[0].dtype)
    rescaling = _input_rescaling(model)
    rescales = rescaling is not None
    if np.issubdtype(dtype, np.integer) and "float" in model_dtype and not rescales:
        raise TypeError(
            f"{name} has integer dtype {dtype} (values {arr.min():g}..{arr.max():g}), but model "
            f"{model.name!r} takes {model_dtype} inputs and does not rescale them; expected "
            f"float images as in training (the course's models: [0, 1]). Convert with "
            f"{name}.astype('float32') / 255 (for ResNet50: "
            f"cam_edu.course.imagenet.preprocess({name}))."
        )
    if rescales and np.issubdtype(dtype, np.floating) and 0 < arr.max() <= 1.0:
        raise ValueError(
            f"{name} has values in [{arr.min():g}, {arr.max():g}], but model {model.name!r} "
            f"starts with Rescaling(scale={float(np.max(rescaling.scale)):.6g}, "
            f"offset={float(np.max(rescaling.offset)):g}), so it expects pixel values 0..255. "
            f"Pass {name} * 255 (or the original uint8 images)."
        )
    return arr
