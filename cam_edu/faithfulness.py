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


# --- every method on one test set: the lesson's table -------------------------------------


class BoxTruth:
    """Localization against true boxes, per image: box IoU >= ``min_iou`` and pointing game.

    One of the ``truth`` objects :func:`compare_methods` takes: ``per_image(maps)`` gives
    ``{column: (N,) values}``, ``summary(values)`` one number per column, ``chance`` the
    same numbers for a map that knows nothing, and ``higher_is_better`` per column.

    Args:
        boxes: ``(N, 4)`` true boxes ``(y0, x0, y1, x1)``, exclusive ends, image pixels.
        image_shape: ``(H, W)`` of the images (for the chance of the pointing game).
        threshold: the box rule's fraction of the map's maximum (CAM paper: 0.2).
        min_iou: IoU for a box to count as found (CAM paper: 0.5).

    The chance of the pointing game is the mean fraction of the image the true box
    covers: where a maximum drawn uniformly at random lands in the box.

    >>> truth = BoxTruth([(0, 0, 4, 4), (4, 4, 8, 8)], (8, 8))
    >>> maps = np.zeros((2, 8, 8)); maps[:, :4, :4] = 1.0
    >>> {k: v.tolist() for k, v in truth.per_image(maps).items()}
    {'box IoU>=0.5': [1.0, 0.0], 'pointing': [1.0, 0.0]}
    >>> truth.chance
    {'box IoU>=0.5': nan, 'pointing': 0.25}
    """

    def __init__(self, boxes, image_shape, threshold: float = 0.2, min_iou: float = 0.5):
        self.boxes = [as_box(b, "boxes[i]") for b in boxes]
        self.threshold, self.min_iou = threshold, min_iou
        self.columns = (f"box IoU>={min_iou:g}", "pointing")
        self.higher_is_better = dict.fromkeys(self.columns, True)
        height, width = image_shape[:2]
        covered = np.mean([(y1 - y0) * (x1 - x0) for y0, x0, y1, x1 in self.boxes])
        self.chance = {self.columns[0]: float("nan"), "pointing": float(covered / height / width)}

    def per_image(self, maps) -> dict[str, np.ndarray]:
        """``{column: (N,)}``: 1.0 where the box is found / the maximum is in the box."""
        from cam_edu.localize import iou

        scores = box_accuracy(maps, self.boxes, self.threshold, self.min_iou)
        found = [
            b is not None and iou(b, t) >= self.min_iou
            for b, t in zip(scores.boxes, self.boxes, strict=True)
        ]
        hits = pointing_game(maps, self.boxes)
        return {self.columns[0]: np.array(found, float), "pointing": hits.astype(float)}

    def summary(self, values: dict[str, np.ndarray]) -> dict[str, float]:
        """The fraction of images per column."""
        return {c: float(np.mean(values[c])) for c in self.columns}


class MethodComparison(NamedTuple):
    """Every method on one test set; made by :func:`compare_methods`.

    Attributes:
        name: the test set, for titles.
        methods: ``{key: display name}`` in order.
        maps: ``{key: (N, h, w)}`` maps of the trained model.
        per_image: ``{key: {column: (N,)}}``: localization columns, ``"deletion AUC"``,
            ``"insertion AUC"``, ``"randomization rho"`` (Spearman correlation of the
            map with the randomized model's map; NaN if either is constant) and
            ``"randomization |rho|"``, its absolute value: -1 (an inverted ranking) is as
            far from "unrelated" as +1, so the table ranks by ``|rho|``.
        summary: ``{key: {column: value}}``: the truth's summaries, means of the AUCs,
            and the mean of the defined ``|rho|``.
        chance: the truth's chance values (a map that knows nothing).
        higher_is_better: ``{column: bool}``.
        curves: ``{key: (fractions (S,), deletion (N, S), insertion (N, S))}``.
        cost: ``{key: seconds of the method / seconds of one forward pass}``, same images.
        classes: ``(N,)`` the explained classes.
    """

    name: str
    methods: dict
    maps: dict
    per_image: dict
    summary: dict
    chance: dict
    higher_is_better: dict
    curves: dict
    cost: dict
    classes: np.ndarray

    @property
    def columns(self) -> list[str]:
        """The table's columns, in order."""
        return list(self.higher_is_better)

    def table(self, digits: int = 3) -> str:
        """The table as text: one row per method, one column per metric, and chance."""
        cols = self.columns
        width = max(len(c) for c in cols) + 2
        head = f"{self.name:<12}" + "".join(f"{c:>{width}}" for c in cols)
        arrows = " " * 12 + "".join(
            f"{'(higher better)' if self.higher_is_better[c] else '(lower better)':>{width}}"
            for c in cols
        )
        lines = [head, arrows]
        for key, shown in self.methods.items():
            cells = "".join(f"{self.summary[key][c]:>{width}.{digits}f}" for c in cols)
            lines.append(f"{shown:<12}{cells}")
        chance = "".join(
            f"{self.chance[c]:>{width}.{digits}f}"
            if c in self.chance and np.isfinite(self.chance[c])
            else f"{'':>{width}}"
            for c in cols
        )
        lines.append(f"{'chance':<12}{chance}")
        return "\n".join(lines)

    def cost_table(self) -> str:
        """The cost of each method, in forward passes of the same images (a timing)."""
        lines = [f"{self.name}: cost in forward passes of the same {len(self.classes)} images"]
        lines += [f"  {shown:<12}{self.cost[key]:>10.1f} x" for key, shown in self.methods.items()]
        return "\n".join(lines)

    def difference(
        self, column: str, a: str, b: str, statistic=np.nanmean, n_boot: int = 2000, seed: int = 0
    ):
        """``statistic`` of method ``a`` minus that of ``b`` on ``column``, with a paired bootstrap.

        See :func:`bootstrap_difference`.
        """
        return bootstrap_difference(
            self.per_image[a][column], self.per_image[b][column], statistic, n_boot, seed
        )


class Difference(NamedTuple):
    """A difference of two statistics and its bootstrap interval.

    Attributes:
        estimate: the statistic of ``a`` minus that of ``b`` on all images.
        low, high: the 2.5 and 97.5 percentiles of the bootstrap differences.
    """

    estimate: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.estimate:+.3f} [95% CI {self.low:+.3f}, {self.high:+.3f}]"


def bootstrap_difference(
    a, b, statistic=np.nanmean, n_boot: int = 2000, seed: int = 0
) -> Difference:
    """``statistic(a) - statistic(b)`` with a seeded, paired percentile bootstrap interval.

    ``a`` and ``b`` are ``(N,)`` values of two methods on the same images; each of the
    ``n_boot`` resamples draws ``N`` images with replacement and takes the same images
    for both, so the interval is that of a paired comparison.

    >>> d = bootstrap_difference(np.arange(10.0), np.arange(10.0) - 1, n_boot=200)
    >>> print(d)
    +1.000 [95% CI +1.000, +1.000]
    """
    a = as_float_array(a, "a").astype(np.float64).ravel()
    b = as_float_array(b, "b").astype(np.float64).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"a and b must be values on the same images; got shapes {a.shape}, {b.shape}."
        )
    rows = np.random.default_rng(seed).integers(0, a.size, (n_boot, a.size))
    draws = statistic(a[rows], axis=1) - statistic(b[rows], axis=1)
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return Difference(float(statistic(a) - statistic(b)), float(low), float(high))


def _per_image_spearman(maps_a: np.ndarray, maps_b: np.ndarray) -> np.ndarray:
    from scipy.stats import spearmanr

    return np.array(
        [
            spearmanr(x.ravel(), y.ravel()).statistic if np.ptp(x) > 0 and np.ptp(y) > 0 else np.nan
            for x, y in zip(maps_a, maps_b, strict=True)
        ]
    )


def compare_methods(
    model,
    images,
    truth,
    methods=None,
    class_index=None,
    layer: str | None = None,
    options: dict | None = None,
    steps: int = 25,
    deletion_baseline=0.0,
    insertion_baseline="blur",
    seed: int = 0,
    name: str = "",
) -> MethodComparison:
    """Every map method on one test set: localization against the truth, deletion and
    insertion AUC, the randomization check, and the cost in forward passes.

    For each method of ``methods`` (keys of :data:`cam_edu.methods.METHODS`) the maps of
    ``images`` ``(N, H, W, channels)`` for the classes ``class_index`` are computed once
    and timed; the same call on a forward pass of the images (:func:`cam_edu.timing.time_call`)
    gives the cost as a ratio measured in the same run. Then, per image:
    ``truth.per_image(maps at image size)`` (e.g. :class:`BoxTruth`, or
    :class:`cam_edu.course.cantilever.localization.PeakTruth`), the areas under the
    deletion curve and the insertion curve with ``steps`` steps and the baselines given
    (:func:`deletion_curve`, :func:`insertion_curve`), and the Spearman correlation
    between the map and the map of a copy of the model with random weights
    (``keras.models.clone_model`` after ``keras.utils.set_random_seed(seed)``, as
    :func:`randomization_correlation`: every layer at once, the last step of Adebayo et
    al.'s cascade). The table reports the mean ``|rho|``: near 0 is what a map that
    depends on the weights gives.

    Args:
        model: a built Keras CNN.
        images: ``(N, H, W, channels)``.
        truth: an object with ``columns``, ``per_image(maps)``, ``summary(values)``,
            ``chance`` and ``higher_is_better``, as :class:`BoxTruth`.
        methods: keys of :data:`cam_edu.methods.METHODS` (default: all of them).
        class_index: ``None`` (the predicted classes), an int, or ``(N,)`` ints.
        layer: the explained layer, for the methods that take one.
        options: ``{key: kwargs}`` for a method, e.g. ``{"lime": {"num_samples": 300}}``.
        steps: steps of each deletion and insertion curve.
        deletion_baseline, insertion_baseline: what removed pixels become and where
            insertion starts (RISE: 0 and ``"blur"``). Choose a deletion baseline the
            model reads as "no evidence": on some data 0 is evidence itself.
        seed: seed of the random weights.
        name: the test set's name, for the table.

    Returns:
        a :class:`MethodComparison`; ``.table()`` prints it, ``.difference(...)`` gives
        bootstrap intervals of differences between methods.

    >>> result = compare_methods(model, x[:50], BoxTruth(boxes[:50], (56, 56)))  # doctest: +SKIP
    >>> print(result.table())  # doctest: +SKIP
    """
    import time

    from cam_edu.methods import METHODS
    from cam_edu.timing import time_call

    x = as_model_images(images, model)
    keys = list(METHODS) if methods is None else list(methods)
    options = options or {}
    scores = ClassScores(model, layer)
    classes = scores.targets(scores.logits(x), class_index)
    forward = time_call(lambda: scores.logits(x), repeat=5).median
    keras.utils.set_random_seed(seed)
    random = keras.models.clone_model(model)
    shown, maps, per_image, summary, curves, cost = {}, {}, {}, {}, {}, {}
    for key in keys:
        method = get_method(key)
        shown[key] = getattr(method, "display_name", key)
        kwargs = options.get(key, {})
        method(model, x[:1], class_index=classes[:1], layer=layer, **kwargs)  # warm-up
        start = time.perf_counter()
        maps[key], _ = method(model, x, class_index=classes, layer=layer, **kwargs)
        cost[key] = (time.perf_counter() - start) / forward
        big = _maps_at_image_size(maps[key], x)
        values = dict(truth.per_image(big))
        fractions, deleted = deletion_curve(model, x, big, classes, steps, deletion_baseline)
        _, inserted = insertion_curve(model, x, big, classes, steps, insertion_baseline)
        curves[key] = (fractions, deleted, inserted)
        values["deletion AUC"] = curve_auc(fractions, deleted)
        values["insertion AUC"] = curve_auc(fractions, inserted)
        random_maps, _ = method(random, x, class_index=classes, layer=layer, **kwargs)
        values["randomization rho"] = _per_image_spearman(maps[key], random_maps)
        values["randomization |rho|"] = np.abs(values["randomization rho"])
        per_image[key] = values
        summary[key] = {
            **truth.summary(values),
            "deletion AUC": float(values["deletion AUC"].mean()),
            "insertion AUC": float(values["insertion AUC"].mean()),
            "randomization |rho|": float(np.nanmean(values["randomization |rho|"]))
            if np.isfinite(values["randomization |rho|"]).any()
            else float("nan"),
        }
    better = {
        **truth.higher_is_better,
        "deletion AUC": False,
        "insertion AUC": True,
        "randomization |rho|": False,
    }
    return MethodComparison(
        name, shown, maps, per_image, summary, dict(truth.chance), better, curves, cost, classes
    )
