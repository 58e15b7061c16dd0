"""The naive loops equal the vectorized forms, and the CAM identity holds exactly."""

import keras
import numpy as np
import pytest

from cam_edu.cam import (
    cam_head,
    class_activation_map_loop,
    class_activation_maps,
    compute_cam,
)
from cam_edu.gap import global_average_pool, global_average_pool_loop, global_max_pool

RNG = np.random.default_rng(42)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 7, 7, 64), (3, 5, 9, 4), (1, 7, 7, 2048)])
def test_gap_loop_equals_reduce_mean_and_numpy(shape):
    f = RNG.normal(size=shape).astype(np.float32)
    loop, vec = global_average_pool_loop(f), global_average_pool(f)
    assert loop.shape == vec.shape == (shape[0], shape[3])
    np.testing.assert_allclose(loop, vec, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vec, f.astype(np.float64).mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)


def test_gmp_is_channel_max():
    f = RNG.normal(size=(2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_array_equal(global_max_pool(f), f.max(axis=(1, 2)))


@pytest.mark.parametrize("k,c", [(1, 1), (4, 3), (64, 10), (2048, 7)])
def test_cam_loop_equals_matmul_for_every_class(k, c):
    f = RNG.normal(size=(2, 7, 7, k)).astype(np.float32)
    w = RNG.normal(size=(k, c)).astype(np.float32)
    maps = class_activation_maps(f, w)
    assert maps.shape == (2, 7, 7, c)
    reference = np.einsum("nhwk,kc->nhwc", f.astype(np.float64), w.astype(np.float64))
    np.testing.assert_allclose(maps, reference, rtol=1e-4, atol=1e-3)
    for cls in range(c):
        np.testing.assert_allclose(
            class_activation_map_loop(f, w, cls), maps[..., cls], rtol=1e-4, atol=1e-3
        )


def test_cam_loop_accepts_one_class_per_image():
    f = RNG.normal(size=(3, 4, 4, 5)).astype(np.float32)
    w = RNG.normal(size=(5, 4)).astype(np.float32)
    got = class_activation_map_loop(f, w, [0, 3, 2])
    maps = class_activation_maps(f, w)
    for n, cls in enumerate([0, 3, 2]):
        np.testing.assert_allclose(got[n], maps[n, ..., cls], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k,c", [(3, 2), (16, 10), (40, 7)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_cam_identity_on_random_arrays(k, c, use_bias):
    """mean_xy M_c + b_c == sum_k w_kc mean_xy f_k + b_c, for every class."""
    f = RNG.random((4, 6, 5, k)).astype(np.float32)
    w = RNG.normal(size=(k, c)).astype(np.float32)
    b = RNG.normal(size=c).astype(np.float32) if use_bias else np.zeros(c, np.float32)
    logits = global_average_pool(f) @ w + b
    np.testing.assert_allclose(
        class_activation_maps(f, w).mean(axis=(1, 2)) + b, logits, rtol=1e-5, atol=1e-5
    )


def _model(k, c, use_bias, activation, seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(k, 3, padding="same", activation="relu", name="feat"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(
                c, activation=activation, use_bias=use_bias, bias_initializer="random_normal"
            ),
        ]
    )


@pytest.mark.parametrize(
    "k,c,use_bias,activation",
    [(4, 3, True, "softmax"), (32, 10, False, "softmax"), (8, 5, True, None), (6, 2, True, "relu")],
)
def test_cam_identity_against_the_models_own_logits(k, c, use_bias, activation):
    model = _model(k, c, use_bias, activation, seed=k + c)
    x = RNG.random((5, 16, 16, 3)).astype(np.float32)
    head = cam_head(model)
    assert head.kernel.shape == (k, c) and head.bias.shape == (c,)
    cams, logits = compute_cam(model, x, class_index=np.arange(5) % c)
    chosen = np.arange(5) % c
    np.testing.assert_allclose(
        cams.mean(axis=(1, 2)) + head.bias[chosen], logits[np.arange(5), chosen], atol=1e-5
    )
    # the model's own output, from the mean of every class's CAM plus its bias
    from_cams = np.stack(
        [
            compute_cam(model, x, class_index=k)[0].mean(axis=(1, 2)) + head.bias[k]
            for k in range(c)
        ],
        axis=1,
    )
    np.testing.assert_allclose(from_cams, logits, atol=1e-5)
    output = model.predict(x, verbose=0)
    squash = {
        "softmax": lambda z: keras.ops.softmax(z).numpy(),
        None: lambda z: z,
        "relu": lambda z: np.maximum(z, 0),
    }[activation]
    np.testing.assert_allclose(squash(from_cams), output, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(squash(logits), output, rtol=1e-5, atol=1e-5)
    if activation is None:  # a linear head: the logits are the model's output itself
        np.testing.assert_allclose(logits, output, rtol=1e-5, atol=1e-5)


def test_compute_cam_defaults_to_the_predicted_class(gap_model, digits):
    cams, logits = compute_cam(gap_model, digits)
    head = cam_head(gap_model)
    features = head.feature_model(digits).numpy()
    expected = class_activation_maps(features, head.kernel)
    predicted = logits.argmax(axis=1)
    np.testing.assert_allclose(cams, expected[np.arange(len(digits)), ..., predicted], atol=1e-5)


def test_identity_on_a_trained_model():
    """A few steps of training move the weights away from their init; the identity still holds."""
    from cam_edu.course.models import build_gap_cnn, train

    rng = np.random.default_rng(3)
    x = rng.random((64, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    model = build_gap_cnn(filters=(4, 8, 16), seed=3)
    before = cam_head(model).kernel.copy()
    train(model, x, y, epochs=2, batch_size=16, verbose=0)
    head = cam_head(model)
    assert np.abs(head.kernel - before).max() > 1e-3
    cams, logits = compute_cam(model, x[:8])
    c = logits.argmax(axis=1)
    np.testing.assert_allclose(
        cams.mean(axis=(1, 2)) + head.bias[c], logits[np.arange(8), c], atol=1e-5
    )
    probs = model.predict(x[:8], verbose=0)
    np.testing.assert_allclose(keras.ops.softmax(logits).numpy(), probs, atol=1e-5)


def test_cam_head_in_nested_models(nested_model, digits):
    head = cam_head(nested_model)
    assert head.feature_layer == "base"  # the nested base's output is what the GAP reads
    assert head.dense_layer == "outer_dense"
    assert head.kernel.shape == (12, 5)
    cams, logits = compute_cam(nested_model, digits, class_index=4)
    assert cams.shape == (8, 14, 14)
    np.testing.assert_allclose(
        keras.ops.softmax(logits).numpy(), nested_model.predict(digits, verbose=0), atol=1e-5
    )
    np.testing.assert_allclose(cams.mean(axis=(1, 2)) + head.bias[4], logits[:, 4], atol=1e-5)


def test_binary_sigmoid_head_is_expanded_to_two_classes():
    from cam_edu.course.models import build_gap_cnn

    model = build_gap_cnn(num_classes=1, activation="sigmoid", filters=(4, 4, 6), seed=5)
    x = RNG.random((4, 28, 28, 1)).astype(np.float32)
    head = cam_head(model)
    assert head.binary and head.kernel.shape == (6, 2)
    np.testing.assert_array_equal(head.kernel[:, 0], -head.kernel[:, 1])
    cams1, logits = compute_cam(model, x, class_index=1)
    cams0, _ = compute_cam(model, x, class_index=0)
    np.testing.assert_allclose(cams0, -cams1, atol=1e-6)
    p = model.predict(x, verbose=0)[:, 0]
    np.testing.assert_allclose(1 / (1 + np.exp(-logits[:, 1])), p, atol=1e-5)


def test_models_without_gap_get_pointed_to_gradcam():
    flat = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    with pytest.raises(ValueError, match=r"(?s)Flatten -> Dense.*grad_cam"):
        cam_head(flat)
    two_dense = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4),
            keras.layers.Dense(3),
        ]
    )
    with pytest.raises(ValueError, match="Grad-CAM"):
        cam_head(two_dense)


def test_a_nonlinear_layer_between_pooling_and_dense_is_refused():
    """GAP -> tanh -> Dense breaks the identity, so CAM must not pretend it holds."""
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Activation("tanh"),
            keras.layers.Dense(3),
        ]
    )
    with pytest.raises(ValueError, match="Grad-CAM"):
        cam_head(model)


# --- probabilities of a one-unit sigmoid head -------------------------------------------------


def test_class_probabilities_of_a_sigmoid_head_are_the_models_not_a_softmax():
    from cam_edu.cam import class_probabilities, softmax
    from cam_edu.course.models import build_gap_cnn

    model = build_gap_cnn(num_classes=1, activation="sigmoid", filters=(4, 4, 6), seed=2)
    dense = model.get_layer("predictions")
    dense.kernel.assign(dense.kernel * 40.0)  # logits far from 0, so sigmoid(z) != sigmoid(2z)
    x = RNG.random((6, 28, 28, 1)).astype(np.float32)
    head = cam_head(model)
    assert head.binary and head.kernel.shape == (6, 2)
    _, logits = compute_cam(model, x)
    np.testing.assert_allclose(logits[:, 0], -logits[:, 1], atol=1e-6)
    p = model.predict(x, verbose=0)[:, 0]
    probs = class_probabilities(logits, binary=True)
    assert probs.shape == (6, 2)
    np.testing.assert_allclose(probs[:, 1], p, atol=1e-6)
    np.testing.assert_allclose(probs[:, 0], 1 - p, atol=1e-6)
    # the pitfall: softmax([-z, z]) = sigmoid(2 z), which is not the model's probability
    z = logits[:, 1].astype(np.float64)
    np.testing.assert_allclose(softmax(logits)[:, 1], 1 / (1 + np.exp(-2 * z)), rtol=1e-5)
    assert np.abs(softmax(logits)[:, 1] - p).max() > 0.01
    # any other head: the softmax
    many = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(class_probabilities(many, binary=False), softmax(many))
    np.testing.assert_allclose(
        class_probabilities(np.array([[-800.0, 800.0]]), binary=True), [[0.0, 1.0]]
    )


def test_class_probabilities_rejects_bad_input():
    from cam_edu.cam import class_probabilities

    with pytest.raises(ValueError, match=r"(?s)logits must have shape \(N, C\); got shape \(2,\)"):
        class_probabilities(np.array([-1.0, 1.0]), binary=True)
    with pytest.raises(ValueError, match=r"(?s)\[-z, z\].*got shape \(1, 3\).*binary=False"):
        class_probabilities(np.zeros((1, 3)), binary=True)
    with pytest.raises(ValueError, match=r"(?s)\[-z, z\].*with other values.*binary=False"):
        class_probabilities(np.array([[0.5, 2.0]]), binary=True)
    with pytest.raises(TypeError, match=r"binary must be True.*got str 'yes'.*CamHead.binary"):
        class_probabilities(np.zeros((1, 2)), binary="yes")


# --- feature maps that only look channels-first -----------------------------------------------


def test_compute_cam_on_features_shaped_like_channels_first():
    """A 12x64 input pooled by 4 gives channels-last features (N, 3, 16, 16): 3 rows,
    16 columns, 16 channels. The channels-first guess is for user arrays, not model outputs."""
    from cam_edu.validate import as_features
    from cam_edu.widgets import cam_explorer

    keras.utils.set_random_seed(8)
    model = keras.Sequential(
        [
            keras.Input((12, 64, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv"),
            keras.layers.MaxPooling2D(4, name="pool"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax", name="dense"),
        ]
    )
    x = RNG.random((2, 12, 64, 1)).astype(np.float32)
    head = cam_head(model)
    assert head.feature_layer == "pool"
    features = head.feature_model(x).numpy()
    assert features.shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="looks channels-first"):  # a user's array: refused
        as_features(features)
    np.testing.assert_array_equal(as_features(features, check_layout=False), features)
    cams, logits = compute_cam(model, x, class_index=1)
    kernel, bias = (v.numpy() for v in model.get_layer("dense").weights)
    np.testing.assert_allclose(cams, features @ kernel[:, 1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, features.mean(axis=(1, 2)) @ kernel + bias, atol=1e-5)
    explorer = cam_explorer(model, x)
    assert explorer.heatmap.shape == (3, 16)
