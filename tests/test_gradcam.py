"""Grad-CAM and Grad-CAM++ against independent computations."""

import keras
import numpy as np
import pytest

from cam_edu.cam import compute_cam
from cam_edu.gradcam import GradCAM, GradCAMPlusPlus, grad_cam, grad_cam_plus_plus

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def flatten_model():
    """conv -> conv ('last') -> Flatten -> Dense(4, softmax): linear after 'last'."""
    keras.utils.set_random_seed(11)
    return keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="first"),
            keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="last"),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="softmax", name="dense"),
        ]
    )


def test_gradcam_on_a_gap_net_is_relu_cam_over_z(gap_model, digits):
    """dy_c/dA_k(i,j) = w_kc / Z, so Grad-CAM = ReLU(sum_k w_kc/Z A_k) = ReLU(CAM) / Z."""
    for c in (0, 3, 9):
        maps, logits = grad_cam(gap_model, digits, class_index=c)
        cams, cam_logits = compute_cam(gap_model, digits, class_index=c)
        z = cams.shape[1] * cams.shape[2]
        np.testing.assert_allclose(maps, np.maximum(cams, 0) / z, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(logits, cam_logits, atol=1e-5)


def test_gradcam_weights_equal_the_dense_kernel_after_flatten(flatten_model):
    """After 'last' the head is linear: the gradient of logit c is the kernel column, reshaped."""
    x = RNG.random((3, 10, 10, 1)).astype(np.float32)
    method = GradCAM(flatten_model, "last")
    activations, grads, _, classes = method.activations_and_gradients(x, [0, 2, 3])
    kernel = flatten_model.get_layer("dense").kernel.numpy()  # (10*10*5, 4)
    for n, c in enumerate(classes):
        np.testing.assert_allclose(grads[n], kernel[:, c].reshape(10, 10, 5), atol=1e-6)
    alpha = method.channel_weights(activations, grads)
    expected = np.stack([kernel[:, c].reshape(10, 10, 5).mean(axis=(0, 1)) for c in classes])
    np.testing.assert_allclose(alpha, expected, atol=1e-6)
    maps, _ = method(x, [0, 2, 3])
    manual = np.maximum(np.einsum("nhwk,nk->nhw", activations, expected), 0)
    np.testing.assert_allclose(maps, manual, atol=1e-6)


def test_gradcam_plus_plus_matches_the_closed_form(flatten_model):
    x = RNG.random((2, 10, 10, 1)).astype(np.float32)
    method = GradCAMPlusPlus(flatten_model, "last")
    activations, _, _, _ = method.activations_and_gradients(x, 1)
    g = flatten_model.get_layer("dense").kernel.numpy()[:, 1].reshape(10, 10, 5)
    expected = np.zeros((2, 5))
    for n in range(2):
        for k in range(5):
            total = activations[n, :, :, k].sum()
            for i in range(10):
                for j in range(10):
                    gij = float(g[i, j, k])
                    if gij == 0.0:
                        continue
                    a = gij**2 / (2 * gij**2 + total * gij**3)
                    expected[n, k] += a * max(gij, 0.0)
    maps, _ = method(x, 1)
    np.testing.assert_allclose(
        method.channel_weights(activations, np.broadcast_to(g, activations.shape)),
        expected,
        rtol=1e-4,
        atol=1e-9,
    )
    manual = np.maximum(np.einsum("nhwk,nk->nhw", activations, expected), 0)
    np.testing.assert_allclose(maps, manual, rtol=1e-3, atol=1e-7)


@pytest.mark.parametrize("fn", [grad_cam, grad_cam_plus_plus])
def test_batched_equals_per_image_with_one_target_each(fn, gap_model, digits):
    classes = [1, 4, 7, 2]
    batched, _ = fn(gap_model, digits[:4], class_index=classes)
    for n, c in enumerate(classes):
        single, _ = fn(gap_model, digits[n : n + 1], class_index=c)
        np.testing.assert_allclose(batched[n], single[0], rtol=1e-5, atol=1e-8)


def test_default_is_the_predicted_class_at_the_last_4d_layer(gap_model, digits):
    method = GradCAM(gap_model)
    assert method.layer == "features"
    _, _, logits, classes = method.activations_and_gradients(digits)
    np.testing.assert_array_equal(classes, logits.argmax(axis=1))


def test_gradients_are_of_logits_not_softmax(flatten_model):
    """A softmax head and the same head without softmax give the same maps."""
    linear = keras.models.clone_model(flatten_model)
    linear.set_weights(flatten_model.get_weights())
    linear.get_layer("dense").activation = keras.activations.linear
    x = RNG.random((2, 10, 10, 1)).astype(np.float32)
    a, _ = grad_cam(flatten_model, x, 2, layer="first")
    b, _ = grad_cam(linear, x, 2, layer="first")
    np.testing.assert_allclose(a, b, atol=1e-7)


def test_nested_models_and_intermediate_layers(nested_model, digits):
    maps, logits = grad_cam(nested_model, digits, layer="inner_conv1")
    assert maps.shape == (8, 28, 28) and logits.shape == (8, 5)
    assert (maps >= 0).all()


def test_bad_layer_and_class(flatten_model):
    x = RNG.random((1, 10, 10, 1)).astype(np.float32)
    with pytest.raises(ValueError, match=r"(?s)no layer named 'lst'.*'last'.*first, last"):
        grad_cam(flatten_model, x, layer="lst")
    with pytest.raises(IndexError, match=r"\[0, 3\]"):
        grad_cam(flatten_model, x, class_index=4)
