r"""Maps from perturbing the input: occlusion, LIME and Score-CAM.

Grad-CAM reads the gradient; these methods only run the model, on altered copies of
each image, and watch the class score:

- **occlusion** (Zeiler & Fergus, ECCV 2014): slide a patch over the image and record
  how much the class logit drops where the patch sits;
- **LIME** (Ribeiro et al., KDD 2016): switch superpixels on and off at random and fit
  a weighted linear model of the class probability; a superpixel's map value is its
  coefficient (through the ``lime`` package's ``lime_image``);
- **Score-CAM** (Wang et al., CVPR-W 2020): weight each channel ``A_k`` of a layer by
  the class probability of the image masked by ``A_k`` (upsampled, min-max scaled).

Every function takes and returns what :func:`cam_edu.gradcam.grad_cam` does:
``(heatmaps (N, h, w), logits (N, C))``, the logits pre-softmax (a one-unit sigmoid
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

import contextlib
import itertools
import warnings
from collections.abc import Callable, Iterator
from unittest import mock

import keras
import numpy as np
import tensorflow as tf
from scipy.ndimage import gaussian_filter

from cam_edu.cam import class_probabilities
from cam_edu.channels import ChannelWeightMethod
from cam_edu.engine import engine, logits_engine
from cam_edu.extras import require
from cam_edu.inputs import as_model_images
from cam_edu.layers import output_index, require_model
from cam_edu.validate import target_classes


def _positive_int(value, name: str, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.{hint}")
    return int(value)


class ClassScores:
    """The pre-softmax class scores of a model on many images, computed in batches.

    Args:
        model: a built Keras CNN; a final softmax or sigmoid is removed (as in
            :func:`cam_edu.layers.cut_model`).
        layer: the layer whose activation :meth:`activations` returns (``None``: what
            the global pooling reads; see :func:`cam_edu.layers.find_target`).
        batch_size: images per model call.
        output: for a model with several outputs, the scored one (a name or an index;
            ``None``: the first).

    Attributes:
        binary: the model has a one-unit sigmoid head, whose logit ``z`` counts as the
            two classes ``[-z, z]``.
        num_classes: ``C`` (2 for a one-unit sigmoid head).
    """

    def __init__(self, model: keras.Model, layer=None, batch_size: int = 64, output=None):
        self.model = require_model(model)
        self.batch_size = _positive_int(batch_size, "batch_size")
        self._layer, self._output = layer, output_index(model, output)
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
    x = as_model_images(images, model)
    n, height, width = x.shape[:3]
    patch = _positive_int(patch, "patch")
    stride = _positive_int(stride, "stride")
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


def _silent_bar(iterable, *args, **kwargs):
    return iterable


def lime_map(
    model,
    images,
    class_index=None,
    num_samples: int = 1000,
    seed: int = 0,
    segmentation: Callable[[np.ndarray], np.ndarray] | None = None,
    hide_color: float | None = None,
    progress: bool = False,
    batch_size: int = 64,
    output=None,
) -> tuple[np.ndarray, np.ndarray]:
    """LIME for images (Ribeiro et al. 2016), through ``lime.lime_image``.

    LIME cuts the image into superpixels (``segmentation``; default lime's quickshift,
    ``kernel_size=4, max_dist=200, ratio=0.2``), draws ``num_samples`` random on/off
    patterns of them (an off superpixel shows ``hide_color``, or its mean colour if
    ``None``), runs the model on those images (class probabilities, in batches) and
    fits a ridge regression, weighted by similarity to the full image, of the target's
    probability on the patterns. Each pixel gets its superpixel's coefficient.
    Seeded: the same ``seed`` gives the same map.

    Args:
        model: a built Keras CNN on 1-channel or 3-channel images.
        images: a batch the model accepts, ``(N, H, W, 1 or 3)``.
        class_index: ``None`` (each image's predicted class), an int, or ``(N,)`` ints.
        num_samples: random patterns per image (LIME's default is 1000).
        seed: seed of the patterns and of the segmentation.
        segmentation: a function ``(H, W, 3) -> (H, W)`` int labels, e.g.
            :func:`grid_segmentation` (square superpixels, for small images such as
            MNIST digits) or
            ``lime.wrappers.scikit_image.SegmentationAlgorithm("slic", n_segments=16)``;
            ``None`` for lime's default (quickshift), replaced by
            ``grid_segmentation(8)`` with a warning on an image where it finds a single
            superpixel (often the case for small grayscale images). Grayscale images
            reach it as 3 equal channels. A given segmentation that finds a single
            superpixel is refused (``ValueError``): the map would be constant.
        hide_color: value of a switched-off superpixel; ``None`` = its mean colour.
        progress: show lime's progress bar over the samples. lime 0.2.0.1 (the latest
            release) always shows it; with ``progress=False`` it is replaced by a plain
            loop for the duration of the call.
        batch_size: images per model call.
        output: for a model with several outputs, the explained one (name or index).

    Returns:
        ``(maps, logits)``: ``(N, H, W)`` maps at image resolution (a superpixel's
        weight, positive where showing it raises the class probability) and the
        logits ``(N, C)`` of the original images.

    >>> maps, logits = lime_map(model, x_test[:2], num_samples=500)  # doctest: +SKIP
    """
    lime_image = require("lime.lime_image", "lime", "LIME maps")

    x = as_model_images(images, model)
    num_samples = _positive_int(num_samples, "num_samples", " LIME's default is 1000.")
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(
            f"lime_map needs images (N, H, W, 1) or (N, H, W, 3), as its superpixels are "
            f"found on a colour image; got shape {x.shape}."
        )
    scores = ClassScores(model, None, batch_size, output)
    logits = scores.logits(x)
    classes = scores.targets(logits, class_index)
    gray = x.shape[-1] == 1

    def predict(batch: np.ndarray) -> np.ndarray:
        batch = batch[..., :1] if gray else batch
        return scores.probabilities(batch.astype(np.float32))

    segment = segmentation
    if segment is None:  # lime's own default, made here so that its result can be checked
        wrappers = require("lime.wrappers.scikit_image", "lime", "LIME maps")
        quickshift = wrappers.SegmentationAlgorithm(
            "quickshift", kernel_size=4, max_dist=200, ratio=0.2, random_seed=seed
        )

        def segment(image: np.ndarray) -> np.ndarray:
            labels = quickshift(image)
            if np.unique(labels).size > 1:
                return labels
            warnings.warn(
                f"lime's default segmentation (quickshift) found one superpixel in a "
                f"{image.shape[0]}x{image.shape[1]} image; using grid_segmentation(8) "
                "instead. Pass segmentation= to choose.",
                UserWarning,
                stacklevel=4,
            )
            return grid_segmentation(8)(image)

    maps = np.zeros(x.shape[:3], np.float32)
    bar = (
        contextlib.nullcontext() if progress else mock.patch.object(lime_image, "tqdm", _silent_bar)
    )
    with bar:
        for k in range(len(x)):
            explainer = lime_image.LimeImageExplainer(random_state=seed)
            image = np.repeat(x[k], 3, axis=-1) if gray else x[k]
            image = image.astype(np.float64)
            labels = _superpixels(segment(image), image.shape[:2], k)
            explanation = explainer.explain_instance(
                image,
                predict,
                labels=(int(classes[k]),),
                top_labels=None,
                hide_color=hide_color,
                num_samples=num_samples,
                batch_size=scores.batch_size,
                segmentation_fn=lambda _, labels=labels: labels,
                random_seed=seed,
            )
            weights = dict(explanation.local_exp[int(classes[k])])
            segments = explanation.segments
            lookup = np.array([weights.get(s, 0.0) for s in range(segments.max() + 1)])
            maps[k] = lookup[segments]
    return maps, logits


def _superpixels(labels, shape, k: int) -> np.ndarray:
    """Check a segmentation's labels ``(H, W)`` of image ``k``: at least 2 superpixels."""
    labels = np.asarray(labels)
    if labels.shape != tuple(shape) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"segmentation must return integer labels of shape {tuple(shape)}; got "
            f"{labels.dtype} {labels.shape} for images[{k}]."
        )
    if np.unique(labels).size < 2:
        raise ValueError(
            f"the segmentation found one superpixel in images[{k}] ({shape[0]}x{shape[1]}): "
            "LIME could only say the whole image matters. lime's default (quickshift) does "
            "this on small grayscale images; pass segmentation=grid_segmentation(8), or "
            "another function (H, W, 3) -> (H, W) labels."
        )
    return labels


def _min_max(maps: np.ndarray) -> np.ndarray:
    """Scale each ``(..., H, W)`` map to [0, 1]; a constant map becomes all zeros."""
    low = maps.min(axis=(-2, -1), keepdims=True)
    span = maps.max(axis=(-2, -1), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0)


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
            masked = (image[None] * _min_max(masks[..., 0])[..., None]).astype(np.float32)
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


def grid_segmentation(rows: int = 8, cols: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A LIME ``segmentation``: cut each image into a ``rows x cols`` grid of rectangles.

    lime's default (quickshift) looks for regions of similar colour; on a small
    grayscale image (a 28 x 28 digit, a 32 x 64 beam) it finds one region or a handful,
    and the map says nothing. A grid gives every part of the image its own superpixel,
    of ``H / rows`` by ``W / cols`` pixels (the last ones smaller if it does not divide).

    Args:
        rows: superpixels along the height.
        cols: superpixels along the width (``None``: as many as ``rows``).

    Returns:
        a function ``image (H, W, channels) -> labels (H, W)`` in ``0 .. rows * cols - 1``.

    >>> grid_segmentation(2, 3)(np.zeros((4, 6, 3)))
    array([[0, 0, 1, 1, 2, 2],
           [0, 0, 1, 1, 2, 2],
           [3, 3, 4, 4, 5, 5],
           [3, 3, 4, 4, 5, 5]])
    """
    rows = _positive_int(rows, "rows")
    cols = rows if cols is None else _positive_int(cols, "cols")

    def segment(image: np.ndarray) -> np.ndarray:
        height, width = np.shape(image)[:2]
        r = np.minimum(np.arange(height) * rows // height, rows - 1)
        c = np.minimum(np.arange(width) * cols // width, cols - 1)
        return r[:, None] * cols + c[None, :]

    segment.__name__ = f"grid_segmentation({rows}, {cols})"
    return segment
