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

Both are channel-weight methods (:class:`cam_edu.channels.ChannelWeightMethod`): the
weighted sum and its ReLU are the base's, each class here only says how a channel's
weight comes from the gradients (pytorch-grad-cam's ``get_cam_weights``).

>>> import numpy as np
>>> g = np.ones((1, 2, 2, 3)); g[..., 2] = -1.0  # gradients (N, H, W, K)
>>> GradCAM.channel_weights(None, np.ones_like(g), g)  # the mean over positions
array([[ 1.,  1., -1.]])
>>> maps, logits = grad_cam(model, images)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from cam_edu.channels import ChannelWeightMethod


class GradCAM(ChannelWeightMethod):
    """Grad-CAM: a channel's weight is its gradient averaged over the positions."""

    display_name = "Grad-CAM"

    def channel_weights(self, activations, gradients, images=None, classes=None):
        """``alpha[n, k] = mean over (i, j) of g[n, i, j, k]``, ``(N, K)``."""
        return gradients.mean(axis=(1, 2))


class GradCAMPlusPlus(ChannelWeightMethod):
    """Grad-CAM++: positive gradients, weighted per position by the closed-form ``a_k(i,j)``."""

    display_name = "Grad-CAM++"

    def channel_weights(self, activations, gradients, images=None, classes=None):
        """``alpha[n, k] = sum over (i, j) of a[n, i, j, k] * ReLU(g[n, i, j, k])``, ``(N, K)``.

        ``a = g^2 / (2 g^2 + sum_{a,b} A[n, a, b, k] * g^3)`` (pytorch-grad-cam's form,
        without its epsilon); where that denominator is 0 (``g = 0``, or
        ``sum A * g = -2``) the position gets ``a = 0``: it adds nothing.
        """
        grads = gradients
        g2 = grads**2
        g3 = g2 * grads
        sum_a = activations.sum(axis=(1, 2), keepdims=True)
        denominator = 2.0 * g2 + sum_a * g3
        nonzero = denominator != 0.0
        alpha = np.where(nonzero, g2 / np.where(nonzero, denominator, 1.0), 0.0)
        return (alpha * np.maximum(grads, 0.0)).sum(axis=(1, 2))


def grad_cam(model, images, class_index=None, layer: str | None = None, output=None):
    """Grad-CAM maps of a batch, one target class per image.

    Args:
        model: a built Keras CNN; any head (Flatten, several Dense, GAP ...).
        images: a batch the model accepts, ``(N, H_in, W_in, channels)``.
        class_index: ``None`` (each image's predicted class), an int, or ``(N,)`` ints.
        layer: a layer with 4-D output; ``None`` = the tensor the global pooling reads
            (else the last 4-D one). A wrong name raises ``ValueError`` listing the candidates.
        output: for a model with several outputs, the explained one (a name or an index;
            ``None``: the first, with a warning saying so).

    Returns:
        ``(maps, logits)``: ``(N, H, W)`` maps at the layer's resolution (after
        ReLU, not normalized) and the pre-softmax logits ``(N, C)``. A one-unit
        sigmoid head counts as two classes with logits ``[-z, z]``, as in
        :func:`cam_edu.cam.cam_head`. Do not softmax those two logits
        (``softmax([-z, z]) = sigmoid(2 z)``, not the model's ``sigmoid(z)``); use
        ``cam_edu.cam.class_probabilities(logits, binary=True)``.

    >>> maps, logits = grad_cam(model, x_test[:4], layer="conv2")  # doctest: +SKIP
    """
    return GradCAM(model, layer, output)(images, class_index)


def grad_cam_plus_plus(model, images, class_index=None, layer: str | None = None, output=None):
    """Grad-CAM++ maps of a batch; arguments and returns as :func:`grad_cam`.

    >>> maps, logits = grad_cam_plus_plus(model, x_test[:4])  # doctest: +SKIP
    """
    return GradCAMPlusPlus(model, layer, output)(images, class_index)
