"""The checks' own answers, written independently of the ``cam_edu`` library.

A check that compared ``cam_edu`` with itself would prove nothing about ``cam_edu``, and
the library may be reorganized without the checks noticing. So the references here use
only numpy, scipy and Keras's public API: the models' own layers, weights and
``tf.GradientTape``.

>>> f = np.ones((1, 2, 2, 3)); kernel = np.arange(6.0).reshape(3, 2)
>>> class_maps(f, kernel, np.array([1]))[0]
array([[9., 9.],
       [9., 9.]])
>>> mean_spearman(np.arange(8.0).reshape(2, 2, 2), np.arange(8.0).reshape(2, 2, 2) ** 3)
1.0
"""

from __future__ import annotations

import numpy as np


def dense_head(model) -> tuple[np.ndarray, np.ndarray]:
    """The kernel ``(K, C)`` and bias ``(C,)`` of a model's last layer (a Dense), float64."""
    kernel, bias = model.layers[-1].get_weights()
    return np.asarray(kernel, np.float64), np.asarray(bias, np.float64)


def layer_model(model, layer):
    """A ``keras.Model`` from the model's input to the output of ``layer`` (its name, or
    the layer object), built from the model's own graph."""
    import keras

    target = model.get_layer(layer) if isinstance(layer, str) else layer
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, target.output)


def features(model, images, layer="features") -> np.ndarray:
    """The feature maps ``(N, H, W, K)`` of ``layer`` for ``images``, float64."""
    return np.asarray(layer_model(model, layer)(images, training=False), np.float64)


def logits(model, images) -> np.ndarray:
    """``(N, C)``: the logits of a model whose last layer is a Dense (its activation left
    out): the model's own layers up to that Dense, then its kernel and bias."""
    kernel, bias = dense_head(model)
    pooled = np.asarray(layer_model(model, model.layers[-2])(images, training=False))
    return pooled.astype(np.float64) @ kernel + bias


def class_maps(features, kernel, classes) -> np.ndarray:
    """``(N, H, W)``: image ``n``'s map of class ``classes[n]``, ``sum_k w[k, c] f[..., k]``."""
    columns = np.asarray(kernel, np.float64)[:, np.asarray(classes)]
    return np.einsum("nhwk,kn->nhw", np.asarray(features, np.float64), columns)


def activations_and_gradients(model, layer: str, images, classes, target: str = "logit"):
    """Activations ``A`` of ``layer``, and the gradient of each image's class ``classes[n]``
    score w.r.t. ``A``: its logit (the input of the last, Dense, layer times its kernel
    plus its bias). ``target`` gives the known wrong variants: ``"probability"`` (the
    softmax of the logits) or ``"all"`` (the sum of all the logits).

    Returns ``(A, grads)``, two float64 arrays ``(N, H, W, K)``.
    """
    import tensorflow as tf

    kernel, bias = (tf.constant(w) for w in model.layers[-1].get_weights())
    split = layer_model(model, layer)
    rest = model.layers[[la.name for la in model.layers].index(layer) + 1 : -1]
    with tf.GradientTape() as tape:
        activations = split(tf.constant(images), training=False)
        tape.watch(activations)
        x = activations
        for la in rest:
            x = la(x, training=False)
        scores = tf.matmul(x, kernel) + bias
        if target == "probability":
            scores = tf.nn.softmax(scores)
        picked = tf.gather(scores, np.asarray(classes), axis=1, batch_dims=1)
        total = tf.reduce_sum(scores if target == "all" else picked)
    grads = tape.gradient(total, activations)
    return np.asarray(activations, np.float64), np.asarray(grads, np.float64)


def grad_cam_weights(grads) -> np.ndarray:
    """Grad-CAM: the gradients averaged over the positions, ``(N, H, W, K) -> (N, K)``."""
    return np.asarray(grads, np.float64).mean(axis=(1, 2))


def grad_cam_plus_plus_weights(activations, grads, eps: float = 0.0) -> np.ndarray:
    """Grad-CAM++ weights ``(N, K)`` (Chattopadhay et al. 2018, for a network piecewise
    linear in ``A``): ``a = g^2 / (2 g^2 + sum_ab A_ab g^3 + eps)``, 0 where that
    denominator is 0, summed over the positions with ``ReLU(g)``."""
    a, g = np.asarray(activations, np.float64), np.asarray(grads, np.float64)
    total = a.sum(axis=(1, 2), keepdims=True)
    denominator = 2 * g**2 + total * g**3 + eps
    safe = np.where(denominator != 0, denominator, 1.0)
    coefficient = np.where(denominator != 0, g**2 / safe, 0.0)
    return (coefficient * np.maximum(g, 0.0)).sum(axis=(1, 2))


def mean_spearman(maps_a, maps_b) -> float:
    """Mean over the images of ``scipy.stats.spearmanr`` of their two maps (average ranks
    for ties); images where a map is constant are left out; none left gives NaN."""
    from scipy.stats import spearmanr

    values = [
        spearmanr(np.ravel(a), np.ravel(b)).statistic
        for a, b in zip(np.asarray(maps_a), np.asarray(maps_b), strict=True)
        if np.ptp(a) > 0 and np.ptp(b) > 0
    ]
    return float(np.mean(values)) if values else float("nan")


def patch_starts(length: int, patch: int, stride: int, last_edge: bool = True) -> list[int]:
    """Where a patch starts along one side: every ``stride``, plus one last start at
    ``length - patch`` if the steps miss the far edge (unless ``last_edge`` is False)."""
    starts = list(range(0, length - patch + 1, stride))
    if last_edge and starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def occlusion(logits_fn, image, c, patch, stride, last_edge=True, mean=True, sign=1.0, fill=0.0):
    """Occlusion sensitivity ``(H, W)`` of one image ``(H, W, ch)``: the drop of class
    ``c``'s logit when a ``patch x patch`` square of ``fill`` covers a pixel, averaged
    over the patches that cover it (summed if not ``mean``). Pixels no patch covers are
    NaN. The other arguments make the known wrong variants."""
    image = np.asarray(image, np.float32)
    h, w = image.shape[:2]
    spots = [
        (i, j)
        for i in patch_starts(h, patch, stride, last_edge)
        for j in patch_starts(w, patch, stride, last_edge)
    ]
    copies = np.repeat(image[None], len(spots), axis=0)
    for k, (i, j) in enumerate(spots):
        copies[k, i : i + patch, j : j + patch] = fill
    base = np.asarray(logits_fn(image[None]), np.float64)[0, c]
    drops = sign * (base - np.asarray(logits_fn(copies), np.float64)[:, c])
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for (i, j), drop in zip(spots, drops, strict=True):
        total[i : i + patch, j : j + patch] += drop
        count[i : i + patch, j : j + patch] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count if mean else np.where(count > 0, total, np.nan)


def refined_peak_position(cams) -> np.ndarray:
    """Where each CAM ``(N, H, W)`` peaks along its columns, as a fraction of the width:
    the row-averaged profile's top column ``j``, moved to the top of the parabola
    through ``j`` and its neighbours (not at the first or last column, nor without
    curvature): ``(j + 0.5 + t) / W``."""
    profile = np.asarray(cams, np.float64).mean(axis=1)
    width = profile.shape[1]
    positions = []
    for row in profile:
        j = int(row.argmax())
        t = 0.0
        if 0 < j < width - 1:
            left, mid, right = row[j - 1 : j + 2]
            curvature = left - 2 * mid + right
            if curvature < 0:
                t = 0.5 * (left - right) / curvature
        positions.append((j + 0.5 + t) / width)
    return np.array(positions)
