"""Perturbation maps (occlusion, LIME, Score-CAM) and their metrics, against ground truth.

The main toy model is a *region model*: one ``H x W`` convolution with kernel ``R`` gives
the logit ``z = sum(R * x)`` of class 1 (class 0 has logit 0), so every pixel's
contribution ``R * x`` is known, the occlusion drop of a patch is the sum of the
contributions under it, and a deletion curve is ``sigmoid`` of partial sums, by hand.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import expit
from scipy.stats import pearsonr

import cam_edu
from cam_edu import faithfulness, lime_maps, localize, perturbation, randomization
from cam_edu.comparison import compare_methods
from cam_edu.course.cantilever.localization import error_summary
from cam_edu.gradcam import grad_cam
from cam_edu.methods import METHODS, get_method
from cam_edu.randomization import cascading_randomization
from cam_edu.viz import upsample

SIDE = 8


def region_model(kernel: np.ndarray, sigmoid: bool = False) -> keras.Model:
    """Logits ``[0, sum(kernel * x)]`` (or one sigmoid unit on ``sum(kernel * x)``)."""
    inp = keras.Input((SIDE, SIDE, 1))
    conv = keras.layers.Conv2D(1, SIDE, use_bias=False, name="region")
    units, activation = (1, "sigmoid") if sigmoid else (2, None)
    out = keras.layers.Dense(units, activation=activation, name="out")
    model = keras.Model(inp, out(keras.layers.Flatten()(conv(inp))))
    conv.set_weights([kernel.reshape(SIDE, SIDE, 1, 1).astype(np.float32)])
    out.set_weights([np.array([[1.0]] if sigmoid else [[0.0, 1.0]], np.float32), np.zeros(units)])
    return model


@pytest.fixture(scope="module")
def kernel():
    return np.random.default_rng(0).normal(size=(SIDE, SIDE)).astype(np.float32)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).random((3, SIDE, SIDE, 1), dtype=np.float32)


@pytest.fixture(scope="module")
def small_cnn():
    """Conv layers without pooling (layer maps at image size), 3 classes, softmax."""
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c2"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )


@pytest.fixture(scope="module")
def mobilenet():
    """A real architecture, untrained, at a small input."""
    keras.utils.set_random_seed(4)
    return keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=4
    )


# --- occlusion -----------------------------------------------------------------------------


def _occlusion_reference(kernel, image, patch, stride, base=0.0):
    """Per-pixel mean over the patches covering it of sum(R * (x - base)) under the patch."""
    contributions = kernel * (image[..., 0] - base)
    starts = sorted({*range(0, SIDE - patch + 1, stride), SIDE - patch})
    total, count = np.zeros((SIDE, SIDE)), np.zeros((SIDE, SIDE))
    for i in starts:
        for j in starts:
            total[i : i + patch, j : j + patch] += contributions[i : i + patch, j : j + patch].sum()
            count[i : i + patch, j : j + patch] += 1
    return total / count


@pytest.mark.parametrize(("patch", "stride"), [(4, 4), (3, 2), (5, 3), (1, 1)])
def test_occlusion_is_the_summed_contribution_under_the_patch(kernel, images, patch, stride):
    model = region_model(kernel)
    maps, logits = perturbation.occlusion_map(model, images, 1, patch=patch, stride=stride)
    assert maps.shape == (3, SIDE, SIDE)
    np.testing.assert_allclose(logits[:, 1], (kernel * images[..., 0]).sum(axis=(1, 2)), 1e-5)
    for k in range(3):
        ref = _occlusion_reference(kernel, images[k], patch, stride)
        np.testing.assert_allclose(maps[k], ref, rtol=1e-4, atol=1e-5)


def test_occlusion_with_a_blurred_patch(kernel, images):
    from scipy.ndimage import gaussian_filter

    maps, _ = perturbation.occlusion_map(region_model(kernel), images, 1, 3, 2, baseline="blur")
    for k in range(3):
        blurred = gaussian_filter(images[k, ..., 0], 5, truncate=1.0, mode="nearest")
        ref = _occlusion_reference(kernel, images[k], 3, 2, base=blurred)
        np.testing.assert_allclose(maps[k], ref, rtol=1e-4, atol=1e-5)


def test_occlusion_of_the_other_class_is_zero_and_batch_size_does_not_matter(kernel, images):
    model = region_model(kernel)
    maps, _ = perturbation.occlusion_map(model, images, 0, patch=4, stride=2)
    np.testing.assert_array_equal(maps, 0.0)  # class 0's logit is 0 whatever the image
    one, _ = perturbation.occlusion_map(model, images, 1, patch=3, stride=2, batch_size=1)
    many, _ = perturbation.occlusion_map(model, images, 1, patch=3, stride=2, batch_size=500)
    np.testing.assert_allclose(one, many, rtol=1e-5, atol=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weights=arrays(np.float32, (SIDE, SIDE), elements=st.floats(-2, 2, width=32)),
    image=arrays(np.float32, (SIDE, SIDE), elements=st.floats(0, 1, width=32)),
)
def test_occlusion_is_exactly_zero_where_the_model_looks_away(weights, image):
    """A model that ignores the top-left quadrant: occluding it changes nothing, bit for bit."""
    weights = weights.copy()
    weights[:4, :4] = 0.0
    maps, _ = perturbation.occlusion_map(region_model(weights), image[None, ..., None], 1, 2, 2)
    np.testing.assert_array_equal(maps[0, :4, :4], 0.0)


def test_sigmoid_head_counts_as_two_classes(kernel, images):
    maps, logits = perturbation.occlusion_map(region_model(kernel, sigmoid=True), images, 1, 4, 4)
    z = (kernel * images[..., 0]).sum(axis=(1, 2))
    np.testing.assert_allclose(logits, np.stack([-z, z], axis=1), rtol=1e-5, atol=1e-6)
    two_class, _ = perturbation.occlusion_map(region_model(kernel), images, 1, 4, 4)
    np.testing.assert_allclose(maps, two_class, rtol=1e-5, atol=1e-6)


# --- Score-CAM ----------------------------------------------------------------------------


def test_score_cam_matches_tf_keras_vis(small_cnn):
    """tf-keras-vis's Scorecam, on logits with its softmax, same classes, maps at image size."""
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.scores import CategoricalScore

    x = np.random.default_rng(5).random((4, 12, 12, 1), dtype=np.float32)
    classes = np.array([0, 2, 1, 2])
    ours, _ = perturbation.score_cam(small_cnn, x, classes, layer="c2")
    # the same layers, ending in the logits (tf-keras-vis's ReplaceToLinear fails on Keras 3)
    logits_only = keras.models.clone_model(small_cnn)  # tf-keras-vis reads layer.output,
    logits_only.set_weights(small_cnn.get_weights())  # so it needs a model of its own
    logits_only.layers[-1].activation = keras.activations.linear
    theirs = Scorecam(logits_only)(
        CategoricalScore(list(classes)),
        x,
        penultimate_layer="c2",
        expand_cam=False,
        normalize_cam=False,
        max_N=-1,
    )
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-4, atol=1e-6)


def test_score_cam_weights_are_probabilities_of_masked_images(kernel, images):
    """One channel, one class: the map is p_c(x * mask) * A, with A the layer's output."""
    model = region_model(kernel)
    maps, logits = perturbation.score_cam(model, images, 1, layer="region")
    z = logits[:, 1]  # the layer's output is z itself (1 x 1 x 1); its mask is 0 (constant)
    np.testing.assert_allclose(maps[:, 0, 0], np.maximum(z * 0.5, 0.0), rtol=1e-5, atol=1e-7)


def test_score_cam_weights_by_hand(small_cnn):
    """Layer c2 is at image size: mask k is channel k min-max scaled, its weight p_c(x * mask)."""
    x = np.random.default_rng(7).random((2, 12, 12, 1), dtype=np.float32)
    classes = np.array([2, 0])
    weights, activations, logits = perturbation.score_cam_weights(small_cnn, x, classes, "c2")
    A = keras.Model(small_cnn.inputs, small_cnn.get_layer("c2").output).predict(x, verbose=0)
    np.testing.assert_allclose(activations, A, rtol=1e-5, atol=1e-6)
    for n, c in enumerate(classes):
        low, high = A[n].min(axis=(0, 1)), A[n].max(axis=(0, 1))  # (K,)
        masks = np.where(high > low, (A[n] - low) / np.maximum(high - low, 1e-30), 0.0)
        masked = x[n] * np.moveaxis(masks, -1, 0)[..., None]  # (K, 12, 12, 1)
        expected = small_cnn.predict(masked.astype(np.float32), verbose=0)[:, c]
        np.testing.assert_allclose(weights[n], expected, rtol=1e-4, atol=1e-6)
    maps, same_logits = perturbation.score_cam(small_cnn, x, classes, layer="c2")
    np.testing.assert_allclose(maps, np.maximum(np.einsum("nhwk,nk->nhw", A, weights), 0), 1e-4)
    np.testing.assert_allclose(logits, same_logits)


def test_score_cam_on_a_real_architecture(mobilenet):
    x = np.random.default_rng(6).uniform(-1, 1, (2, 96, 96, 3)).astype(np.float32)
    layer = "block_13_expand_relu"
    maps, logits = perturbation.score_cam(mobilenet, x, layer=layer, batch_size=128)
    grad_maps, grad_logits = grad_cam(mobilenet, x, layer=layer)
    assert maps.shape == grad_maps.shape == (2, 6, 6)
    np.testing.assert_allclose(logits, grad_logits, rtol=1e-4, atol=1e-5)
    assert np.all(maps >= 0) and np.all(np.isfinite(maps)) and maps.max() > 0


def test_occlusion_on_a_real_architecture(mobilenet):
    x = np.random.default_rng(7).uniform(-1, 1, (1, 96, 96, 3)).astype(np.float32)
    maps, logits = perturbation.occlusion_map(mobilenet, x, 2, patch=32, stride=32)
    assert maps.shape == (1, 96, 96) and logits.shape == (1, 4)
    # non-overlapping patches: the map is constant on each of the 3 x 3 blocks
    blocks = maps[0].reshape(3, 32, 3, 32)
    np.testing.assert_allclose(blocks, blocks[:, :1, :, :1].repeat(32, 1).repeat(32, 3))


# --- LIME ---------------------------------------------------------------------------------


def grid(cells: int):
    """A segmentation into ``cells x cells`` square superpixels."""

    def segment(image):
        rows = np.arange(image.shape[0]) * cells // image.shape[0]
        cols = np.arange(image.shape[1]) * cells // image.shape[1]
        return rows[:, None] * cells + cols[None, :]

    return segment


def test_lime_finds_the_only_superpixel_the_model_reads(images):
    weights = np.zeros((SIDE, SIDE), np.float32)
    weights[4:, :4] = 3.0  # superpixel 2 of the 2 x 2 grid
    x = images + 0.5  # every pixel counts: x > 0.5
    kw = {"num_samples": 300, "segmentation": grid(2), "hide_color": 0.0}
    maps, _ = lime_maps.lime_map(region_model(weights), x, 1, **kw)
    cells = maps[:, ::4, ::4].reshape(3, 4)
    assert np.all(cells.argmax(axis=1) == 2)
    assert np.all(np.abs(cells[:, [0, 1, 3]]) < 0.05 * cells[:, 2:3])
    again, _ = lime_maps.lime_map(region_model(weights), x, 1, **kw)
    np.testing.assert_array_equal(maps, again)  # seeded: the same map twice


def test_lime_progress_bar_only_when_asked(images, capsys):
    model = region_model(np.ones((SIDE, SIDE), np.float32))
    kw = {"num_samples": 20, "segmentation": grid(2)}
    lime_maps.lime_map(model, images[:1], 1, **kw)
    assert capsys.readouterr().err == ""
    lime_maps.lime_map(model, images[:1], 1, progress=True, **kw)
    assert "20/20" in capsys.readouterr().err


def test_lime_on_rgb_images_and_its_default_segmentation(small_cnn):
    rgb = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, activation="relu", name="c"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    x = np.random.default_rng(8).random((2, 16, 16, 3), dtype=np.float32)
    # quickshift finds one superpixel in random 16 x 16 noise: a grid of 8 x 8 instead
    with pytest.warns(UserWarning, match="one superpixel.*grid_segmentation"):
        maps, logits = lime_maps.lime_map(rgb, x, num_samples=50, seed=1)
    assert maps.shape == (2, 16, 16) and logits.shape == (2, 3)
    assert len(np.unique(maps[0])) > 1
    with pytest.warns(UserWarning):
        again = lime_maps.lime_map(rgb, x, num_samples=50, seed=1)[0]
    np.testing.assert_array_equal(maps, again)


# --- the registry ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_is_called_the_explorers_way(name, small_cnn):
    x = np.random.default_rng(9).random((1, 12, 12, 1), dtype=np.float32)
    kwargs = {"num_samples": 30} if name == "lime" else {}
    maps, logits = METHODS[name](small_cnn, x, class_index=2, layer="c2", **kwargs)
    assert maps.ndim == 3 and len(maps) == 1 and logits.shape == (1, 3)
    _, grad_logits = grad_cam(small_cnn, x, 2, layer="c2")
    np.testing.assert_allclose(logits, grad_logits, rtol=1e-4, atol=1e-5)
    assert get_method(name) is METHODS[name]
    if METHODS[name].slow:  # the perturbation methods are exported at the top level
        assert getattr(cam_edu, METHODS[name].function.__name__) is METHODS[name].function


# --- deletion and insertion ---------------------------------------------------------------


def _curve_reference(kernel, image, heatmap, steps, start, end):
    """sigmoid(z) with the top pixels taken from ``end``, the rest from ``start`` (loops)."""
    order = np.argsort(-heatmap.ravel(), kind="stable")
    probs = []
    for s in range(steps + 1):
        count = int(round(s * SIDE * SIDE / steps))
        mixed = start.ravel().copy()
        mixed[order[:count]] = end.ravel()[order[:count]]
        probs.append(expit((kernel.ravel() * mixed).sum()))
    return np.array(probs)


@pytest.mark.parametrize("steps", [1, 5, 16, 64])
def test_deletion_and_insertion_curves_by_hand(kernel, images, steps):
    model = region_model(kernel)
    heat = np.random.default_rng(10).random((3, SIDE, SIDE))
    fractions, deleted = faithfulness.deletion_curve(model, images, heat, 1, steps, baseline=0.2)
    _, inserted = faithfulness.insertion_curve(model, images, heat, 1, steps, baseline=0.2)
    np.testing.assert_allclose(fractions, np.round(np.linspace(0, 64, steps + 1)) / 64)
    for k in range(3):
        image, base = images[k, ..., 0], np.full((SIDE, SIDE), 0.2)
        ref_del = _curve_reference(kernel, image, heat[k], steps, image, base)
        ref_ins = _curve_reference(kernel, image, heat[k], steps, base, image)
        np.testing.assert_allclose(deleted[k], ref_del, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(inserted[k], ref_ins, rtol=1e-5, atol=1e-6)


def test_insertion_starts_from_the_blurred_image_and_small_maps_are_upsampled(kernel, images):
    from scipy.ndimage import gaussian_filter

    model = region_model(kernel)
    blurred = gaussian_filter(images[..., 0], (0, 5, 5), truncate=1.0, mode="nearest")
    _, probs = faithfulness.insertion_curve(model, images, np.ones((3, 2, 2)), 1, steps=4)
    np.testing.assert_allclose(probs[:, 0], expit((kernel * blurred).sum(axis=(1, 2))), 1e-5)
    np.testing.assert_allclose(probs[:, -1], expit((kernel * images[..., 0]).sum((1, 2))), 1e-5)
    small = np.random.default_rng(11).random((3, 4, 4)).astype(np.float32)
    _, a = faithfulness.deletion_curve(model, images, small, 1, steps=8)
    _, b = faithfulness.deletion_curve(model, images, upsample(small, (SIDE, SIDE)), 1, steps=8)
    np.testing.assert_array_equal(a, b)


def test_deletion_matches_quantus_pixel_flipping(kernel, images):
    """Quantus (Hedström et al. 2023), an independent implementation: its PixelFlipping is the
    deletion curve after each step, with "black" = the image's minimum (0 here). (Its
    AUC option, return_auc_per_sample, calls np.trapz, which numpy 2.4 no longer has.)"""
    quantus = pytest.importorskip("quantus")
    x = images.copy()
    x[:, 0, 0] = 0.0
    heat = np.random.default_rng(12).random((3, SIDE, SIDE)).astype(np.float32)  # no ties
    y = np.array([1, 0, 1])
    metric = quantus.PixelFlipping(
        features_in_step=4, normalise=False, perturb_baseline="black", disable_warnings=True
    )
    kwargs = {"model": region_model(kernel), "x_batch": x, "y_batch": y}
    kwargs.update(a_batch=heat[:, None], channel_first=False, softmax=True)
    theirs = np.array(metric(**kwargs))
    _, ours = faithfulness.deletion_curve(kwargs["model"], x, heat, y, steps=16)
    np.testing.assert_allclose(ours[:, 1:], theirs, rtol=1e-5, atol=1e-6)


def test_curve_auc_is_rise_auc():
    """RISE's auc(): (sum - first/2 - last/2) / (S - 1), for evenly spaced fractions."""
    probs = np.random.default_rng(13).random((4, 11))
    rise = (probs.sum(axis=1) - probs[:, 0] / 2 - probs[:, -1] / 2) / 10
    np.testing.assert_allclose(faithfulness.curve_auc(np.linspace(0, 1, 11), probs), rise)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    weights=arrays(np.float32, (SIDE, SIDE), elements=st.floats(0, 0.25, width=32)),
    other=arrays(np.float32, (SIDE, SIDE), elements=st.floats(0, 1, width=32)),
)
def test_the_true_contributions_give_the_lowest_monotone_deletion_curve(weights, other, images):
    """Linear model, positive contributions R * x: deleting them largest first makes the
    curve fall monotonically, and below the curve of any other ranking at every step."""
    model = region_model(weights)
    x = images[:1]
    truth = weights * x[0, ..., 0]
    _, best = faithfulness.deletion_curve(model, x, truth[None], 1, steps=16)
    _, any_other = faithfulness.deletion_curve(model, x, other[None], 1, steps=16)
    assert np.all(np.diff(best[0]) <= 1e-6)
    assert np.all(best[0] <= any_other[0] + 1e-6)
    _, inserted = faithfulness.insertion_curve(model, x, truth[None], 1, steps=16, baseline=0)
    assert np.all(np.diff(inserted[0]) >= -1e-6)


def test_compare_methods_ranks_the_true_contributions_first(kernel, images):
    """A user's function is a method too: the true contributions delete fastest."""
    positive = np.abs(kernel)
    model = region_model(positive)

    def truth(model, images, class_index=None, layer=None):
        return positive * images[..., 0], model(images).numpy()

    boxes = localize.BoxTruth([(0, 0, 4, 4)] * len(images), (SIDE, SIDE))
    result = compare_methods(model, images, boxes, [truth, "occlusion"], 1, steps=16)
    assert list(result.methods.values()) == ["truth", "Occlusion"]
    fractions, deleted = faithfulness.deletion_curve(
        model, images, positive * images[..., 0], 1, 16
    )
    deletion = {shown: result.summary[key]["deletion AUC"] for key, shown in result.methods.items()}
    assert deletion["truth"] == pytest.approx(faithfulness.curve_auc(fractions, deleted).mean())
    assert deletion["truth"] <= deletion["Occlusion"] + 1e-9


# --- localization -------------------------------------------------------------------------


def test_pointing_game_and_localization_score():
    maps = np.zeros((3, 10, 10))
    maps[0, 2:5, 3:8] = np.arange(15).reshape(3, 5)  # max at (4, 7): inside (2, 3, 5, 8)
    maps[1, 0, 9] = 1.0  # max at (0, 9): outside (0, 0, 4, 4), 6 columns away
    maps[2, 5, 5] = 1.0
    boxes = [(2, 3, 5, 8), (0, 0, 4, 4), (5, 5, 6, 6)]
    assert localize.pointing_game(maps, boxes).tolist() == [True, False, True]
    assert localize.pointing_game(maps, boxes, tolerance=6).tolist() == [True, True, True]
    score = localize.localization_score(maps, boxes)
    assert score.pointing == pytest.approx(2 / 3)
    # map 0: the values >= 20 % of 14 join up to the whole box; map 1 has no box near
    assert score.mean_iou == pytest.approx((1 + 0 + 1) / 3)
    assert score.box_accuracy == pytest.approx(2 / 3)


def test_error_summary_of_perfect_and_chance_guesses():
    from cam_edu.course.cantilever import chance_localization_errors

    true = np.random.default_rng(14).random(200)
    chance = chance_localization_errors(true, draws=50, seed=0)
    summary = error_summary(np.zeros(200), chance)
    assert summary.median == summary.p90 == 0.0
    # a uniform guess on [0, 1] vs uniform faults: |U - V| has median 1 - 1/sqrt(2)
    assert summary.chance_median == pytest.approx(1 - 2**-0.5, abs=0.02)
    assert summary.chance_p90 == pytest.approx(1 - 0.1**0.5, abs=0.02)


def test_peak_error_summary_on_maps_with_known_peaks():
    from cam_edu.course.cantilever.localization import peak_error_summary

    true = np.array([0.05, 0.35, 0.55, 0.95])
    maps = np.zeros((4, 3, 10))
    maps[np.arange(4), :, [0, 3, 5, 9]] = 1.0  # peaks at the columns' centres: (j + 0.5) / 10
    summary = peak_error_summary(maps, true, draws=20, seed=3)
    assert summary.median == pytest.approx(0.0, abs=1e-12)
    maps[0, :, 0], maps[0, :, 4] = 0.0, 1.0  # first peak now 0.4 L off
    shifted = peak_error_summary(maps, true, draws=20, seed=3)
    assert shifted.p90 == pytest.approx(0.7 * 0.4, abs=1e-6)  # errors 0, 0, 0, 0.4 (linear)
    assert shifted[2:] == summary[2:]  # the same seeded chance baseline


# --- randomization ------------------------------------------------------------------------


def _edge_detector(model, images, class_index=None, layer=None):
    """Not an explanation: the image's gradient magnitude, whatever the model."""
    x = np.asarray(images)[..., 0]
    logits = get_method("gradcam")(model, images, class_index, layer)[1]
    return np.hypot(*np.gradient(x, axis=(1, 2))), logits


def test_randomization_separates_explanations_from_edge_detectors(small_cnn):
    x = np.random.default_rng(15).random((4, 12, 12, 1), dtype=np.float32)
    before = [w.copy() for w in small_cnn.get_weights()]
    edges = randomization.randomization_correlation(small_cnn, x, _edge_detector, cascading=True)
    assert [s.spearman for s in edges] == pytest.approx([1.0] * len(edges))
    for name in ("occlusion", "scorecam"):
        steps = randomization.randomization_correlation(small_cnn, x, name, layer="c2")
        assert [s.layer for s in steps] == ["none (trained)", "all layers"]
        assert steps[0].spearman == pytest.approx(1.0) and steps[1].spearman < 0.9
    cascade = randomization.randomization_correlation(small_cnn, x, "gradcam", 1, cascading=True)
    reference = cascading_randomization(small_cnn, x, 1)
    assert [s.layer for s in cascade] == [s.layer for s in reference]
    for w, w0 in zip(small_cnn.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)  # the model itself is untouched
    r = pearsonr(cascade[0].maps.ravel(), reference[0].maps.ravel()).statistic
    assert r == pytest.approx(1.0)  # the same trained maps to start from


def test_nested_models(nested_model, digits):
    """A layer inside a nested base model; randomization pairs the nested layers too."""
    x = digits[:2]
    maps, logits = perturbation.score_cam(nested_model, x, layer="inner_conv1")
    grad_maps, grad_logits = grad_cam(nested_model, x, layer="inner_conv1")
    assert maps.shape == grad_maps.shape == (2, 28, 28)
    np.testing.assert_allclose(logits, grad_logits, rtol=1e-4, atol=1e-5)
    steps = randomization.randomization_correlation(
        nested_model, x, "scorecam", layer="inner_conv2", cascading=True
    )
    names = [s.layer for s in steps]
    assert names == ["none (trained)", "outer_dense", "inner_conv2", "inner_conv1"]


@pytest.mark.parametrize("name", ["occlusion", "scorecam"])
def test_class_index_rule(name, small_cnn):
    """None = each image's predicted class; an int is broadcast; (N,) ints pick per image."""
    x = np.random.default_rng(16).random((3, 12, 12, 1), dtype=np.float32)
    method = METHODS[name]
    predicted, logits = method(small_cnn, x, layer="c2")
    np.testing.assert_array_equal(predicted, method(small_cnn, x, logits.argmax(1), "c2")[0])
    per_image = method(small_cnn, x, [0, 1, 2], "c2")[0]
    for c in range(3):
        np.testing.assert_array_equal(per_image[c], method(small_cnn, x, c, "c2")[0][c])
