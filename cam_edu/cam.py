r"""Class activation maps (Zhou et al., CVPR 2016).

For feature maps :math:`f_k(x, y)` of shape ``(N, H, W, K)`` and a Dense
kernel :math:`w_k^c` of shape ``(K, C)`` after global average pooling:

.. math::

    S_c = \sum_k w_k^c \cdot \frac{1}{HW}\sum_{x,y} f_k(x,y) + b_c
        = \frac{1}{HW}\sum_{x,y} M_c(x,y) + b_c,
    \qquad M_c(x,y) = \sum_k w_k^c f_k(x,y).

So the mean of the CAM plus the bias is exactly the pre-softmax logit.

>>> import numpy as np
>>> f, w = np.random.rand(2, 7, 7, 4), np.random.rand(4, 3)
>>> maps = class_activation_maps(f, w)
>>> maps.shape
(2, 7, 7, 3)
>>> np.allclose(maps[..., 1], class_activation_map_loop(f, w, 1), atol=1e-5)
True
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from cam_edu.channels import ChannelWeightMethod
from cam_edu.engine import Engine, engine, two_classes
from cam_edu.layers import (
    GLOBAL_POOLING,
    describe_output,
    explained_output,
    require_model,
    walk_layers,
)
from cam_edu.validate import as_class_index, as_features, as_float_array, as_weights

_BEFORE_DENSE = (keras.layers.Dropout,)
_AFTER_DENSE = (keras.layers.Dropout, keras.layers.Activation, keras.layers.Softmax)


def class_activation_map_loop(features, weights, class_index) -> np.ndarray:
    """The CAM of one class, summed channel by channel (the lecture's naive form).

    Args:
        features: feature maps, shape ``(N, H, W, K)``.
        weights: Dense kernel, shape ``(K, C)``.
        class_index: the class ``c``, an int or one int per image ``(N,)``.

    Returns:
        ``M_c(x, y) = sum_k w[k, c] * f[..., k]``, shape ``(N, H, W)``.

    >>> class_activation_map_loop(np.ones((1, 2, 2, 3)), np.ones((3, 2)), 0)[0].tolist()
    [[3.0, 3.0], [3.0, 3.0]]
    """
    f = as_features(features)
    w = as_weights(weights, num_channels=f.shape[-1])
    c = as_class_index(class_index, num_classes=w.shape[1], batch=f.shape[0])
    f, w_c = tf.constant(f), tf.constant(w[:, c].T)  # w_c: (N, K), one class per image
    cam = tf.zeros(f.shape[:3])
    for k in range(f.shape[-1]):
        cam += w_c[:, k, None, None] * f[:, :, :, k]
    return cam.numpy()


def class_activation_maps(features, weights) -> np.ndarray:
    """The CAMs of all classes at once: one matmul over the flattened positions.

    Args:
        features: feature maps, shape ``(N, H, W, K)``.
        weights: Dense kernel, shape ``(K, C)``.

    Returns:
        maps ``M[n, y, x, c]``, shape ``(N, H, W, C)``.

    >>> class_activation_maps(np.ones((1, 2, 2, 3)), np.ones((3, 2))).shape
    (1, 2, 2, 2)
    """
    f = as_features(features)
    w = as_weights(weights, num_channels=f.shape[-1])
    n, h, width, k = f.shape
    flat = tf.reshape(f, (n * h * width, k))
    return tf.reshape(tf.matmul(flat, w), (n, h, width, w.shape[1])).numpy()


class CamHead(NamedTuple):
    """What CAM needs from a model whose head is global pooling -> Dense.

    Attributes:
        feature_model: maps the model's input to the feature maps ``(N, H, W, K)``.
        kernel: Dense kernel ``(K, C)``. A one-unit sigmoid head is expanded to
            two classes, ``[-w, w]``, so its logits are ``[-z, z]``: ``sigmoid(z)`` is
            the probability of class 1 and ``sigmoid(-z)`` that of class 0. Do not
            softmax these two logits: ``softmax([-z, z])`` is ``sigmoid(2 z)``, not the
            model's ``sigmoid(z)``. Use :func:`class_probabilities` with ``binary``.
        bias: Dense bias ``(C,)`` (zeros if the layer has none).
        pooling: ``"avg"`` (GAP: the CAM identity holds exactly) or ``"max"`` (GMP).
        feature_layer: name of the tensor that is pooled (its layer's name, or
            ``"input of <pooling layer>"`` when an operation such as ``add`` makes it).
        dense_layer: name of the Dense layer.
        binary: whether a one-unit head was expanded to two classes.
        engine: the compiled :class:`cam_edu.engine.Engine` at the feature maps.
    """

    feature_model: keras.Model
    kernel: np.ndarray
    bias: np.ndarray
    pooling: str
    feature_layer: str
    dense_layer: str
    binary: bool
    engine: Engine

    def logits(self, features) -> np.ndarray:
        """Pre-activation logits ``(N, C)`` from feature maps ``(N, H, W, K)``: pool, then Dense.

        For a binary head (``binary``) these are ``[-z, z]``; turn them into
        probabilities with ``class_probabilities(logits, self.binary)``, never softmax.
        """
        f = np.asarray(features, np.float32)
        pooled = f.mean(axis=(1, 2)) if self.pooling == "avg" else f.max(axis=(1, 2))
        return (pooled @ self.kernel + self.bias).astype(np.float32)


def softmax(logits) -> np.ndarray:
    """Softmax over the last axis, computed stably: ``(N, C)`` logits to probabilities.

    >>> softmax(np.zeros((1, 4))).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """
    z = np.asarray(logits, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def class_probabilities(logits, binary: bool) -> np.ndarray:
    """Class probabilities ``(N, C)`` from the logits ``(N, C)`` of :func:`compute_cam`,
    :meth:`CamHead.logits` or :func:`cam_edu.gradcam.grad_cam`.

    A one-unit sigmoid head ``p = sigmoid(z)`` is expanded by cam_edu to two classes
    with logits ``[-z, z]`` (``binary=True``). Those two columns must NOT go through
    a softmax: ``softmax([-z, z]) = sigmoid(2 z)``, which is not the model's
    probability. Here they give ``[sigmoid(-z), sigmoid(z)] = [1 - p, p]``, exactly the
    model's output. Every other head (``binary=False``) gets the softmax.

    Args:
        logits: pre-activation scores, shape ``(N, C)``; ``C == 2`` if ``binary``.
        binary: whether the logits are the two-column form ``[-z, z]`` of a one-unit
            sigmoid head (``CamHead.binary``).

    Returns:
        probabilities ``(N, C)`` in float64; each row sums to 1.

    >>> class_probabilities(np.array([[-1.0, 1.0]]), binary=True).round(3).tolist()
    [[0.269, 0.731]]
    >>> class_probabilities(np.array([[-1.0, 1.0]]), binary=False).round(3).tolist()
    [[0.119, 0.881]]
    """
    if not isinstance(binary, bool | np.bool_):
        raise TypeError(
            f"binary must be True (logits [-z, z] of a one-unit sigmoid head) or False "
            f"(softmax); got {type(binary).__name__} {binary!r}. Pass CamHead.binary."
        )
    z = np.asarray(as_float_array(logits, "logits"), np.float64)
    if z.ndim != 2 or z.shape[1] < 1:
        raise ValueError(
            f"logits must have shape (N, C); got shape {z.shape}. For one image's logits "
            "add the batch axis: logits[None]."
        )
    if not binary:
        return softmax(z)
    if z.shape[1] != 2 or not np.allclose(z[:, 0], -z[:, 1], rtol=1e-5, atol=1e-6):
        raise ValueError(
            f"with binary=True, logits must be the two-column form [-z, z] of a one-unit "
            f"sigmoid head, shape (N, 2) with logits[:, 0] == -logits[:, 1]; got shape "
            f"{z.shape}{'' if z.shape[1] != 2 else ' with other values'}. Pass the logits "
            "cam_edu returned for that head, or binary=False for a softmax head."
        )
    p1 = 0.5 * (1.0 + np.tanh(0.5 * z[:, 1]))  # sigmoid(z), without overflow
    return np.stack([1.0 - p1, p1], axis=1)


def _describe_tail(layers) -> str:
    tail = [type(la).__name__ for la in layers[-6:]]
    return " -> ".join(tail) if tail else "no layers"


def _dense_after(layers: list, start: int):
    """The Dense layer right after ``layers[start]`` (Dropout allowed between), if only
    Dropout / activations follow it; else ``None``."""
    after = layers[start + 1 :]
    while after and isinstance(after[0], _BEFORE_DENSE):
        after = after[1:]
    if not after or not isinstance(after[0], keras.layers.Dense):
        return None
    if any(not isinstance(la, _AFTER_DENSE) for la in after[1:]):
        return None
    return after[0]


def _head_of_output(model: keras.Model, index: int):
    """``(pooling, dense)`` feeding output ``index`` of a model with several outputs (a
    class head and a box head side by side), or ``(None, None)``: read from the graph."""
    layers = [la for la in model.layers if not isinstance(la, keras.layers.InputLayer)]

    def maker(tensor):
        return next((la for la in layers if la.output is tensor), None)

    layer = maker(model.outputs[index])
    while isinstance(layer, _AFTER_DENSE):
        layer = maker(layer.input)
    if not isinstance(layer, keras.layers.Dense):
        return None, None
    pool = maker(layer.input)
    while isinstance(pool, _BEFORE_DENSE):
        pool = maker(pool.input)
    return (pool, layer) if isinstance(pool, GLOBAL_POOLING) else (None, None)


def cam_head(model: keras.Model, output=None) -> CamHead:
    """Find the global pooling -> Dense head of ``model`` and return what CAM needs.

    The pooling layer may be ``GlobalAveragePooling2D`` or ``GlobalMaxPooling2D``;
    Dropout between it and the Dense layer is allowed; the Dense activation may be
    anything (softmax, sigmoid, none). Nested models are searched too: a pretrained
    ``keras.applications`` base inside a transfer-learning model (Sequential or
    functional, branching or not), or a nested head. The feature maps are the tensor
    the pooling layer reads, wherever it is made. A model with several outputs (e.g. a
    class head and a box head) is read at ``output`` (a name or an index; the first if
    ``None``, with a warning that says so).

    Raises:
        ValueError: if the model has no such head; the message names the layers
            found and points to Grad-CAM, which works for any CNN.

    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="f"),
    ...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    >>> head = cam_head(m)
    >>> head.kernel.shape, head.feature_layer
    ((4, 3), 'f')
    """
    index = explained_output(require_model(model), output, "cam_head")
    if len(model.outputs) > 1:
        pool, dense = _head_of_output(model, index)
        if dense is None:
            raise ValueError(
                f"{describe_output(model, index)} of model {model.name!r} is not made by a "
                "Dense layer right after global pooling, which CAM needs (it reads that "
                "layer's class weights). Choose the classification output with output=, or "
                "use Grad-CAM: cam_edu.grad_cam(model, images, output=...)."
            )
    else:
        layers = [la for la, _ in walk_layers(model) if not isinstance(la, keras.Model)]
        pool_at = [i for i, la in enumerate(layers) if isinstance(la, GLOBAL_POOLING)]
        dense = _dense_after(layers, pool_at[-1]) if pool_at else None
        if dense is None:
            raise ValueError(
                f"model {model.name!r} has no global-pooling -> Dense head, which CAM needs; "
                f"its last layers are: {_describe_tail(layers)}. CAM reads the class weights "
                "of one Dense layer right after GlobalAveragePooling2D. For any other CNN "
                "(Flatten -> Dense, several Dense layers, ...) use Grad-CAM: "
                "cam_edu.grad_cam(model, images)."
            )
        pool = layers[pool_at[-1]]
    explain = engine(model, pool.input, index)
    kernel = np.asarray(dense.kernel, dtype=np.float32)
    bias = (
        np.asarray(dense.bias, dtype=np.float32)
        if dense.use_bias
        else np.zeros(kernel.shape[1], np.float32)
    )
    binary = kernel.shape[1] == 1
    if binary:
        kernel, bias = np.asarray(two_classes(kernel)), np.asarray(two_classes(bias))
    pooling = "avg" if isinstance(pool, keras.layers.GlobalAveragePooling2D) else "max"
    return CamHead(
        explain.feature_model,
        kernel,
        bias,
        pooling,
        explain.layer,
        dense.name,
        binary,
        explain,
    )


class CAM(ChannelWeightMethod):
    """CAM: a channel's weight is the Dense kernel's ``w[k, c]``; the map keeps its sign.

    Its layer is fixed (what the global pooling reads) and it needs no gradient: one
    forward pass gives every class's map.
    """

    display_name = "CAM"
    needs_gradients = False
    relu = False

    def __init__(self, model: keras.Model, layer=None, output=None):
        if layer is not None:
            raise ValueError(
                f"layer={layer!r} is for Grad-CAM; CAM always uses the tensor the global "
                "pooling reads. Use method 'gradcam' (cam_edu.grad_cam) to explain another layer."
            )
        index = explained_output(require_model(model), output, self.display_name)
        self.head = cam_head(model, index)
        super().__init__(model, output=index, compiled=self.head.engine)

    def channel_weights(self, activations, gradients, images=None, classes=None):
        """``w[n, k] = kernel[k, classes[n]]``, ``(N, K)``: the Dense weights."""
        return self.head.kernel[:, classes].T


def compute_cam(
    model: keras.Model, images, class_index=None, output=None
) -> tuple[np.ndarray, np.ndarray]:
    """CAMs for a batch in one forward pass, at feature resolution.

    Args:
        model: a Keras model with a global pooling -> Dense head (see :func:`cam_head`).
        images: a batch the model accepts, shape ``(N, H_in, W_in, channels)``.
        class_index: ``None`` for each image's predicted class, an int, or ``(N,)`` ints.
        output: for a model with several outputs, the explained one (a name or an index;
            ``None``: the first, with a warning saying so).

    Returns:
        ``(cams, logits)``: the CAMs ``(N, H, W)`` of the chosen classes and the
        pre-activation logits ``(N, C)``. With GAP, ``cams.mean(axis=(1, 2)) +
        bias[c] == logits[:, c]`` up to float rounding.

    >>> cams, logits = compute_cam(model, x_test[:4])  # doctest: +SKIP
    """
    return CAM(model, output=output)(images, class_index)
