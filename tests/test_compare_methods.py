"""Lesson 7's table: compare_methods, its truths (boxes, crack positions), the bootstrap,
and LIME's grid segmentation."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from cam_edu import faithfulness, lime_maps, randomization
from cam_edu.comparison import bootstrap_difference, compare_methods
from cam_edu.course.cantilever.localization import PeakTruth, peak_error_summary
from cam_edu.gradcam import grad_cam
from cam_edu.localize import BoxTruth


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(5)
    return keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="features"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, name="out"),
        ]
    )


@pytest.fixture(scope="module")
def images():
    x = np.zeros((4, 16, 16, 1), np.float32)
    for i, (r, c) in enumerate([(2, 2), (8, 8), (2, 9), (9, 1)]):
        x[i, r : r + 5, c : c + 5] = 1.0
    return x


BOXES = [(2, 2, 7, 7), (8, 8, 13, 13), (2, 9, 7, 14), (9, 1, 14, 6)]


def test_grid_segmentation_covers_the_image_with_rows_x_cols_superpixels():
    labels = lime_maps.grid_segmentation(4, 16)(np.zeros((32, 64, 3)))
    assert labels.shape == (32, 64) and np.unique(labels).tolist() == list(range(64))
    assert (labels[:8, :4] == 0).all() and labels[31, 63] == 63
    uneven = lime_maps.grid_segmentation(3)(np.zeros((28, 28, 3)))  # 28 / 3 is not whole
    assert np.unique(uneven).tolist() == list(range(9))
    with pytest.raises(ValueError, match="rows must be a positive int"):
        lime_maps.grid_segmentation(0)


def test_lime_refuses_a_segmentation_with_one_superpixel(model, images):
    with pytest.raises(ValueError, match="one superpixel.*grid_segmentation"):
        lime_maps.lime_map(
            model, images[:1], num_samples=10, segmentation=lambda im: np.zeros(im.shape[:2], int)
        )
    with pytest.raises(ValueError, match="integer labels of shape"):
        lime_maps.lime_map(model, images[:1], num_samples=10, segmentation=lambda im: im)
    seg = lime_maps.grid_segmentation(4)
    maps, _ = lime_maps.lime_map(model, images[:1], num_samples=30, segmentation=seg)
    assert len(np.unique(maps[0])) > 1  # 16 superpixels, 16 weights


def test_bootstrap_difference_is_paired_and_seeded():
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    b = a - 0.5 + 0.01 * rng.normal(size=40)  # always about 0.5 lower, on the same images
    d = bootstrap_difference(a, b, n_boot=500, seed=1)
    assert d.low <= d.estimate <= d.high
    assert d.high - d.low < 0.02  # paired: the image-to-image spread cancels
    assert d == bootstrap_difference(a, b, n_boot=500, seed=1)
    assert str(d).startswith("+0.49")
    median = bootstrap_difference(a, b, statistic=np.nanmedian, n_boot=200)
    assert median.estimate == pytest.approx(np.median(a) - np.median(b))
    with pytest.raises(ValueError, match="same images"):
        bootstrap_difference(a, b[:10])


def test_box_truth_scores_each_image_and_knows_its_chance():
    truth = BoxTruth(BOXES, (16, 16))
    maps = np.zeros((4, 16, 16))
    for i, (y0, x0, y1, x1) in enumerate(BOXES[:3]):
        maps[i, y0:y1, x0:x1] = 1.0
    maps[3, 0, 15] = 1.0  # far from its box
    values = truth.per_image(maps)
    assert values["box IoU>=0.5"].tolist() == [1, 1, 1, 0]
    assert values["pointing"].tolist() == [1, 1, 1, 0]
    assert truth.summary(values) == {"box IoU>=0.5": 0.75, "pointing": 0.75}
    assert truth.chance["pointing"] == pytest.approx(25 / 256)


def test_peak_truth_agrees_with_peak_error_summary():
    rng = np.random.default_rng(2)
    maps, true = rng.random((30, 8, 32)), rng.uniform(0.05, 0.7, 30)
    truth = PeakTruth(true)
    summary = truth.summary(truth.per_image(maps))
    reference = peak_error_summary(maps, true)
    expected = {"median error (L)": reference.median, "p90 error (L)": reference.p90}
    assert summary == pytest.approx(expected, rel=1e-6)  # float32 maps there, float64 here
    chance = {"median error (L)": reference.chance_median, "p90 error (L)": reference.chance_p90}
    assert truth.chance == pytest.approx(chance)


def test_compare_methods_rows_agree_with_the_metrics_one_by_one(model, images):
    truth = BoxTruth(BOXES, (16, 16))
    result = compare_methods(
        model,
        images,
        truth,
        ["cam", "gradcam", "occlusion"],
        steps=8,
        options={"occlusion": {"patch": 4, "stride": 4}},
        name="toy",
    )
    assert list(result.methods.values()) == ["CAM", "Grad-CAM", "Occlusion"]
    assert result.columns == [
        "box IoU>=0.5",
        "pointing",
        "deletion AUC",
        "insertion AUC",
        "randomization |rho|",
    ]
    maps = grad_cam(model, images)[0]  # the public functions, one by one
    for column, curve in (("deletion AUC", "deletion_curve"), ("insertion AUC", "insertion_curve")):
        area = faithfulness.curve_auc(*getattr(faithfulness, curve)(model, images, maps, steps=8))
        assert result.summary["gradcam"][column] == pytest.approx(area.mean())
    steps = randomization.randomization_correlation(model, images, "cam", seed=0)
    rho = [
        spearmanr(a.ravel(), b.ravel()).statistic
        for a, b in zip(result.maps["cam"], steps[-1].maps, strict=True)
    ]
    np.testing.assert_allclose(result.per_image["cam"]["randomization rho"], rho, rtol=1e-6)
    assert np.mean(rho) == pytest.approx(steps[-1].spearman)
    assert result.summary["cam"]["randomization |rho|"] == pytest.approx(np.mean(np.abs(rho)))
    assert result.maps["occlusion"].shape == (4, 16, 16)
    assert all(cost > 0 for cost in result.cost.values())
    table = result.table()
    assert table.splitlines()[0].startswith("toy") and "Occlusion" in table
    assert "chance" in table and "forward passes" in result.cost_table()
    assert set(result.per_image["cam"]) == {*result.columns, "randomization rho"}
    fractions, deleted, inserted = result.curves["cam"]
    assert deleted.shape == inserted.shape == (4, 9) and fractions[-1] == 1.0
    d = result.difference("pointing", "cam", "gradcam", n_boot=100)
    assert d.low <= d.estimate <= d.high


def test_compare_methods_deletes_into_the_chosen_baseline(model, images):
    truth = BoxTruth(BOXES, (16, 16))
    kw = {"methods": ["gradcam"], "steps": 4}
    black = compare_methods(model, images, truth, **kw)
    blur = compare_methods(model, images, truth, deletion_baseline="blur", **kw)
    _, deleted, _ = blur.curves["gradcam"]
    fractions, reference = faithfulness.deletion_curve(
        model, images, blur.maps["gradcam"], blur.classes, 4, baseline="blur"
    )
    np.testing.assert_allclose(deleted, reference, rtol=1e-5)
    assert not np.allclose(black.curves["gradcam"][1], deleted)


def _count_image_checks(monkeypatch) -> list:
    """Spy on the check of the images, wherever a cam_edu module imported it."""
    import sys

    from cam_edu import inputs

    calls, original = [], inputs.as_model_images

    def spy(*args, **kwargs):
        calls.append(args[0].shape)
        return original(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith("cam_edu") and getattr(module, "as_model_images", None) is original:
            monkeypatch.setattr(module, "as_model_images", spy)
    return calls


def test_the_images_are_checked_once_per_public_call(model, images, monkeypatch):
    """compare_methods and the randomization check run many methods on one batch: they
    check it at their door, the methods behind it take the checked array."""
    calls = _count_image_checks(monkeypatch)
    lime = {"num_samples": 10, "segmentation": lime_maps.grid_segmentation(4)}
    options = {"occlusion": {"patch": 4, "stride": 4}, "lime": lime}
    compare_methods(model, images, BoxTruth(BOXES, (16, 16)), steps=4, options=options)
    assert calls == [images.shape], f"{len(calls)} checks for one call of compare_methods"
    calls.clear()
    randomization.randomization_correlation(model, images, "scorecam", cascading=True)
    assert calls == [images.shape]
    calls.clear()
    compare_methods(model, images, BoxTruth(BOXES, (16, 16)), ["gradcam"], steps=4)
    assert len(calls) == 1


def test_the_random_copy_is_seeded_and_leaves_the_users_random_state_alone(model):
    """The copy's weights are those of set_random_seed(seed) and clone_model (lesson 7 makes
    it so by hand), and no random generator of the user's moves."""
    import random

    import tensorflow as tf

    keras.utils.set_random_seed(7)
    by_hand = keras.models.clone_model(model).get_weights()

    def draws():
        return (random.random(), np.random.random(), float(keras.random.uniform(())))

    keras.utils.set_random_seed(123)
    expected = draws(), float(tf.random.uniform(()))
    keras.utils.set_random_seed(123)
    fresh = keras.models.clone_model(model)  # a model random_copy has not seen
    keras.utils.set_random_seed(123)
    copy = randomization.random_copy(fresh, seed=7)
    assert (draws(), float(tf.random.uniform(()))) == expected
    for mine, theirs in zip(copy.get_weights(), by_hand, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert randomization.random_copy(fresh, seed=7) is copy  # made once per model and seed
    other = randomization.random_copy(fresh, seed=8).get_weights()[0]
    assert not np.array_equal(other, by_hand[0])
