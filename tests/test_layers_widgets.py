"""Layer lookup (nested models included), model cutting, and the explorer widget."""

import keras
import numpy as np
import pytest

from cam_edu.cam import compute_cam
from cam_edu.layers import cut_model, find_layer, last_spatial_layer, spatial_layer_names
from cam_edu.widgets import cam_explorer


def test_spatial_layers_in_order(gap_model, nested_model):
    assert spatial_layer_names(gap_model) == ["conv1", "pool1", "conv2", "pool2", "features"]
    assert last_spatial_layer(nested_model) == "base"
    assert spatial_layer_names(nested_model)[-1] == "inner_conv2"  # the base's own layers too


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
    first = explorer.png()
    assert first.startswith(b"\x89PNG")

    explorer.klass.value = 3  # simulated interaction: choose class "d"
    expected, _ = compute_cam(gap_model, digits[:1], class_index=3)
    np.testing.assert_allclose(explorer.heatmap, expected[0], atol=1e-5)
    assert explorer.png() != first
    assert "<b>d</b>" in explorer.caption.value


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
    before = explorer.png()

    def boom(*args, **kwargs):
        raise AssertionError("the model ran during an interaction")

    monkeypatch.setattr(keras.Model, "__call__", boom)
    monkeypatch.setattr(keras.Model, "predict", boom)
    explorer.klass.value = 2
    np.testing.assert_allclose(explorer.heatmap, expected[0], atol=1e-5)
    assert explorer.png() != before
    explorer.alpha.value = 0.9
    explorer.follow.value = True
    explorer.image.value = 3
    explorer.upsampling.value = "bicubic"
    explorer.upsampling.value = "nearest"
    np.testing.assert_allclose(explorer.heatmap, predicted[3], atol=1e-5)


def test_explorer_rejects_bad_arguments(gap_model, digits):
    with pytest.raises(ValueError, match="method must be one of"):
        cam_explorer(gap_model, digits, method="smoothgrad")
    with pytest.raises(ValueError, match="class_names has 3 names"):
        cam_explorer(gap_model, digits, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"images\[None\]"):
        cam_explorer(gap_model, digits[0])


def test_gradcam_explorer_on_a_model_without_gap(digits):
    from cam_edu.course.models import build_flatten_cnn
    from cam_edu.gradcam import grad_cam

    model = build_flatten_cnn(filters=(4, 8, 8), seed=4)
    explorer = cam_explorer(model, digits, method="gradcam", layer="conv2")
    expected, _ = grad_cam(model, digits[:1], layer="conv2")
    np.testing.assert_allclose(explorer.heatmap, expected[0], rtol=1e-5, atol=1e-8)
    explorer.klass.value = 6
    expected, _ = grad_cam(model, digits[:1], class_index=6, layer="conv2")
    np.testing.assert_allclose(explorer.heatmap, expected[0], rtol=1e-5, atol=1e-8)
    assert "Grad-CAM" in explorer.caption.value
    offered = [value for _, value in explorer.method_menu.options]
    assert offered == ["gradcam", "gradcam++", "scorecam", "occlusion", "lime"]  # no CAM
    with pytest.raises(ValueError, match="has no global-pooling"):
        cam_explorer(model, digits)


# --- a nested head: the softmax inside it is removed too -----------------------------------


def _nested_head_model(kind: str) -> keras.Model:
    """conv ('conv', outer or inside a functional base) -> a nested GAP -> Dense(5) head."""
    keras.utils.set_random_seed(21)
    if kind.startswith("functional-head"):
        head_in = keras.Input((16, 16, 4))
        z = keras.layers.Dense(5, name="head_dense")(
            keras.layers.GlobalAveragePooling2D(name="head_gap")(head_in)
        )
        head = keras.Model(head_in, keras.layers.Activation("softmax")(z), name="head")
    else:
        head = keras.Sequential(
            [
                keras.layers.GlobalAveragePooling2D(name="head_gap"),
                keras.layers.Dense(5, activation="softmax", name="head_dense"),
            ],
            name="head",
        )
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")
    if kind.endswith("nested-base"):
        base_in = keras.Input((16, 16, 1))
        body = [keras.Model(base_in, conv(base_in), name="base")]
    else:
        body = [conv]
    return keras.Sequential([keras.Input((16, 16, 1)), *body, head], name=f"nested_head_{kind}")


NESTED_HEADS = ["sequential-head", "sequential-head-nested-base", "functional-head-nested-base"]


@pytest.mark.parametrize("kind", NESTED_HEADS)
def test_cut_model_strips_the_softmax_of_a_nested_head(kind):
    from cam_edu.cam import cam_head
    from cam_edu.gradcam import grad_cam

    model = _nested_head_model(kind)
    x = np.random.default_rng(3).random((4, 16, 16, 1), dtype=np.float32)
    dense = model.get_layer("head").get_layer("head_dense")
    kernel, bias = dense.kernel.numpy(), dense.bias.numpy()
    conv = model.get_layer("base").get_layer("conv") if "base" in kind else model.get_layer("conv")
    features = conv(x).numpy()  # (4, 16, 16, 4), computed without cam_edu
    expected_logits = features.mean(axis=(1, 2)) @ kernel + bias  # plain Dense, no softmax
    activation, logits = cut_model(model, "conv")(x)
    np.testing.assert_allclose(activation, features, atol=1e-6)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)
    _, default_logits = cut_model(model)(x)  # layer=None: the same last 4-D layer
    np.testing.assert_allclose(default_logits, expected_logits, rtol=1e-5, atol=1e-6)
    assert not np.allclose(np.asarray(logits).sum(axis=1), 1.0), "still probabilities"
    probs = model.predict(x, verbose=0)
    e = np.exp(expected_logits - expected_logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(probs, e / e.sum(axis=1, keepdims=True), atol=1e-6)
    # Grad-CAM of logits on conv -> GAP -> Dense is ReLU(CAM) / Z, CAM = features @ kernel[:, c]
    for c in (0, 3):
        maps, gc_logits = grad_cam(model, x, class_index=c, layer="conv")
        cam = features @ kernel[:, c]
        np.testing.assert_allclose(maps, np.maximum(cam, 0) / (16 * 16), rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(gc_logits, expected_logits, rtol=1e-5, atol=1e-6)
    head = cam_head(model)
    assert head.feature_layer == ("base" if "base" in kind else "conv")
    assert head.dense_layer == "head_dense"
    cams, cam_logits = compute_cam(model, x, class_index=2)
    np.testing.assert_allclose(cams, features @ kernel[:, 2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cam_logits, expected_logits, rtol=1e-5, atol=1e-6)


def test_find_layer_type_error_shows_the_value(gap_model):
    with pytest.raises(TypeError, match=r"(?s)layer must be a layer name \(str\); got int 3\..*"):
        find_layer(gap_model, 3)
    with pytest.raises(TypeError, match=r"got Conv2D <Conv2D name=conv1.*\.name"):
        find_layer(gap_model, gap_model.get_layer("conv1"))


def test_cam_explorer_probabilities_of_a_sigmoid_head_are_the_models(digits):
    from cam_edu.course.models import build_gap_cnn

    model = build_gap_cnn(num_classes=1, activation="sigmoid", filters=(4, 4, 6), seed=5)
    explorer = cam_explorer(model, digits, class_names=["normal", "fault"])
    p_fault = model.predict(digits, verbose=0)[:, 0]
    np.testing.assert_allclose(explorer.probs[:, 1], p_fault, atol=1e-6)
    np.testing.assert_allclose(explorer.probs.sum(axis=1), 1.0, atol=1e-12)
