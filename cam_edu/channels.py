r"""Channel-weight methods: CAM, Grad-CAM, Grad-CAM++ and Score-CAM on one base.

All four explain a layer's activation ``A`` ``(N, H, W, K)`` the same way: one weight per
image and channel, a weighted sum over the channels, and (all but CAM) a ReLU:

.. math::

    L^c(i, j) = \mathrm{ReLU}\Big(\sum_k w_k^c\, A_k(i, j)\Big)

They differ only in the weights :math:`w_k^c`, each a few lines in
:meth:`ChannelWeightMethod.channel_weights` (the design of pytorch-grad-cam's
``get_cam_weights``): CAM reads the Dense kernel, Grad-CAM averages gradients, Grad-CAM++
weights positive gradients per position, Score-CAM scores masked inputs.

>>> import numpy as np
>>> weighted_sum(np.ones((1, 2, 2, 3)), np.array([[1.0, -1.0, -1.0]]), relu=False).tolist()
[[[-1.0, -1.0], [-1.0, -1.0]]]
>>> weighted_sum(np.ones((1, 2, 2, 3)), np.array([[1.0, -1.0, -1.0]]), relu=True).tolist()
[[[0.0, 0.0], [0.0, 0.0]]]
"""

from __future__ import annotations

import keras
import numpy as np

from cam_edu.engine import Engine, engine
from cam_edu.inputs import as_model_images
from cam_edu.layers import describe_output, explained_output, require_model
from cam_edu.validate import as_class_index, target_classes


def weighted_sum(activations: np.ndarray, weights: np.ndarray, relu: bool) -> np.ndarray:
    """``sum_k weights[n, k] * activations[n, ..., k]``, then ReLU if ``relu``: ``(N, H, W)``.

    Args:
        activations: ``A``, shape ``(N, H, W, K)``.
        weights: ``(N, K)``, one weight per image and channel.
        relu: keep only the positive part (Grad-CAM and its successors); CAM keeps the sign.
    """
    maps = np.einsum("nhwk,nk->nhw", activations, weights)
    return (np.maximum(maps, 0.0) if relu else maps).astype(np.float32)


class ChannelWeightMethod:
    """The base of the channel-weight methods: activations (and gradients) of one layer for
    one target class per image, a weight per channel, the weighted sum.

    A subclass sets :attr:`display_name` and defines :meth:`channel_weights`; it sets
    ``needs_gradients = False`` if its rule does not read gradients (CAM, Score-CAM: one
    forward pass is enough; they get ``gradients=None``) and ``relu = False`` if its map
    keeps its sign (CAM).

    Args:
        model: a functional or Sequential Keras CNN (nested models allowed). A final
            softmax or sigmoid is removed: the classes' scores are the logits.
        layer: a layer name (at any depth), a symbolic tensor of the model, or ``None`` for
            the tensor the global pooling reads (the last spatial layer without pooling).
        output: for a model with several outputs, the explained one: its name or index;
            ``None`` is the first, with a warning that says so.
        compiled: the :class:`cam_edu.engine.Engine` to use, for a subclass that finds its
            tensor itself (CAM: what its head pools); ``None``: the engine at ``layer``.

    The activations and gradients come from one compiled function per model, layer and
    output (:func:`cam_edu.engine.engine`): a new batch size or image does not recompile.
    Images are checked once, in :meth:`__call__`; :meth:`explain` takes checked arrays.
    """

    display_name = ""
    needs_gradients = True
    relu = True

    def __init__(self, model: keras.Model, layer=None, output=None, compiled: Engine | None = None):
        self.model = require_model(model)
        index = explained_output(model, output, self.display_name)
        self.output_index, self.output = index, describe_output(model, index)
        self.engine = compiled if compiled is not None else engine(model, layer, index)
        self.layer = self.engine.layer

    def channel_weights(self, activations, gradients, images=None, classes=None) -> np.ndarray:
        """The weight of each channel for each image, ``(N, K)``: the method's rule.

        Args:
            activations: ``A`` ``(N, H, W, K)`` of the explained layer.
            gradients: ``d y^c / dA`` ``(N, H, W, K)`` of each image's class logit, or
                ``None`` for a method with ``needs_gradients = False``.
            images: the checked model inputs ``(N, H_in, W_in, channels)``.
            classes: the explained class of each image ``(N,)``.
        """
        raise NotImplementedError

    def __call__(self, images, class_index=None) -> tuple[np.ndarray, np.ndarray]:
        """Maps ``(N, H, W)`` at the layer's resolution and logits ``(N, C)``.

        ``images``: a batch the model accepts; ``class_index``: ``None`` (each image's
        predicted class), an int, or ``(N,)`` ints.
        """
        return self.explain(as_model_images(images, self.model), class_index)

    def activations_and_gradients(self, images, class_index=None) -> tuple:
        """``(A, g, logits, classes)``: ``A`` and ``g = d y^c / dA`` ``(N, H, W, K)``,
        ``logits`` ``(N, C)``, ``classes`` ``(N,)``.

        The target is the sum over the batch of each image's own class logit, so every
        image gets the gradient of its own target (the images do not interact in
        inference mode), never a batch average. For a one-unit sigmoid head the logits
        are ``[-z, z]`` (two classes); their probabilities are
        ``cam_edu.cam.class_probabilities(logits, binary=True)``, not a softmax.
        """
        x = as_model_images(images, self.model)
        return self._gradients(x, self._classes(class_index, len(x)))

    def _classes(self, class_index, n: int):
        return (
            None if class_index is None else as_class_index(class_index, self.engine.num_classes, n)
        )

    def _gradients(self, x: np.ndarray, classes) -> tuple:
        wanted = np.full(len(x), -1) if classes is None else classes
        return self.engine.gradients(x, np.asarray(wanted, np.int32))

    def explain(self, x: np.ndarray, class_index=None, forward=None):
        """:meth:`__call__` on checked images ``x``.

        ``forward``: their ``(A, logits)`` if already computed, for a method that needs no
        gradients (CAM, Score-CAM: no model call for ``A`` then); a method that reads
        gradients refuses it, as it must run the model under a gradient tape.
        """
        classes = self._classes(class_index, len(x))
        if self.needs_gradients:
            if forward is not None:
                raise ValueError(
                    f"{self.display_name} reads gradients, so it runs the model itself; "
                    "forward= (activations and logits computed before) is only for methods "
                    "without gradients (needs_gradients = False)."
                )
            a, g, logits, classes = self._gradients(x, classes)
        else:
            a, logits = self.engine.forward(x) if forward is None else forward
            g = None
            classes = target_classes(logits, classes)
        weights = self.channel_weights(a, g, x, classes)
        return weighted_sum(a, weights, self.relu), logits
