"""Models with several outputs (a class head and a box head): every method takes the same
``output=`` argument, says which output it explains, and refuses a wrong name clearly."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_edu import compute_cam, grad_cam, grad_cam_plus_plus, occlusion_map, score_cam


@pytest.fixture(scope="module")
def two_heads():
    """conv -> GAP -> {"cls": Dense(3, softmax), "box": Dense(8) -> Dense(4)}."""
    keras.utils.set_random_seed(21)
    x = keras.Input((12, 12, 1))
    a = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="conv")(x)
    g = keras.layers.GlobalAveragePooling2D(name="gap")(a)
    cls = keras.layers.Dense(3, activation="softmax", name="cls")(g)
    hidden = keras.layers.Dense(8, activation="relu", name="box_hidden")(g)
    box = keras.layers.Dense(4, name="box")(hidden)
    return keras.Model(x, [cls, box], name="two_heads")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(21).random((3, 12, 12, 1), dtype=np.float32)


def _reference_grad_cam(model, images, output: int, classes):
    """Grad-CAM written out with a tape, as the keras.io example (pre-softmax scores)."""
    conv = model.get_layer("conv").output
    head = model.outputs[output]
    logits_layer = model.get_layer(["cls", "box"][output])
    cut = keras.Model(model.inputs, [conv, logits_layer.input])
    with tf.GradientTape() as tape:
        a, features = cut(images)
        tape.watch(a)
        z = tf.matmul(features, logits_layer.kernel) + logits_layer.bias
        target = tf.reduce_sum(tf.gather(z, classes, axis=1, batch_dims=1))
    g = tape.gradient(target, a).numpy()
    assert head is not None
    return np.maximum(np.einsum("nhwk,nk->nhw", a.numpy(), g.mean(axis=(1, 2))), 0)


def test_the_default_is_the_first_output_and_a_warning_says_so(two_heads, images):
    with pytest.warns(UserWarning, match=r"2 outputs; Grad-CAM explains the first, output 'cls'"):
        maps, logits = grad_cam(two_heads, images)
    assert logits.shape == (3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # naming the output: no warning
        named, _ = grad_cam(two_heads, images, output="cls")
    np.testing.assert_array_equal(maps, named)


@pytest.mark.parametrize("output", ["cls", "box", 1])
def test_grad_cam_explains_the_chosen_output(two_heads, images, output):
    index = output if isinstance(output, int) else ["cls", "box"].index(output)
    maps, logits = grad_cam(two_heads, images, class_index=[0, 1, 2], output=output)
    assert logits.shape == (3, [3, 4][index])
    expected = _reference_grad_cam(two_heads, images, index, np.array([0, 1, 2]))
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)
    plus, _ = grad_cam_plus_plus(two_heads, images, output=output)
    scored, _ = score_cam(two_heads, images, output=output)
    occluded, occlusion_logits = occlusion_map(two_heads, images, output=output, patch=4)
    assert plus.shape == scored.shape == (3, 12, 12) and occluded.shape == (3, 12, 12)
    np.testing.assert_allclose(occlusion_logits, logits, rtol=1e-5, atol=1e-6)


def test_cam_reads_the_class_head_and_refuses_the_box_head_clearly(two_heads, images):
    cams, logits = compute_cam(two_heads, images, output="cls")
    features = keras.Model(two_heads.inputs, two_heads.get_layer("conv").output)(images).numpy()
    kernel = two_heads.get_layer("cls").kernel.numpy()
    chosen = logits.argmax(axis=1)
    expected = np.einsum("nhwk,kn->nhw", features, kernel[:, chosen])
    np.testing.assert_allclose(cams, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError) as error:
        compute_cam(two_heads, images, output="box")
    message = str(error.value)
    assert "output 'box' (2 of 2)" in message and "Grad-CAM" in message
    assert "Dense -> Dense" not in message, "the two heads are not in a row"


def test_a_wrong_output_lists_the_outputs(two_heads, images):
    with pytest.raises(
        ValueError, match=r"no output named 'boxes'\. Did you mean 'box'\?.*0: 'cls', 1: 'box'"
    ):
        grad_cam(two_heads, images, output="boxes")
    with pytest.raises(ValueError, match=r"index in \[0, 1\]"):
        grad_cam(two_heads, images, output=2)


def test_dict_outputs_are_named_by_their_keys(images):
    keras.utils.set_random_seed(3)
    x = keras.Input((12, 12, 1))
    g = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="c")(x))
    model = keras.Model(x, {"label": keras.layers.Dense(3)(g), "size": keras.layers.Dense(1)(g)})
    maps, logits = grad_cam(model, images, output="label")
    assert logits.shape == (3, 3) and maps.shape == (3, 10, 10)
    _, size_logits = grad_cam(model, images, output="size")
    assert size_logits.shape == (3, 2)  # one unit: two classes [-z, z], as everywhere
