r"""Grad-CAM and Grad-CAM++: class maps for any CNN, from gradients.

CAM needs a global-average-pooling -> Dense head. Grad-CAM (Selvaraju et al.,
ICCV 2017) replaces the Dense weights :math:`w_k^c` by the average gradient of
the class logit :math:`y^c` with respect to the activation :math:`A_k` of any
convolutional layer:

.. math::

    \alpha_k^c = \frac{1}{Z}\sum_{i,j}\frac{\partial y^c}{\partial A_k(i,j)}, \qquad
    L^c = \mathrm{ReLU}\Big(\sum_k \alpha_k^c A_k\Big)

Grad-CAM++ (Chattopadhay et al., WACV 2018) weights each position by
:math:`a_k(i,j) = g^2 / (2 g^2 + \sum_{a,b} A_k(a,b)\, g^3)` with
:math:`g = \partial y^c / \partial A_k(i,j)`, and sums only positive gradients:
:math:`\alpha_k^c = \sum_{i,j} a_k(i,j)\,\mathrm{ReLU}(g)`.
The closed form comes from the paper's exponential trick: for :math:`Y^c = \exp(y^c)`
the second and third derivatives are :math:`\exp(y^c) g^2` and :math:`\exp(y^c) g^3`
(for a piecewise-linear network), and the common factor :math:`\exp(y^c)` cancels in
:math:`a_k(i,j)`. The paper's :math:`\mathrm{ReLU}(\partial Y^c/\partial A) = \exp(y^c)\,
\mathrm{ReLU}(g)` keeps that positive factor, which only scales the whole map (and
overflows for large logits), so it is dropped, as pytorch-grad-cam does.

Design after pytorch-grad-cam: :class:`BaseCAM` computes activations and
gradients once (one target per image, on the pre-softmax logits); each method is
a small subclass that only defines the channel weights.

>>> maps, logits = grad_cam(model, images)  # doctest: +SKIP
>>> maps.shape  # (N, H, W) at the layer's resolution  # doctest: +SKIP
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np

from cam_edu.cam import as_model_images
from cam_edu.engine import engine
from cam_edu.layers import require_model, walk_layers
from cam_edu.validate import as_class_index


class BaseCAM:
    """Activations and gradients of one layer, for one target class per image.

    Subclasses define :meth:`channel_weights`, mapping activations ``A``
    ``(N, H, W, K)`` and gradients ``g`` of the same shape to weights ``(N, K)``.

    Args:
        model: any functional or Sequential Keras CNN (nested models allowed, e.g. a
            ``keras.applications`` base in a transfer-learning model). A final softmax
            or sigmoid is removed: gradients are taken of the logits, which do not
            saturate.
        layer: a layer name (a layer or a nested model, at any depth), a symbolic
            tensor of the model, or ``None`` for the tensor the global pooling reads
            (the last spatial layer if there is no global pooling).

    The activations and gradients come from one compiled function per model and
    layer, the attribute ``engine`` (:class:`cam_edu.engine.Engine`): a new batch size
    or image does not recompile.
    """

    def __init__(self, model: keras.Model, layer=None):
        self.model = require_model(model)
        self.engine = engine(model, layer)
        self.layer = self.engine.target.name

    def activations_and_gradients(self, images, class_index=None):
        """Return ``(A, g, logits, classes)``: ``A`` and ``g`` ``(N, H, W, K)``,
        ``logits`` ``(N, C)``, ``classes`` ``(N,)``.

        For a one-unit sigmoid head the logits are ``[-z, z]`` (two classes); their
        probabilities are ``cam_edu.cam.class_probabilities(logits, binary=True)``,
        not a softmax.

        The target is the sum over the batch of each image's own class logit, so
        every image gets the gradient of its own target (the images do not
        interact in inference mode), never a batch average.
        """
        x = as_model_images(images, self.model)
        if class_index is None:
            classes = np.full(len(x), -1, np.int32)
        else:
            classes = as_class_index(class_index, self.engine.num_classes, len(x))
        return self.engine.gradients(x, np.asarray(classes, np.int32))

    def channel_weights(self, activations: np.ndarray, grads: np.ndarray) -> np.ndarray:
        """Weights of the channels; defined by each method.

        Args:
            activations: ``A``, shape ``(N, H, W, K)``.
            grads: ``g = d y^c / d A``, same shape ``(N, H, W, K)``.

        Returns:
            weights ``(N, K)``, one per image and channel.
        """
        raise NotImplementedError

    def __call__(self, images, class_index=None) -> tuple[np.ndarray, np.ndarray]:
        """Maps ``(N, H, W)`` (after ReLU, not normalized) and logits ``(N, C)``."""
        activations, grads, logits, _ = self.activations_and_gradients(images, class_index)
        weights = self.channel_weights(activations, grads)
        maps = np.einsum("nhwk,nk->nhw", activations, weights)
        return np.maximum(maps, 0.0).astype(np.float32), logits


class GradCAM(BaseCAM):
    """Grad-CAM: a channel's weight is its gradient averaged over the positions."""

    def channel_weights(self, activations, grads):
        """``alpha[n, k] = mean over (i, j) of grads[n, i, j, k]``.

        Args:
            activations: ``A``, shape ``(N, H, W, K)`` (not used by Grad-CAM).
            grads: ``g = d y^c / d A``, shape ``(N, H, W, K)``.

        Returns:
            weights ``(N, K)``.
        """
        return grads.mean(axis=(1, 2))


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++: positive gradients, weighted per position by the closed-form ``a_k(i,j)``."""

    def channel_weights(self, activations, grads):
        """``alpha[n, k] = sum over (i, j) of a[n, i, j, k] * ReLU(g[n, i, j, k])``.

        ``a = g^2 / (2 g^2 + sum_{a,b} A[n, a, b, k] * g^3)`` (pytorch-grad-cam's form,
        without its epsilon); where that denominator is 0 (``g = 0``, or
        ``sum A * g = -2``) the position gets ``a = 0``: it adds nothing.

        Args:
            activations: ``A``, shape ``(N, H, W, K)``.
            grads: ``g = d y^c / d A``, shape ``(N, H, W, K)``.

        Returns:
            weights ``(N, K)``.
        """
        g2 = grads**2
        g3 = g2 * grads
        sum_a = activations.sum(axis=(1, 2), keepdims=True)
        denominator = 2.0 * g2 + sum_a * g3
        nonzero = denominator != 0.0
        alpha = np.where(nonzero, g2 / np.where(nonzero, denominator, 1.0), 0.0)
        return (alpha * np.maximum(grads, 0.0)).sum(axis=(1, 2))


def grad_cam(model, images, class_index=None, layer: str | None = None):
    """Grad-CAM maps of a batch, one target class per image.

    Args:
        model: a built Keras CNN; any head (Flatten, several Dense, GAP ...).
        images: a batch the model accepts, ``(N, H_in, W_in, channels)``.
        class_index: ``None`` (each image's predicted class), an int, or ``(N,)`` ints.
        layer: a layer with 4-D output; ``None`` = the last one. A wrong name
            raises ``ValueError`` listing the candidates.

    Returns:
        ``(maps, logits)``: ``(N, H, W)`` maps at the layer's resolution (after
        ReLU, not normalized) and the pre-softmax logits ``(N, C)``. A one-unit
        sigmoid head counts as two classes with logits ``[-z, z]``, as in
        :func:`cam_edu.cam.cam_head`. Do not softmax those two logits
        (``softmax([-z, z]) = sigmoid(2 z)``, not the model's ``sigmoid(z)``); use
        ``cam_edu.cam.class_probabilities(logits, binary=True)``.

    >>> maps, logits = grad_cam(model, x_test[:4], layer="conv2")  # doctest: +SKIP
    """
    return GradCAM(model, layer)(images, class_index)


def grad_cam_plus_plus(model, images, class_index=None, layer: str | None = None):
    """Grad-CAM++ maps of a batch; arguments and returns as :func:`grad_cam`.

    >>> maps, logits = grad_cam_plus_plus(model, x_test[:4])  # doctest: +SKIP
    """
    return GradCAMPlusPlus(model, layer)(images, class_index)


METHODS = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus}


class RandomizationStep(NamedTuple):
    """One step of the cascading randomization test.

    Attributes:
        layer: the layer re-initialized last (``"none (trained)"`` for the start).
        maps: the maps ``(N, H, W)`` of the model at this step.
        spearman: Spearman rank correlation with the trained model's maps, mean over
            the images (NaN if a map is constant, e.g. all zero after ReLU).
    """

    layer: str
    maps: np.ndarray
    spearman: float


def rank_correlation(maps_a, maps_b, absolute: bool = False) -> float:
    """Mean over images of the Spearman rank correlation of two batches of maps ``(N, H, W)``.

    Images where either map is constant (no ranking) are left out; all constant gives NaN.
    Tied values share their mean rank. With ``absolute``, the mean of ``|rho|``: an
    inverted ranking (-1) is as far from "unrelated" as +1 (the randomization check of
    :func:`cam_edu.faithfulness.compare_methods`).

    >>> a = np.arange(8.0).reshape(2, 2, 2)
    >>> rank_correlation(a, a ** 3), rank_correlation(a, -a)
    (1.0, -1.0)
    >>> rank_correlation(a, np.stack([a[0], -a[1]])), rank_correlation(a, -a, absolute=True)
    (0.0, 1.0)
    """
    from scipy.stats import spearmanr

    a, b = np.asarray(maps_a, np.float64), np.asarray(maps_b, np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(
            f"maps_a and maps_b must both have shape (N, H, W); got {a.shape} and {b.shape}."
        )
    values = [
        spearmanr(x.ravel(), y.ravel()).statistic
        for x, y in zip(a, b, strict=True)
        if np.ptp(x) > 0 and np.ptp(y) > 0
    ]
    if not values:
        return float("nan")
    return float(np.mean(np.abs(values) if absolute else values))


def _layers_with_weights(model: keras.Model) -> list:
    """The layers (nested ones included, models themselves not) with trainable weights."""
    layers = (la for la, _ in walk_layers(model) if not isinstance(la, keras.Model))
    return [la for la in layers if la.trainable_weights]


def _reinitialize(layer, seed: int) -> int:
    """Re-draw every trainable weight of ``layer``; return the next unused seed.

    Weights with 2 or more axes (kernels): seeded Glorot-uniform, Keras's default.
    BatchNormalization's ``gamma``: ones. Other 1-D weights (biases, ``beta``): zeros.
    """
    gamma = (
        getattr(layer, "gamma", None)
        if isinstance(layer, keras.layers.BatchNormalization)
        else None
    )
    for weight in layer.trainable_weights:
        shape = tuple(weight.shape)
        if len(shape) >= 2:
            init = keras.initializers.GlorotUniform(seed=seed)
            weight.assign(init(shape, dtype=weight.dtype))
            seed += 1
        elif gamma is not None and weight is gamma:
            weight.assign(np.ones(shape, weight.dtype))
        else:
            weight.assign(np.zeros(shape, weight.dtype))
    return seed


def cascading_randomization(
    model, images, class_index=None, layer: str | None = None, method: str = "gradcam", seed=0
) -> list[RandomizationStep]:
    """The model-randomization sanity check of Adebayo et al. (NeurIPS 2018), cascading.

    A copy of ``model`` gets its layers re-initialized one at a time, from the output
    layer down to the first, every trainable weight of the layer (each kernel re-drawn
    with Keras's default Glorot-uniform, seeded; BatchNormalization's ``gamma`` set to
    one; biases and other 1-D weights set to zero; the randomization accumulates). After each step
    the maps are recomputed for the same target classes. A method that explains the
    model must change its maps as the weights are destroyed; one that only reflects
    the image (an edge detector) does not.

    Args:
        model: a built Keras CNN; it is not modified.
        images: a batch the model accepts.
        class_index: target classes; ``None`` = the trained model's predictions, kept
            fixed for all steps.
        layer: the explained layer (``None``: last 4-D layer).
        method: ``"gradcam"`` or ``"gradcam++"``.
        seed: seed of the re-initialization.

    Returns:
        a list of :class:`RandomizationStep`, the trained model first (its
        ``spearman`` is the maps' correlation with themselves: 1, or NaN if every map
        is constant), then one per layer with trainable weights, top-down.

    >>> steps = cascading_randomization(model, x_test[:8])  # doctest: +SKIP
    >>> [(s.layer, round(s.spearman, 2)) for s in steps]  # doctest: +SKIP
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    require_model(model)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    explain = METHODS[method](copy, layer)
    maps, logits = explain(images, class_index)
    classes = logits.argmax(axis=1) if class_index is None else class_index
    steps = [RandomizationStep("none (trained)", maps, rank_correlation(maps, maps))]
    next_seed = seed
    for la in reversed(_layers_with_weights(copy)):
        next_seed = _reinitialize(la, next_seed)
        new_maps, _ = explain(images, classes)
        steps.append(RandomizationStep(la.name, new_maps, rank_correlation(maps, new_maps)))
    return steps
