"""Global average pooling: the lecture's naive per-channel loop, and one ``reduce_mean``.

Both map feature maps ``(N, H, W, K)`` to pooled features ``(N, K)``:

.. math::  F_k = \\frac{1}{HW} \\sum_{x,y} f_k(x, y)

>>> import numpy as np
>>> f = np.arange(2 * 2 * 2 * 3, dtype="float32").reshape(2, 2, 2, 3)
>>> np.allclose(global_average_pool_loop(f), global_average_pool(f))
True
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from cam_edu.validate import as_features


def global_average_pool_loop(features) -> np.ndarray:
    """Average each channel over all positions, one channel at a time.

    This is the naive form of the lecture: for every channel ``k`` sum
    ``f_k(x, y)`` over the ``H x W`` grid and divide by ``H * W``.

    Args:
        features: feature maps, shape ``(N, H, W, K)``.

    Returns:
        pooled features, shape ``(N, K)``, float32.

    >>> global_average_pool_loop(np.ones((1, 7, 7, 4))).tolist()
    [[1.0, 1.0, 1.0, 1.0]]
    """
    f = tf.constant(as_features(features))
    _, height, width, channels = f.shape
    pooled = []
    for k in range(channels):
        channel_sum = tf.reduce_sum(f[:, :, :, k], axis=[1, 2])
        pooled.append(channel_sum / (height * width))
    return tf.stack(pooled, axis=1).numpy()


def global_average_pool(features) -> np.ndarray:
    """Average every channel over all positions at once with ``tf.reduce_mean``.

    Args:
        features: feature maps, shape ``(N, H, W, K)``.

    Returns:
        pooled features, shape ``(N, K)``, float32.

    >>> global_average_pool(np.ones((1, 7, 7, 4))).shape
    (1, 4)
    """
    return tf.reduce_mean(as_features(features), axis=[1, 2]).numpy()


def global_max_pool(features) -> np.ndarray:
    """Take every channel's maximum over all positions (GMP, the CAM paper's alternative).

    Args:
        features: feature maps, shape ``(N, H, W, K)``.

    Returns:
        pooled features, shape ``(N, K)``, float32.

    >>> global_max_pool(np.arange(4.0).reshape(1, 2, 2, 1)).tolist()
    [[3.0]]
    """
    return tf.reduce_max(as_features(features), axis=[1, 2]).numpy()
