r"""LIME maps (Ribeiro et al., KDD 2016), through the ``lime`` package: ``pip install
"cam_edu[lime]"``.

Switch superpixels on and off at random, run the model on those images and fit a
weighted linear model of the class probability; a superpixel's map value is its
coefficient (``lime.lime_image``). :func:`lime_map` takes and returns what
:func:`cam_edu.gradcam.grad_cam` does: ``(heatmaps (N, H, W), logits (N, C))``.
:func:`grid_segmentation` gives small grayscale images (digits, beams) superpixels that
lime's default (quickshift) does not find.

>>> grid_segmentation(2, 2)(np.zeros((2, 4, 3))).tolist()
[[0, 0, 1, 1], [2, 2, 3, 3]]
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from unittest import mock

import numpy as np

from cam_edu.extras import require
from cam_edu.inputs import as_model_images
from cam_edu.layers import explained_output, require_model
from cam_edu.perturbation import ClassScores
from cam_edu.validate import as_positive_int, user_stacklevel


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
    index = explained_output(require_model(model), output, "LIME")
    x = as_model_images(images, model)
    options = {"segmentation": segmentation, "hide_color": hide_color, "progress": progress}
    return fit_lime(
        model, x, class_index, num_samples, seed, batch_size=batch_size, output=index, **options
    )


def fit_lime(
    model,
    x: np.ndarray,
    class_index=None,
    num_samples: int = 1000,
    seed: int = 0,
    segmentation=None,
    hide_color=None,
    progress: bool = False,
    batch_size: int = 64,
    output=0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`lime_map` of checked images ``x`` ``(N, H, W, 1 or 3)`` float32 (the model's
    batch, :func:`cam_edu.inputs.as_model_images`) at output index ``output``.

    The registry (:meth:`cam_edu.methods.Method.compute`) calls it behind a public door
    that checked the images once.
    """
    lime_image = require("lime.lime_image", "lime", "LIME maps")
    num_samples = as_positive_int(num_samples, "num_samples", " LIME's default is 1000.")
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

    segment = _default_segmentation(seed) if segmentation is None else segmentation
    maps = np.zeros(x.shape[:3], np.float32)
    quiet = mock.patch.object(lime_image, "tqdm", lambda iterable, *args, **kwargs: iterable)
    with contextlib.nullcontext() if progress else quiet:
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


def _default_segmentation(seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """lime's own default (quickshift), made here so that its result can be checked: on an
    image where it finds one superpixel, :func:`grid_segmentation` ``(8)`` with a warning."""
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
            stacklevel=user_stacklevel(),
        )
        return grid_segmentation(8)(image)

    return segment


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
    rows = as_positive_int(rows, "rows")
    cols = rows if cols is None else as_positive_int(cols, "cols")

    def segment(image: np.ndarray) -> np.ndarray:
        height, width = np.shape(image)[:2]
        r = np.minimum(np.arange(height) * rows // height, rows - 1)
        c = np.minimum(np.arange(width) * cols // width, cols - 1)
        return r[:, None] * cols + c[None, :]

    segment.__name__ = f"grid_segmentation({rows}, {cols})"
    return segment
