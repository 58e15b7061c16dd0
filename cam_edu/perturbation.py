r"""Maps from perturbing the input: occlusion and Score-CAM, and the class scores they read.

Grad-CAM reads the gradient; these methods only run the model, on altered copies of
each image, and watch the class score (:class:`ClassScores`):

- **occlusion** (Zeiler & Fergus, ECCV 2014): slide a patch over the image and record
  how much the class logit drops where the patch sits;
- **Score-CAM** (Wang et al., CVPR-W 2020): weight each channel ``A_k`` of a layer by
  the class probability of the image masked by ``A_k`` (upsampled, min-max scaled).

LIME, the third perturbation method, is in :mod:`cam_edu.lime_maps` (it needs the
``lime`` extra). Every function takes and returns what :func:`cam_edu.gradcam.grad_cam`
does: ``(heatmaps (N, h, w), logits (N, C))``, the logits pre-softmax (a one-unit sigmoid
head counts as two classes ``[-z, z]``), and the same ``class_index`` rule. All the
altered copies go through the model in batches of ``batch_size``.

>>> import keras
>>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"),
...     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
>>> maps, logits = occlusion_map(model, np.ones((2, 8, 8, 1)), patch=4, stride=4)
>>> maps.shape, logits.shape
((2, 8, 8), (2, 3))
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf
from scipy.ndimage import gaussian_filter

from cam_edu.cam import class_probabilities
from cam_edu.channels import ChannelWeightMethod
from cam_edu.engine import engine, logits_engine
from cam_edu.inputs import as_model_images
from cam_edu.layers import explained_output, require_model
from cam_edu.validate import as_positive_int, target_classes
from cam_edu.viz import min_max


class ClassScores:
    """The pre-softmax class scores of a model on many images, computed in batches.

    Args:
        model: a built Keras CNN; a final softmax or sigmoid is removed (as in
            :func:`cam_edu.layers.cut_model`).
        layer: the layer whose activation :meth:`activations` returns (``None``: what
            the global pooling reads; see :func:`cam_edu.layers.find_target`).
        batch_size: images per model call.
        output: for a model with several outputs, the scored one (a name or an index;
            ``None``: the first, with a warning that says so).

    Attributes:
        binary: the model has a one-unit sigmoid head, whose logit ``z`` counts as the
            two classes ``[-z, z]``.
        num_classes: ``C`` (2 for a one-unit sigmoid head).
    """

    def __init__(self, model: keras.Model, layer=None, batch_size: int = 64, output=None):
        self.model = require_model(model)
        self.batch_size = as_positive_int(batch_size, "batch_size")
        self._layer, self._output = layer, explained_output(model, output, "ClassScores")
        self._scores = logits_engine(model, self._output)  # the one compiled path, per model
        self.binary = self._scores.binary
        self.num_classes = self._scores.num_classes

    def activations(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(A (N, h, w, K), logits (N, C))`` of checked images, in one call, at ``layer``."""
        return engine(self.model, self._layer, self._output).forward(np.asarray(images, np.float32))

    def logits(self, batches: Iterator[np.ndarray] | np.ndarray) -> np.ndarray:
        """Logits ``(M, C)`` of images ``(M, H, W, ch)`` or of an iterator of such batches."""
        if isinstance(batches, np.ndarray):
            batches = iter([batches])
        out = [self._scores.logits(b) for b in _rebatch(batches, self.batch_size)]
        return np.concatenate(out, axis=0)

    def probabilities(self, batches) -> np.ndarray:
        """Class probabilities ``(M, C)``: softmax, or the sigmoid of a one-unit head."""
        return class_probabilities(self.logits(batches), self.binary)

    def targets(self, logits: np.ndarray, class_index) -> np.ndarray:
        """``(N,)`` classes: each image's predicted class if ``class_index`` is None."""
        return target_classes(logits, class_index)


def _rebatch(batches: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Regroup a stream of arrays (any lengths) into arrays of ``size`` rows (the last fewer)."""
    pending, count = [], 0
    for b in batches:
        pending.append(b)
        count += len(b)
        while count >= size:
            joined = np.concatenate(pending, axis=0)
            yield joined[:size]
            pending, count = [joined[size:]], count - size
    if count:
        yield np.concatenate(pending, axis=0)


BLUR_SIGMA = 5.0
"""Standard deviation in pixels of the ``"blur"`` baseline (RISE: ``klen=11, nsig=5``)."""


def baseline_images(images: np.ndarray, baseline) -> np.ndarray:
    """What removed pixels become: ``(N, H, W, ch)``, a constant or a blurred copy.

    Args:
        images: checked images ``(N, H, W, ch)``.
        baseline: a number, or ``"blur"``: a Gaussian blur of each image (sigma
            :data:`BLUR_SIGMA` pixels in a 11 x 11 window, per channel, as RISE).

    >>> baseline_images(np.ones((1, 4, 4, 1)), "blur").round(6).max()
    np.float32(1.0)
    """
    if isinstance(baseline, str):
        if baseline != "blur":
            raise ValueError(
                f"baseline must be a number or 'blur'; got {baseline!r}. RISE uses 0 for "
                "deletion and 'blur' for insertion."
            )
        sigma = (0, BLUR_SIGMA, BLUR_SIGMA, 0)
        return gaussian_filter(images, sigma, truncate=1.0, mode="nearest").astype(np.float32)
    if isinstance(baseline, bool) or not isinstance(baseline, int | float | np.number):
        raise TypeError(
            f"baseline must be a number or 'blur'; got {type(baseline).__name__} {baseline!r}."
        )
    return np.full_like(images, float(baseline), dtype=np.float32)


def _patch_starts(length: int, patch: int, stride: int) -> list[int]:
    """Start positions of the patch along one axis; the last one touches the far edge."""
    starts = list(range(0, length - patch + 1, stride))
    if starts[-1] != length - patch:
        starts.append(length - patch)
    return starts


def occlusion_map(
    model,
    images,
    class_index=None,
    patch: int = 8,
    stride: int = 4,
    baseline=0.0,
    batch_size: int = 64,
    output=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Occlusion sensitivity (Zeiler & Fergus 2014): the class logit's drop under a patch.

    A ``patch x patch`` square of ``baseline`` slides over each image with step
    ``stride`` (one extra row and column of positions so that the last patch touches the
    far edges). At each position the drop ``y_c(x) - y_c(x occluded)`` of the target's
    pre-softmax logit is recorded; a pixel's map value is the mean drop over the patches
    that cover it (as captum's ``Occlusion``). All ``N * positions`` occluded copies go
    through the model in batches of ``batch_size``.

    Args:
        model: a built Keras CNN.
        images: a batch the model accepts, ``(N, H, W, channels)``.
        class_index: ``None`` (each image's predicted class), an int, or ``(N,)`` ints.
        patch: side of the square occluder in pixels, at most ``min(H, W)``.
        stride: step between patch positions in pixels.
        baseline: the occluder: a number (0 = black for [0, 1] images), or ``"blur"``
            for the same patch of a blurred copy (see :func:`baseline_images`).
        batch_size: images per model call.
        output: for a model with several outputs, the explained one (name or index).

    Returns:
        ``(maps, logits)``: ``(N, H, W)`` maps at image resolution (positive where
        hiding the pixels lowers the class score) and the logits ``(N, C)`` of the
        original images.

    >>> maps, logits = occlusion_map(model, x_test[:4], patch=7, stride=7)  # doctest: +SKIP
    """
    index = explained_output(require_model(model), output, "Occlusion")
    x = as_model_images(images, model)
    return occlude(model, x, class_index, patch, stride, baseline, batch_size, index)


def occlude(
    model, x, class_index=None, patch=8, stride=4, baseline=0.0, batch_size=64, output=0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`occlusion_map` of checked images ``x`` ``(N, H, W, ch)`` float32 (the model's
    batch, :func:`cam_edu.inputs.as_model_images`) at output index ``output``.

    The registry (:meth:`cam_edu.methods.Method.compute`) calls it behind a public door
    that checked the images once.
    """
    n, height, width = x.shape[:3]
    patch, stride = as_positive_int(patch, "patch"), as_positive_int(stride, "stride")
    if patch > min(height, width):
        raise ValueError(
            f"patch must be at most the image's side min(H, W) = {min(height, width)}; got "
            f"{patch}. Use a smaller patch (e.g. {max(1, min(height, width) // 4)})."
        )
    base = baseline_images(x, baseline)
    scores = ClassScores(model, None, batch_size, output)
    logits = scores.logits(x)
    classes = scores.targets(logits, class_index)
    positions = [
        (i, j)
        for i in _patch_starts(height, patch, stride)
        for j in _patch_starts(width, patch, stride)
    ]

    def occluded(k: int) -> Iterator[np.ndarray]:
        for i, j in positions:
            copy = x[k : k + 1].copy()
            copy[:, i : i + patch, j : j + patch] = base[k, i : i + patch, j : j + patch]
            yield copy

    maps = np.zeros((n, height, width), np.float64)
    covered = np.zeros((height, width), np.float64)
    for i, j in positions:
        covered[i : i + patch, j : j + patch] += 1
    for k in range(n):
        # the image itself goes first in the stream of its occluded copies: computed in the
        # same batch, an occlusion that changes nothing gives a drop of exactly 0
        scored = scores.logits(itertools.chain([x[k : k + 1]], occluded(k)))[:, classes[k]]
        drops = scored[0] - scored[1:]
        for (i, j), drop in zip(positions, drops, strict=True):
            maps[k, i : i + patch, j : j + patch] += drop
    return (maps / covered).astype(np.float32), logits


class ScoreCAM(ChannelWeightMethod):
    """Score-CAM: a channel's weight is the class probability of the image it masks.

    Args:
        model, layer, output: as :class:`cam_edu.channels.ChannelWeightMethod`.
        batch_size: masked images per model call.
    """

    display_name = "Score-CAM"
    needs_gradients = False

    def __init__(self, model, layer=None, output=None, batch_size: int = 64):
        super().__init__(model, layer, output)
        self.scores = ClassScores(model, None, batch_size, self.output_index)

    def channel_weights(self, activations, gradients, images=None, classes=None):
        """``w[n, k]`` = the probability of class ``c_n`` on image ``n`` times the mask
        ``H_k`` (channel ``k`` upsampled, min-max scaled), ``(N, K)``."""
        size = images.shape[1:3]
        weights = np.zeros((len(images), activations.shape[-1]), np.float64)
        for n, (image, activation) in enumerate(zip(images, activations, strict=True)):
            channels = np.moveaxis(activation, -1, 0)  # (K, h, w)
            masks = tf.image.resize(channels[..., None], size, method="bilinear").numpy()
            masked = (image[None] * min_max(masks[..., 0])[..., None]).astype(np.float32)
            weights[n] = self.scores.probabilities(masked)[:, classes[n]]
        return weights


def score_cam_weights(
    model, images, class_index=None, layer: str | None = None, batch_size: int = 64, output=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score-CAM's channel weights: the class probability of the image masked by each channel.

    Each channel ``A_k`` ``(h, w)`` of the layer is upsampled (bilinear) to the image and
    min-max scaled to a mask ``H_k`` in [0, 1] (a constant channel gives an all-zero
    mask); the weight ``w_k`` is the target class's probability on ``image * H_k``
    (:meth:`ScoreCAM.channel_weights`). :func:`score_cam` sums the channels with them.

    Args:
        model, images, class_index, layer, batch_size, output: as :func:`score_cam`.

    Returns:
        ``(weights, activations, logits)``: the weights ``(N, K)`` in [0, 1], the layer's
        activations ``(N, h, w, K)`` and the logits ``(N, C)`` of the unmasked images.

    >>> weights, A, logits = score_cam_weights(model, x_test[:4], layer="conv2")  # doctest: +SKIP
    """
    method = ScoreCAM(model, layer, output, batch_size)
    x = as_model_images(images, model)
    activations, logits = method.engine.forward(x)
    classes = target_classes(logits, class_index)
    return method.channel_weights(activations, None, x, classes), activations, logits


def score_cam(
    model, images, class_index=None, layer: str | None = None, batch_size: int = 64, output=None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Score-CAM (Wang et al. 2020): channels weighted by the scores of masked inputs.

    Each channel ``A_k`` ``(h, w)`` of the layer is upsampled (bilinear) to the image,
    min-max scaled to a mask ``H_k`` in [0, 1] (a constant channel gives an all-zero
    mask), and the image times ``H_k`` goes through the model. The channel's weight is
    the target class's **softmax probability** on that masked image, as in the paper
    and the authors' code (the sigmoid for a one-unit sigmoid head); the map is
    :math:`\mathrm{ReLU}(\sum_k w_k A_k)` at the layer's resolution. The paper's
    baseline term :math:`f(X_b)` is left out, as in the authors' code and
    tf-keras-vis. The weights are :func:`score_cam_weights`.

    Args:
        model: a built Keras CNN.
        images: a batch the model accepts, ``(N, H, W, channels)``.
        class_index: ``None`` (each image's predicted class), an int, or ``(N,)`` ints.
        layer: a layer with 4-D output; ``None`` = the last one.
        batch_size: images per model call.
        output: for a model with several outputs, the explained one (name or index).

    Returns:
        ``(maps, logits)``: ``(N, h, w)`` maps at the layer's resolution (after ReLU,
        not normalized) and the logits ``(N, C)``, as :func:`cam_edu.gradcam.grad_cam`.

    >>> maps, logits = score_cam(model, x_test[:4], layer="conv2")  # doctest: +SKIP
    """
    return ScoreCAM(model, layer, output, batch_size)(images, class_index)
