"""One compiled path from a model to ``(activations, logits)`` and their gradients.

CAM, Grad-CAM, Grad-CAM++ and the explorer all need the same two things from a
model: the activation ``A`` ``(N, H, W, K)`` of one tensor and the pre-softmax
logits ``(N, C)``, and Grad-CAM also ``dy^c/dA``. An :class:`Engine` builds the
model that returns them once (:func:`cam_edu.layers.split_model`) and runs it as a
``tf.function`` with a batch-size-free input signature, so a new batch size or a
new image never recompiles. :func:`engine` keeps one per model and target.

A one-unit sigmoid head ``p = sigmoid(z)`` counts as two classes with logits
``[-z, z]`` everywhere in cam_edu (:func:`two_classes`, the one place of that rule).

>>> import keras, numpy as np
>>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"),
...                       keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
>>> a, logits = engine(m).forward(np.zeros((5, 8, 8, 1), "float32"))
>>> a.shape, logits.shape
((5, 6, 6, 2), (5, 3))
"""

from __future__ import annotations

import functools
import weakref

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from cam_edu.layers import Target, find_target, logits_model, split_model


def two_classes(scores):
    """The score ``z`` of a one-unit sigmoid head as two classes ``[-z, z]`` (last axis).

    ``sigmoid(-z) = 1 - sigmoid(z)`` is the probability of class 0, so class 0's
    logit is ``-z``. The same rule turns a Dense kernel ``(K, 1)`` into ``(K, 2)``.

    >>> np.asarray(two_classes(np.array([[1.5]]))).tolist()
    [[-1.5, 1.5]]
    """
    return ops.concatenate([-scores, scores], axis=-1)


class Engine:
    """Compiled activations, logits and gradients of one model at one target tensor.

    It holds the model's layers (through ``split``), never the model itself, so that the
    per-model cache (:func:`engine`) lets a model go when its user drops it.

    Attributes:
        layer: the explained tensor's name (:attr:`cam_edu.layers.Target.name`).
        split: the Keras model ``input -> [A (N, H, W, K), logits (N, C or 1)]``.
        binary: whether a one-unit sigmoid head is expanded to two classes.
        num_classes: ``C`` after that expansion.
        traces: how many times the compiled functions were traced (a new batch size
            must not add one).
    """

    def __init__(self, model: keras.Model, target: Target, output: int = 0):
        self.layer = target.name
        self.split = split_model(model, target, output=output)
        self.binary = self.split.outputs[1].shape[-1] == 1
        self.num_classes = 2 if self.binary else int(self.split.outputs[1].shape[-1])
        self.traces = 0
        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), model.inputs[0].dtype)
        classes = tf.TensorSpec((None,), tf.int32)
        # TensorFlow counts traces per code object (shared by every engine's lambdas or
        # methods) and warns of "retracing" after five models; a partial is its own key
        self._forward = tf.function(
            functools.partial(self._activations_logits), input_signature=[spec]
        )
        self._gradients = tf.function(
            functools.partial(self._gradients_graph), input_signature=[spec, classes]
        )

    @functools.cached_property
    def feature_model(self) -> keras.Model:
        """The Keras model ``input -> A (N, H, W, K)`` alone."""
        return keras.Model(self.split.inputs[0], self.split.outputs[0], name=f"{self.split.name}_a")

    def _activations_logits(self, x):
        self.traces += 1  # Python side effect: runs only while tracing
        activations, logits = self.split(x, training=False)
        return activations, two_classes(logits) if self.binary else logits

    def _gradients_graph(self, x, classes):
        with tf.GradientTape() as tape:
            activations, logits = self._activations_logits(x)
            predicted = tf.argmax(logits, axis=1, output_type=tf.int32)
            chosen = tf.where(classes < 0, predicted, classes)
            # each image's own class logit; images do not interact in inference mode,
            # so the gradient of the sum is every image's own gradient
            target = tf.reduce_sum(tf.gather(logits, chosen, axis=1, batch_dims=1))
        return activations, tape.gradient(target, activations), logits, chosen

    def forward(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(A (N, H, W, K), logits (N, C))`` for checked images ``(N, ...)``."""
        activations, logits = self._forward(images)
        return activations.numpy(), logits.numpy()

    def gradients(self, images: np.ndarray, classes: np.ndarray) -> tuple:
        """``(A, g, logits, classes)``: ``g = d logit[class] / dA`` ``(N, H, W, K)``.

        ``classes`` ``(N,)`` int32; ``-1`` means the image's predicted class.
        """
        out = self._gradients(images, classes)
        return tuple(t.numpy() for t in out)


class LogitsEngine:
    """Compiled pre-softmax logits ``(N, C)`` of a model, for methods that only need the
    class scores of many altered images (occlusion, LIME, deletion curves).

    Attributes:
        binary: whether a one-unit sigmoid head is expanded to two classes.
        num_classes: ``C`` after that expansion.
        traces: how many times the compiled function was traced.
    """

    def __init__(self, model: keras.Model, output: int = 0):
        self.logits_model = logits_model(model, output)
        self.binary = self.logits_model.outputs[0].shape[-1] == 1
        self.num_classes = 2 if self.binary else int(self.logits_model.outputs[0].shape[-1])
        self.traces = 0
        spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), model.inputs[0].dtype)
        self._logits = tf.function(functools.partial(self._compute), input_signature=[spec])

    def _compute(self, x):
        self.traces += 1  # Python side effect: runs only while tracing
        logits = self.logits_model(x, training=False)
        return two_classes(logits) if self.binary else logits

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(N, C)`` of checked images ``(N, ...)``."""
        return self._logits(images).numpy()


_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def model_cache(model: keras.Model) -> dict:
    """A dict that lives as long as ``model``: compiled paths and copies made for it.

    Held weakly by the model: when the user drops the model, the dict goes with it. Its
    values must not hold the model itself (that would keep it alive): engines hold its
    layers, copies hold their own.
    """
    check_backend()
    return _CACHES.setdefault(model, {})


def cached_models() -> int:
    """How many models have a :func:`model_cache` now: a model its user dropped is not
    counted (a test of the package's memory checks that nothing keeps one alive)."""
    return len(_CACHES)


def check_backend() -> None:
    """Refuse a Keras backend other than TensorFlow: cam_edu compiles with ``tf.function``."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"cam_edu computes with Keras on TensorFlow, but Keras runs on "
            f"{keras.backend.backend()!r} here (KERAS_BACKEND). Set KERAS_BACKEND=tensorflow "
            "before Keras is imported."
        )


def engine(model: keras.Model, layer=None, output: int = 0) -> Engine:
    """The :class:`Engine` of ``model`` at ``layer`` (``None``: what the global pooling
    reads; a name; or a symbolic tensor) and output index ``output``, built once and kept
    as long as the model (:func:`model_cache`)."""
    cache = model_cache(model)
    alias = ("alias", layer, output) if layer is None or isinstance(layer, str) else None
    if alias in cache:
        return cache[alias]
    target = find_target(model, layer)
    key = ("engine", target.layer, target.kind, output)
    if key not in cache:
        cache[key] = Engine(model, target, output)
    if alias is not None:
        cache[alias] = cache[key]
    return cache[key]


def logits_engine(model: keras.Model, output: int = 0) -> LogitsEngine:
    """The :class:`LogitsEngine` of ``model`` at output index ``output``, built once and
    kept as long as the model."""
    cache = model_cache(model)
    key = ("logits", output)
    if key not in cache:
        cache[key] = LogitsEngine(model, output)
    return cache[key]
