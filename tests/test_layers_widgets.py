"""Layer lookup (nested models included), model cutting, and the explorer widget."""

import keras
import numpy as np
import pytest

from cam_edu.cam import compute_cam
from cam_edu.layers import cut_model, find_layer, last_spatial_layer, spatial_layer_names
from cam_edu.widgets import cam_explorer


def test_spatial_layers_in_order(gap_model, nested_model):
    assert spatial_layer_names(gap_model) == ["conv1", "pool1", "conv2", "pool2", "features"]
    assert last_spatial_layer(nested_model) == "inner_conv2"


def test_unknown_layer_lists_candidates(gap_model):
    with pytest.raises(ValueError, match=r"(?s)conv9.*Did you mean 'conv2'.*features"):
        find_layer(gap_model, "conv9")


def test_cut_model_strips_softmax_and_reaches_into_nested_models(nested_model, digits):
    activation, logits = cut_model(nested_model, "inner_conv1")(digits)
    assert activation.shape == (8, 28, 28, 8)
    np.testing.assert_allclose(
        keras.ops.softmax(logits).numpy(), nested_model.predict(digits, verbose=0), atol=1e-5
    )


def test_sequential_that_was_never_called():
    model = keras.Sequential(
        [keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match="keras.Input"):
        cut_model(model)


def test_explorer_builds_and_reacts(gap_model, digits):
    explorer = cam_explorer(gap_model, digits, labels=np.arange(8), class_names=list("abcdefghij"))
    cams, logits = compute_cam(gap_model, digits)
    np.testing.assert_allclose(explorer.heatmap, cams[0], atol=1e-5)
    assert explorer.class_index == int(logits[0].argmax())
    first = bytes(explorer.picture.value)
    assert first.startswith(b"\x89PNG")

    explorer.klass.value = 3  # simulated interaction: choose class "d"
    expected, _ = compute_cam(gap_model, digits[:1], class_index=3)
    np.testing.assert_allclose(explorer.heatmap, expected[0], atol=1e-5)
    assert bytes(explorer.picture.value) != first
    assert "<b>d</b>" in explorer.caption.value

    explorer.image.value = 5  # a new image resets the class to its prediction
    assert explorer.klass.value == -1
    assert explorer.class_index == int(logits[5].argmax())


def test_explorer_threshold_changes_the_box(gap_model, digits):
    explorer = cam_explorer(gap_model, digits)
    explorer.threshold.value = 0.95
    tight = explorer.box
    explorer.threshold.value = 0.1
    loose = explorer.box
    area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
    assert area(loose) >= area(tight)
    explorer.show_box.value = False
    assert explorer.box is None


def test_explorer_does_not_rerun_the_model(gap_model, digits, monkeypatch):
    explorer = cam_explorer(gap_model, digits)
    expected, _ = compute_cam(gap_model, digits, class_index=2)
    predicted, _ = compute_cam(gap_model, digits)
    before = bytes(explorer.picture.value)

    def boom(*args, **kwargs):
        raise AssertionError("the model ran during an interaction")

    monkeypatch.setattr(keras.Model, "__call__", boom)
    monkeypatch.setattr(keras.Model, "predict", boom)
    explorer.klass.value = 2
    np.testing.assert_allclose(explorer.heatmap, expected[0], atol=1e-5)
    assert bytes(explorer.picture.value) != before
    explorer.alpha.value = 0.9
    explorer.image.value = 3
    explorer.cmap.value = "viridis"
    explorer.upsampling.value = "nearest"
    np.testing.assert_allclose(explorer.heatmap, predicted[3], atol=1e-5)


def test_explorer_rejects_bad_arguments(gap_model, digits):
    with pytest.raises(ValueError, match="method must be one of"):
        cam_explorer(gap_model, digits, method="scorecam")
    with pytest.raises(ValueError, match="class_names has 3 names"):
        cam_explorer(gap_model, digits, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"images\[None\]"):
        cam_explorer(gap_model, digits[0])


def test_gradcam_explorer_on_a_model_without_gap(digits):
    from cam_edu.gradcam import grad_cam
    from cam_edu.models import build_flatten_cnn

    model = build_flatten_cnn(filters=(4, 8, 8), seed=4)
    explorer = cam_explorer(model, digits, method="gradcam", layer="conv2")
    expected, _ = grad_cam(model, digits[:1], layer="conv2")
    np.testing.assert_allclose(explorer.heatmap, expected[0], rtol=1e-5, atol=1e-8)
    explorer.klass.value = 6
    expected, _ = grad_cam(model, digits[:1], class_index=6, layer="conv2")
    np.testing.assert_allclose(explorer.heatmap, expected[0], rtol=1e-5, atol=1e-8)
    assert "Grad-CAM" in explorer.caption.value
    with pytest.raises(ValueError, match="has no global-pooling"):
        cam_explorer(model, digits)
