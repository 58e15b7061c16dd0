"""The model-randomization sanity check (Adebayo et al., NeurIPS 2018), for any map method.

A method that explains the model must change its maps when the model's weights are
destroyed; one that only reflects the image (an edge detector) does not. The maps of the
trained model and of a randomized copy are compared by Spearman's rank correlation
(:func:`per_image_rank_correlation`: ties get their average rank, as
``scipy.stats.spearmanr`` does, and a constant map has no ranking, so NaN).

The random weights come from ``keras.models.clone_model`` (each layer's own initializers),
the same as after ``keras.utils.set_random_seed(seed)``, without changing the user's random
state. The copies are made once per model and seed and kept as long as the model
(:func:`cam_edu.engine.model_cache`).

>>> import numpy as np
>>> a = np.arange(8.0).reshape(2, 2, 2)
>>> rank_correlation(a, a ** 3), rank_correlation(a, -a)
(1.0, -1.0)
"""

from __future__ import annotations

import random
from typing import NamedTuple

import keras
import numpy as np
from scipy.stats import spearmanr

from cam_edu.engine import model_cache
from cam_edu.inputs import as_model_images
from cam_edu.layers import explained_output, require_model, walk_layers
from cam_edu.methods import get_method
from cam_edu.validate import target_classes


class RandomizationStep(NamedTuple):
    """One step of the randomization check.

    Attributes:
        layer: the layer randomized last (``"none (trained)"`` for the start,
            ``"all layers"`` when all are randomized at once).
        maps: the maps ``(N, H, W)`` of the model at this step.
        spearman: Spearman rank correlation with the trained model's maps, mean over
            the images (NaN if every map is constant, e.g. all zero after ReLU).
    """

    layer: str
    maps: np.ndarray
    spearman: float


def per_image_rank_correlation(maps_a, maps_b) -> np.ndarray:
    """Spearman's rank correlation of each pair of maps, ``(N,)`` from two ``(N, H, W)``.

    Ties get their average rank; an image where either map is constant (no ranking)
    gets NaN.

    >>> a = np.array([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 1.0], [1.0, 1.0]]])
    >>> per_image_rank_correlation(a, -a).tolist()
    [-1.0, nan]
    """
    a, b = np.asarray(maps_a, np.float64), np.asarray(maps_b, np.float64)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(
            f"maps_a and maps_b must both have shape (N, H, W); got {a.shape} and {b.shape}."
        )
    return np.array(
        [
            spearmanr(x.ravel(), y.ravel()).statistic if np.ptp(x) > 0 and np.ptp(y) > 0 else np.nan
            for x, y in zip(a, b, strict=True)
        ]
    )


def rank_correlation(maps_a, maps_b, absolute: bool = False) -> float:
    """Mean over images of :func:`per_image_rank_correlation`, leaving out the images
    where a map is constant; NaN if all are. With ``absolute``, the mean of ``|rho|``: an
    inverted ranking (-1) is as far from "unrelated" as +1 (the randomization column of
    :func:`cam_edu.comparison.compare_methods`).

    >>> rank_correlation(np.ones((1, 2, 2)), np.ones((1, 2, 2)))
    nan
    >>> a = np.arange(8.0).reshape(2, 2, 2)
    >>> rank_correlation(a, np.stack([a[0], -a[1]])), rank_correlation(a, -a, absolute=True)
    (0.0, 1.0)
    """
    values = per_image_rank_correlation(maps_a, maps_b)
    if not np.isfinite(values).any():
        return float("nan")
    return float(np.nanmean(np.abs(values) if absolute else values))


def untied_rank_correlation(maps_a, maps_b, orders: int = 20, seed: int = 0) -> np.ndarray:
    """:func:`rank_correlation` with ``absolute``, ties broken in random order: ``(orders,)``,
    one mean ``|rho|`` per random order (seeded).

    Spearman gives tied cells one shared rank, so two maps that are both 0 on the same
    cells (after a ReLU, or on a black background) agree there by construction. A noise
    far below the gaps between a map's values (``1e-9`` of its range) breaks every tie in
    random order; the spread over ``orders`` shows how much one order matters.

    >>> a = np.arange(8.0).reshape(2, 2, 2)
    >>> untied_rank_correlation(a, a, orders=2).round(6).tolist()
    [1.0, 1.0]
    """
    a, b = np.asarray(maps_a, np.float64), np.asarray(maps_b, np.float64)
    rng = np.random.default_rng(seed)

    def untie(m):
        return m + 1e-9 * np.ptp(m, axis=(1, 2), keepdims=True) * rng.random(m.shape)

    return np.array([rank_correlation(untie(a), untie(b), True) for _ in range(orders)])


def chance_floor(maps_a, maps_b, orders: int = 20, seed: int = 0) -> np.ndarray:
    """The ``|rho|`` of unrelated maps of the same kind: :func:`untied_rank_correlation`
    of map ``i`` of ``maps_a`` with map ``i + 1`` of ``maps_b`` (the last with the first),
    ``(orders,)``; both ``(N, H, W)``, ``N >= 2``.

    For ``n`` independent cells the mean ``|rho|`` is about ``sqrt(2 / pi) / sqrt(n - 1)``
    (0.057 for 196); smooth maps have fewer independent cells and score more by chance.
    Read a randomization ``|rho|`` against the floor of the same method's maps, e.g. the
    trained maps and those of the random network.

    >>> smooth = np.kron(np.random.default_rng(0).random((400, 7, 7)), np.ones((1, 2, 2)))
    >>> round(float(chance_floor(smooth, smooth, orders=1)[0]), 2)  # 49 independent cells: 0.115
    0.11
    """
    b = np.asarray(maps_b)
    if b.ndim != 3 or len(b) < 2:
        raise ValueError(f"maps_b must have shape (N, H, W) with N >= 2; got {b.shape}.")
    return untied_rank_correlation(maps_a, np.roll(b, -1, axis=0), orders, seed)


def weighted_layers(model: keras.Model) -> list:
    """The layers with weights (nested ones included, models themselves not), in order."""
    layers = (la for la, _ in walk_layers(model) if not isinstance(la, keras.Model))
    return [la for la in layers if la.weights]


def random_copy(model: keras.Model, seed: int = 0) -> keras.Model:
    """A copy of ``model`` with fresh random weights (each layer's own initializers), made
    once per model and seed and kept as long as the model.

    The weights are those of ``keras.utils.set_random_seed(seed)`` then
    ``keras.models.clone_model(model)``: Keras draws an initializer's seed from Python's
    ``random`` when a layer is made, and the values from that seed. Only Python's
    ``random`` is seeded here, for the cloning alone, and put back as it was: the user's
    random state (Python, NumPy, TensorFlow, Keras) is the same after the call.
    """
    cache = model_cache(model)
    if ("random copy", seed) not in cache:
        cache["random copy", seed] = _clone(model, seed)
    return cache["random copy", seed]


def _clone(model: keras.Model, seed: int | None) -> keras.Model:
    """``keras.models.clone_model(model)`` with Python's ``random`` seeded by ``seed`` (if
    not ``None``) for the cloning alone: its state is put back after."""
    state = random.getstate()
    if seed is not None:
        random.seed(seed)
    try:
        return keras.models.clone_model(model)
    finally:
        random.setstate(state)


def _trained_copy(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (made once) with the model's current weights."""
    cache = model_cache(model)
    if "trained copy" not in cache:
        cache["trained copy"] = _clone(model, None)  # its weights are set below
    copy = cache["trained copy"]
    copy.set_weights(model.get_weights())
    return copy


def randomization_correlation(
    model,
    images,
    method,
    class_index=None,
    layer: str | None = None,
    cascading: bool = False,
    seed: int = 0,
    output=None,
) -> list[RandomizationStep]:
    """The model-randomization check (Adebayo et al. 2018) for any map method.

    Without ``cascading`` all layers are randomized at once (:func:`random_copy`); with it,
    a trained copy gets the random weights one layer at a time, from the output down
    (cumulative), as the paper's cascading test. The target classes stay the trained
    model's. ``model`` itself is never modified.

    Args:
        model: a built Keras CNN.
        images: a batch the model accepts.
        method: a name of :data:`cam_edu.methods.METHODS` or a function
            ``fn(model, images, class_index=..., layer=...) -> (maps, logits)``.
        class_index: ``None`` (the trained model's predictions), an int, or ``(N,)`` ints.
        layer: the explained layer, for the methods that take one.
        cascading: randomize layer by layer (top-down) instead of all at once.
        seed: seed of the random weights.
        output: for a model with several outputs, the explained one (a name or an index;
            ``None``: the first, with a warning that says so).

    Returns:
        a list of :class:`RandomizationStep`: the trained model first (correlation 1, or
        NaN for constant maps), then ``"all layers"``, or one step per layer with weights,
        top-down.

    >>> steps = randomization_correlation(model, x[:8], "scorecam")  # doctest: +SKIP
    """
    found = get_method(method)
    index = explained_output(require_model(model), output, "randomization_correlation")
    x = as_model_images(images, model)

    def maps_of(net, classes):
        return found.compute(net, x, classes, layer, index)

    maps, logits = maps_of(model, class_index)
    classes = target_classes(logits, class_index)
    steps = [RandomizationStep("none (trained)", maps, rank_correlation(maps, maps))]
    random_model = random_copy(model, seed)
    if not cascading:
        new_maps, _ = maps_of(random_model, classes)
        return [*steps, RandomizationStep("all layers", new_maps, rank_correlation(maps, new_maps))]
    copy = _trained_copy(model)
    pairs = zip(weighted_layers(copy), weighted_layers(random_model), strict=True)
    for target, source in reversed(list(pairs)):
        target.set_weights(source.get_weights())
        new_maps, _ = maps_of(copy, classes)
        steps.append(RandomizationStep(target.name, new_maps, rank_correlation(maps, new_maps)))
    return steps


def cascading_randomization(
    model,
    images,
    class_index=None,
    layer: str | None = None,
    method="gradcam",
    seed: int = 0,
    output=None,
) -> list[RandomizationStep]:
    """The cascading check: :func:`randomization_correlation` with ``cascading=True``.

    >>> steps = cascading_randomization(model, x_test[:8])  # doctest: +SKIP
    >>> [(s.layer, round(s.spearman, 2)) for s in steps]  # doctest: +SKIP
    """
    return randomization_correlation(model, images, method, class_index, layer, True, seed, output)
