"""Every map method on one test set: the table, its costs and its bootstrap intervals.

:func:`compare_methods` computes, for each method of the registry
(:data:`cam_edu.methods.METHODS`), its maps once, their localization against a truth
(:class:`cam_edu.localize.BoxTruth`, or the cantilever's ``PeakTruth``), the deletion and
insertion areas (:mod:`cam_edu.faithfulness`), the randomization check
(:mod:`cam_edu.randomization`) and the cost in forward passes; :class:`MethodComparison`
prints the table; :func:`bootstrap_difference` gives a paired interval for a difference.

>>> d = bootstrap_difference(np.arange(10.0), np.arange(10.0) - 2, n_boot=200)
>>> d.estimate
2.0
"""

from __future__ import annotations

import time
from functools import partial
from typing import NamedTuple

import numpy as np

from cam_edu.faithfulness import as_steps, curve_auc, maps_at_image_size, probability_curves
from cam_edu.inputs import as_model_images
from cam_edu.layers import explained_output, require_model
from cam_edu.methods import METHODS, get_method
from cam_edu.perturbation import ClassScores, baseline_images
from cam_edu.randomization import per_image_rank_correlation, random_copy
from cam_edu.timing import compare, time_call
from cam_edu.validate import as_float_array


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
    a = as_float_array(a, "a", np.float64).ravel()
    b = as_float_array(b, "b", np.float64).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"a and b must be values on the same images; got shapes {a.shape}, {b.shape}."
        )
    rows = np.random.default_rng(seed).integers(0, a.size, (n_boot, a.size))
    draws = statistic(a[rows], axis=1) - statistic(b[rows], axis=1)
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return Difference(float(statistic(a) - statistic(b)), float(low), float(high))


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
    output=None,
) -> MethodComparison:
    """Every map method on one test set: localization against the truth, deletion and
    insertion AUC, the randomization check, and the cost in forward passes.

    For each method of ``methods`` (keys of :data:`cam_edu.methods.METHODS`) the maps of
    ``images`` ``(N, H, W, channels)`` for the classes ``class_index`` are computed once
    and timed against a forward pass of the images (:func:`cam_edu.timing.time_call`): the
    cost is a ratio measured in the same run. A call under 0.25 s (as noisy as the pass
    itself) is timed again, alternately with the pass (:func:`cam_edu.timing.compare`);
    a slower one once. Then, per image:
    ``truth.per_image(maps at image size)`` (e.g. :class:`cam_edu.localize.BoxTruth`, or
    :class:`cam_edu.course.cantilever.localization.PeakTruth`), the areas under the
    deletion curve and the insertion curve with ``steps`` steps and the baselines given
    (:func:`cam_edu.faithfulness.deletion_curve`,
    :func:`cam_edu.faithfulness.insertion_curve`), and the Spearman correlation between
    the map and the map of a copy of the model with random weights
    (:func:`cam_edu.randomization.random_copy`, made once per model and seed: every layer
    at once, the last step of Adebayo et al.'s cascade). The table reports the mean
    ``|rho|``: near 0 is what a map that depends on the weights gives.

    Args:
        model: a built Keras CNN.
        images: ``(N, H, W, channels)``.
        truth: an object with ``columns``, ``per_image(maps)``, ``summary(values)``,
            ``chance`` and ``higher_is_better``, as :class:`cam_edu.localize.BoxTruth`.
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
        output: for a model with several outputs, the explained one (a name or an index;
            ``None``: the first, with a warning that says so).

    Returns:
        a :class:`MethodComparison`; ``.table()`` prints it, ``.difference(...)`` gives
        bootstrap intervals of differences between methods.

    >>> result = compare_methods(model, x[:50], BoxTruth(boxes[:50], (56, 56)))  # doctest: +SKIP
    >>> print(result.table())  # doctest: +SKIP
    """
    index = explained_output(require_model(model), output, "compare_methods")
    x = as_model_images(images, model)  # the one check of the images; below, checked arrays
    keys = list(METHODS) if methods is None else list(methods)
    options = options or {}
    steps = as_steps(steps, x)
    scores = ClassScores(model, output=index)
    classes = scores.targets(scores.logits(x), class_index)
    deleted_base = baseline_images(x, deletion_baseline)
    inserted_base = baseline_images(x, insertion_baseline)
    forward = time_call(lambda: scores.logits(x), repeat=5).median
    random = random_copy(model, seed)
    shown, maps, per_image, summary, curves, cost = {}, {}, {}, {}, {}, {}
    for key in keys:
        method, kwargs = get_method(key), options.get(key, {})
        shown[key] = method.display_name
        run = partial(method.compute, model, x, classes, layer, index, **kwargs)
        method.compute(model, x[:1], classes[:1], layer, index, **kwargs)  # warm-up
        start = time.perf_counter()
        maps[key], _ = run()
        seconds = time.perf_counter() - start
        cost[key] = seconds / forward
        if seconds < 0.25:  # as noisy as the pass itself: timed alternately with it
            timed, passes = compare(run, lambda: scores.logits(x), repeat=5, max_seconds=2.0)
            cost[key] = timed.median / passes.median
        big = maps_at_image_size(maps[key], x)
        values = dict(truth.per_image(big))
        fractions, deleted = probability_curves(scores, x, big, classes, steps, deleted_base, False)
        _, inserted = probability_curves(scores, x, big, classes, steps, inserted_base, True)
        curves[key] = (fractions, deleted, inserted)
        values["deletion AUC"] = curve_auc(fractions, deleted)
        values["insertion AUC"] = curve_auc(fractions, inserted)
        random_maps, _ = method.compute(random, x, classes, layer, index, **kwargs)
        values["randomization rho"] = per_image_rank_correlation(maps[key], random_maps)
        values["randomization |rho|"] = rho = np.abs(values["randomization rho"])
        per_image[key] = values
        summary[key] = {
            **truth.summary(values),
            "deletion AUC": float(values["deletion AUC"].mean()),
            "insertion AUC": float(values["insertion AUC"].mean()),
            "randomization |rho|": float(np.nanmean(rho)) if np.isfinite(rho).any() else np.nan,
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
