"""How faithful is a map? Deletion and insertion curves (Petsiuk et al., RISE, BMVC 2018).

Remove the pixels from the most to the least important by the map, in ``steps`` equal
steps, and follow the class probability; a faithful map makes it fall fast (small area
under the curve). Insertion starts from a blurred image and puts the pixels back: it should
rise fast (large area). Both are measured on the model's probability (softmax, or the
sigmoid of a one-unit head).

Localization against true boxes is in :mod:`cam_edu.localize`, the randomization check in
:mod:`cam_edu.randomization`, every method on one test set in :mod:`cam_edu.comparison`.

>>> fractions = np.linspace(0, 1, 5)
>>> curve_auc(fractions, np.array([[1.0, 0.5, 0.25, 0.0, 0.0]]))
array([0.3125])
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.integrate import trapezoid

from cam_edu.inputs import as_model_images
from cam_edu.layers import explained_output, require_model
from cam_edu.perturbation import ClassScores, baseline_images
from cam_edu.validate import as_float_array, as_heatmap, as_positive_int
from cam_edu.viz import upsample


def maps_at_image_size(heatmaps, x: np.ndarray) -> np.ndarray:
    """Check one map per image ``(N, h, w)``; upsample it to the images ``x`` ``(N, H, W, ch)``."""
    maps = as_heatmap(heatmaps, "heatmaps", allow_batch=True)
    if maps.ndim != 3 or len(maps) != len(x):
        raise ValueError(
            f"heatmaps must be one map per image, shape ({len(x)}, h, w); got shape "
            f"{maps.shape}. For one image pass heatmaps[None] with images[:1]."
        )
    if maps.shape[1:] != x.shape[1:3]:
        maps = upsample(maps, tuple(x.shape[1:3]))
    return maps


def probability_curves(
    scores: ClassScores, x, maps, classes, steps: int, base, insert: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The deletion (or insertion) curves of checked arrays: images ``x`` ``(N, H, W, ch)``,
    maps at image size ``(N, H, W)``, ``classes`` ``(N,)``, the baseline images ``base``.

    Returns ``(fractions (steps + 1,), probabilities (N, steps + 1))``.
    """
    n, height, width = maps.shape
    pixels = height * width
    counts = np.round(np.linspace(0, pixels, steps + 1)).astype(int)
    start, end = (base, x) if insert else (x, base)

    def versions(k: int) -> Iterator[np.ndarray]:
        rank = np.empty(pixels, int)  # rank[p] = place of pixel p, most important first
        rank[np.argsort(-maps[k].ravel(), kind="stable")] = np.arange(pixels)
        rank = rank.reshape(height, width, 1)
        for count in counts:
            yield np.where(rank < count, end[k], start[k])[None]

    probs = np.stack([scores.probabilities(versions(k))[:, classes[k]] for k in range(n)])
    return counts / pixels, probs


def as_steps(steps, x: np.ndarray) -> int:
    """Check the number of steps of a curve on images ``x`` ``(N, H, W, ch)``: a positive
    int, at most the ``H * W`` pixels."""
    pixels = x.shape[1] * x.shape[2]
    return as_positive_int(steps, "steps", " RISE takes one step per row.", maximum=pixels)


def _curve(model, images, heatmaps, class_index, steps, baseline, batch_size, output, insert):
    who = "insertion_curve" if insert else "deletion_curve"
    index = explained_output(require_model(model), output, who)
    x = as_model_images(images, model)
    maps = maps_at_image_size(heatmaps, x)
    steps = as_steps(steps, x)
    scores = ClassScores(model, batch_size=batch_size, output=index)
    classes = scores.targets(scores.logits(x), class_index)
    base = baseline_images(x, baseline)
    return probability_curves(scores, x, maps, classes, steps, base, insert)


def deletion_curve(
    model,
    images,
    heatmaps,
    class_index=None,
    steps: int = 50,
    baseline=0.0,
    batch_size=64,
    output=None,
) -> tuple[np.ndarray, np.ndarray]:
    """The class probability as the most important pixels are removed first (RISE).

    Pixels are ranked by the map (upsampled bilinearly to the image if smaller; ties in
    row-major order). Step ``s`` replaces the top ``round(s * H * W / steps)`` pixels,
    all channels, by the baseline. All ``steps + 1`` images of a curve go through the
    model in batches.

    Args:
        model: a built Keras CNN.
        images: a batch the model accepts, ``(N, H, W, channels)``.
        heatmaps: one map per image, ``(N, h, w)`` at any resolution.
        class_index: ``None`` (each image's predicted class), an int, or ``(N,)`` ints.
        steps: number of steps; ``steps + 1`` points from 0 to all pixels.
        baseline: what a removed pixel becomes: a number (RISE: 0) or ``"blur"``.
        batch_size: images per model call.
        output: for a model with several outputs, the scored one (a name or an index;
            ``None``: the first, with a warning that says so).

    Returns:
        ``(fractions, probabilities)``: the fractions of pixels removed ``(steps + 1,)``
        and the class probability at each ``(N, steps + 1)``. Lower area is better.

    >>> fractions, probs = deletion_curve(model, x, grad_cam(model, x)[0])  # doctest: +SKIP
    """
    return _curve(model, images, heatmaps, class_index, steps, baseline, batch_size, output, False)


def insertion_curve(
    model,
    images,
    heatmaps,
    class_index=None,
    steps: int = 50,
    baseline="blur",
    batch_size=64,
    output=None,
) -> tuple[np.ndarray, np.ndarray]:
    """The class probability as the most important pixels are put back first (RISE).

    Starts from the baseline (RISE: a blurred copy) and puts the original pixels back
    in the map's order; arguments and returns as :func:`deletion_curve` (``fractions``
    are the fractions of pixels inserted). Higher area is better.

    >>> fractions, probs = insertion_curve(model, x, grad_cam(model, x)[0])  # doctest: +SKIP
    """
    return _curve(model, images, heatmaps, class_index, steps, baseline, batch_size, output, True)


def curve_auc(fractions, probabilities) -> np.ndarray:
    """Area under each curve by the trapezoid rule: ``(N,)`` from ``(S,)`` and ``(N, S)``.

    >>> curve_auc([0.0, 0.5, 1.0], [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]).tolist()
    [1.0, 0.25]
    """
    f = as_float_array(fractions, "fractions", np.float64)
    p = as_float_array(probabilities, "probabilities", np.float64)
    if f.ndim != 1 or f.size < 2 or np.any(np.diff(f) < 0):
        raise ValueError(
            f"fractions must be increasing, shape (steps + 1,) with at least 2 points; got "
            f"shape {f.shape}. Pass the first output of deletion_curve or insertion_curve."
        )
    if p.ndim != 2 or p.shape[1] != f.size:
        raise ValueError(
            f"probabilities must have shape (N, {f.size}), one curve per row; got {p.shape}."
        )
    return trapezoid(p, f, axis=1)
