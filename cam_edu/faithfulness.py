r"""How good is a map? Deletion and insertion curves, localization, and randomization.

- **Deletion / insertion** (Petsiuk et al., RISE, BMVC 2018): remove the pixels from
  the most to the least important by the map, in ``steps`` equal steps, and follow the
  class probability; a faithful map makes it fall fast (small area under the curve).
  Insertion starts from a blurred image and puts the pixels back: it should rise fast
  (large area). Both are measured on the model's probability (softmax, or the sigmoid of
  a one-unit head).
- **Localization** against true boxes: the pointing game (Zhang et al., ECCV 2016: is
  the map's maximum inside the box) and the CAM paper's box accuracy (IoU >= 0.5);
  :func:`error_summary` compares localization errors with a chance baseline.
- **Randomization** (Adebayo et al., NeurIPS 2018): for any method, the rank correlation
  between the maps of the trained model and of a copy with random weights.

>>> fractions = np.linspace(0, 1, 5)
>>> curve_auc(fractions, np.array([[1.0, 0.5, 0.25, 0.0, 0.0]]))
array([0.3125])
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import keras
import numpy as np
from scipy.integrate import trapezoid

from cam_edu.cam import as_model_images
from cam_edu.gradcam import RandomizationStep, rank_correlation
from cam_edu.layers import require_model, walk_layers
from cam_edu.localize import as_box, box_accuracy
from cam_edu.methods import get_method
from cam_edu.perturbation import ClassScores, baseline_images
from cam_edu.validate import as_float_array, as_heatmap
from cam_edu.viz import upsample


def _maps_at_image_size(heatmaps, x: np.ndarray) -> np.ndarray:
    maps = as_heatmap(heatmaps, "heatmaps", allow_batch=True)
    if maps.ndim != 3 or len(maps) != len(x):
        raise ValueError(
            f"heatmaps must be one map per image, shape ({len(x)}, h, w); got shape "
            f"{maps.shape}. For one image pass heatmaps[None] with images[:1]."
        )
    if maps.shape[1:] != x.shape[1:3]:
        maps = upsample(maps, tuple(x.shape[1:3]))
    return maps


def _curve(model, images, heatmaps, class_index, steps, baseline, batch_size, insert):
    x = as_model_images(images, model)
    maps = _maps_at_image_size(heatmaps, x)
    n, height, width = maps.shape
    pixels = height * width
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or not 1 <= steps:
        raise ValueError(f"steps must be a positive int (RISE: one step per row); got {steps!r}.")
    if steps > pixels:
        raise ValueError(f"steps must be at most the number of pixels {pixels}; got {steps}.")
    base = baseline_images(x, baseline)
    scores = ClassScores(model, batch_size=batch_size)
    classes = scores.targets(scores.logits(x), class_index)
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


def deletion_curve(
    model, images, heatmaps, class_index=None, steps: int = 50, baseline=0.0, batch_size=64
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

    Returns:
        ``(fractions, probabilities)``: the fractions of pixels removed ``(steps + 1,)``
        and the class probability at each ``(N, steps + 1)``. Lower area is better.

    >>> fractions, probs = deletion_curve(model, x, grad_cam(model, x)[0])  # doctest: +SKIP
    """
    return _curve(model, images, heatmaps, class_index, steps, baseline, batch_size, False)


def insertion_curve(
    model, images, heatmaps, class_index=None, steps: int = 50, baseline="blur", batch_size=64
) -> tuple[np.ndarray, np.ndarray]:
    """The class probability as the most important pixels are put back first (RISE).

    Starts from the baseline (RISE: a blurred copy) and puts the original pixels back
    in the map's order; arguments and returns as :func:`deletion_curve` (``fractions``
    are the fractions of pixels inserted). Higher area is better.

    >>> fractions, probs = insertion_curve(model, x, grad_cam(model, x)[0])  # doctest: +SKIP
    """
    return _curve(model, images, heatmaps, class_index, steps, baseline, batch_size, True)


def curve_auc(fractions, probabilities) -> np.ndarray:
    """Area under each curve by the trapezoid rule: ``(N,)`` from ``(S,)`` and ``(N, S)``.

    >>> curve_auc([0.0, 0.5, 1.0], [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]).tolist()
    [1.0, 0.25]
    """
    f = as_float_array(fractions, "fractions").astype(np.float64)
    p = as_float_array(probabilities, "probabilities").astype(np.float64)
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


class FaithfulnessScore(NamedTuple):
    """Deletion and insertion areas of one method, means over the images.

    Attributes:
        deletion_auc: area under the deletion curve (lower is better).
        insertion_auc: area under the insertion curve (higher is better).
    """

    deletion_auc: float
    insertion_auc: float


def faithfulness_scores(
    model, images, methods, class_index=None, layer: str | None = None, steps: int = 50
) -> dict[str, FaithfulnessScore]:
    """One row per method: the mean deletion and insertion AUC of its maps (RISE defaults).

    Args:
        model: a built Keras CNN.
        images: a batch the model accepts, ``(N, H, W, channels)``.
        methods: names of :data:`cam_edu.methods.METHODS` or functions with
            :func:`cam_edu.gradcam.grad_cam`'s signature (keyed by ``__name__``).
        class_index: ``None`` (the predicted classes), an int, or ``(N,)`` ints; the
            same classes for every method.
        layer: the explained layer, for the methods that take one.
        steps: steps of each curve.

    Returns:
        ``{name: FaithfulnessScore}`` in the order of ``methods``.

    >>> faithfulness_scores(model, x[:16], ["gradcam", "scorecam"])  # doctest: +SKIP
    """
    x = as_model_images(images, model)
    scores = ClassScores(model, layer)
    classes = scores.targets(scores.logits(x), class_index)
    rows = {}
    for method in methods:
        fn = get_method(method)
        maps, _ = fn(model, x, class_index=classes, layer=layer)
        fractions, deleted = deletion_curve(model, x, maps, classes, steps)
        _, inserted = insertion_curve(model, x, maps, classes, steps)
        name = method if isinstance(method, str) else fn.__name__
        rows[name] = FaithfulnessScore(
            float(curve_auc(fractions, deleted).mean()),
            float(curve_auc(fractions, inserted).mean()),
        )
    return rows


# --- localization against ground truth ----------------------------------------------------


def pointing_game(heatmaps, true_boxes, tolerance: int = 0) -> np.ndarray:
    """Whether each map's maximum lies inside its true box (Zhang et al. 2016), ``(N,)`` bool.

    Args:
        heatmaps: ``(N, H, W)`` maps at the boxes' (image) resolution.
        true_boxes: ``(N, 4)`` boxes ``(y0, x0, y1, x1)`` with exclusive ends.
        tolerance: pixels the maximum may lie outside the box (the paper: 15 at 224 px).

    The maximum is the first one in row-major order if there are ties.

    >>> maps = np.zeros((2, 8, 8)); maps[0, 2, 3] = 1.0; maps[1, 7, 7] = 1.0
    >>> pointing_game(maps, [(1, 1, 4, 4), (1, 1, 4, 4)]).tolist()
    [True, False]
    """
    maps = as_heatmap(heatmaps, "heatmaps", allow_batch=True)
    if maps.ndim != 3:
        raise ValueError(f"heatmaps must be a batch (N, H, W); got shape {maps.shape}.")
    boxes = [as_box(b, "true_boxes[i]") for b in true_boxes]
    if len(boxes) != len(maps):
        raise ValueError(f"got {len(maps)} heatmaps but {len(boxes)} true_boxes; pass one each.")
    peaks = np.unravel_index(maps.reshape(len(maps), -1).argmax(axis=1), maps.shape[1:])
    t = float(tolerance)
    return np.array(
        [
            y0 - t <= py + 0.5 <= y1 + t and x0 - t <= px + 0.5 <= x1 + t
            for (y0, x0, y1, x1), py, px in zip(boxes, *peaks, strict=True)
        ]
    )


class LocalizationScore(NamedTuple):
    """Localization of a batch of maps against true boxes.

    Attributes:
        pointing: fraction of maps whose maximum lies in the true box.
        box_accuracy: fraction whose box (20 % of max rule) has IoU >= 0.5 with the truth.
        mean_iou: mean IoU of those boxes with the truth.
    """

    pointing: float
    box_accuracy: float
    mean_iou: float


def localization_score(heatmaps, true_boxes, threshold: float = 0.2, min_iou: float = 0.5):
    """Pointing game and box accuracy (:func:`cam_edu.localize.box_accuracy`) in one row.

    >>> maps = np.zeros((2, 10, 10)); maps[0, 2:5, 3:8] = 1.0; maps[1, 6:9, 6:9] = 1.0
    >>> localization_score(maps, [(2, 3, 5, 8), (0, 0, 4, 4)])
    LocalizationScore(pointing=0.5, box_accuracy=0.5, mean_iou=0.5)
    """
    boxes = box_accuracy(heatmaps, true_boxes, threshold, min_iou)
    hits = pointing_game(heatmaps, true_boxes)
    return LocalizationScore(float(hits.mean()), boxes.accuracy, boxes.mean_iou)


class ErrorSummary(NamedTuple):
    """Localization errors against a chance baseline (e.g. in units of the beam length L).

    Attributes:
        median: median error of the method.
        p90: its 90th percentile.
        chance_median: median error of the chance baseline.
        chance_p90: 90th percentile of the chance baseline.
    """

    median: float
    p90: float
    chance_median: float
    chance_p90: float


def error_summary(errors, chance_errors) -> ErrorSummary:
    """Median and 90th percentile of ``errors`` and of ``chance_errors`` (any shapes).

    >>> error_summary([0.0, 0.5, 1.0], np.full((3, 10), 0.25))
    ErrorSummary(median=0.5, p90=0.9, chance_median=0.25, chance_p90=0.25)
    """
    e = as_float_array(errors, "errors").astype(np.float64).ravel()
    c = as_float_array(chance_errors, "chance_errors").astype(np.float64).ravel()
    if e.size == 0 or c.size == 0:
        raise ValueError("errors and chance_errors must not be empty.")
    values = (np.median(e), np.percentile(e, 90), np.median(c), np.percentile(c, 90))
    return ErrorSummary(*(float(v) for v in values))


# --- randomization sanity check -----------------------------------------------------------


def _weighted_layers(model: keras.Model) -> list:
    """The layers (nested ones included, models themselves not) with weights, in order."""
    layers = (la for la, _ in walk_layers(model) if not isinstance(la, keras.Model))
    return [la for la in layers if la.weights]


def randomization_correlation(
    model,
    images,
    method,
    class_index=None,
    layer: str | None = None,
    cascading: bool = False,
    seed: int = 0,
) -> list[RandomizationStep]:
    """The model-randomization check (Adebayo et al. 2018) for any map method.

    A copy of ``model`` with freshly initialized weights is drawn with
    ``keras.models.clone_model`` (each layer's own initializers, after
    ``keras.utils.set_random_seed(seed)``, which seeds Keras globally). Without
    ``cascading`` all layers are randomized at once; with it, a trained copy gets the
    random weights one layer at a time, from the output down (cumulative), as
    :func:`cam_edu.gradcam.cascading_randomization`. The target classes stay the
    trained model's. A method that explains the model must change its maps.

    Args:
        model: a built Keras CNN; it is not modified.
        images: a batch the model accepts.
        method: a name of :data:`cam_edu.methods.METHODS` or a function
            ``fn(model, images, class_index=..., layer=...) -> (maps, logits)``.
        class_index: ``None`` (the trained model's predictions), an int, or ``(N,)`` ints.
        layer: the explained layer, for the methods that take one.
        cascading: randomize layer by layer (top-down) instead of all at once.
        seed: seed of the random weights.

    Returns:
        a list of :class:`cam_edu.gradcam.RandomizationStep`: the trained model first
        (correlation 1, or NaN for constant maps), then ``"all layers"``, or one step
        per layer with weights, top-down.

    >>> steps = randomization_correlation(model, x[:8], "scorecam")  # doctest: +SKIP
    """
    fn = get_method(method)
    require_model(model)
    as_model_images(images, model)
    maps, logits = fn(model, images, class_index=class_index, layer=layer)
    classes = logits.argmax(axis=1) if class_index is None else class_index
    steps = [RandomizationStep("none (trained)", maps, rank_correlation(maps, maps))]
    keras.utils.set_random_seed(seed)
    random = keras.models.clone_model(model)
    if not cascading:
        new_maps, _ = fn(random, images, class_index=classes, layer=layer)
        return [*steps, RandomizationStep("all layers", new_maps, rank_correlation(maps, new_maps))]
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    pairs = zip(_weighted_layers(copy), _weighted_layers(random), strict=True)
    for target, source in reversed(list(pairs)):
        target.set_weights(source.get_weights())
        new_maps, _ = fn(copy, images, class_index=classes, layer=layer)
        steps.append(RandomizationStep(target.name, new_maps, rank_correlation(maps, new_maps)))
    return steps
