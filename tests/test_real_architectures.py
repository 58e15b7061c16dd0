"""The library on the models students bring after the course.

Real ``keras.applications`` architectures (``weights=None``, small inputs), transfer-
learning models built as the Keras guide builds them (a pretrained base nested in a
Sequential or functional model, called with ``training=False``), branching graphs at
every level, and heads that end in odd ways. Every map is compared with an independent
reference written here with ``tf.GradientTape`` on a hand-made split of the base (the
keras.io recipe), or with a closed form.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import cam_edu
from cam_edu.cam import cam_head, compute_cam
from cam_edu.engine import engine
from cam_edu.gradcam import grad_cam, grad_cam_plus_plus
from cam_edu.inputs import as_model_images
from cam_edu.layers import locate_target

SIZE = 96
INNER = "block_13_expand_relu"  # a layer inside MobileNetV2, (N, 6, 6, 576) at 96x96


@pytest.fixture(scope="module")
def base():
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(SIZE, SIZE, 3)
    )


@pytest.fixture(scope="module")
def v3_small():
    """MobileNetV3Small with its ImageNet head; it starts with Rescaling(1/127.5, -1)."""
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV3Small(weights=None, input_shape=(SIZE, SIZE, 3))


@pytest.fixture(scope="module")
def images():
    """MobileNetV2-preprocessed inputs, values in [-1, 1]."""
    return np.random.default_rng(0).uniform(-1, 1, (3, SIZE, SIZE, 3)).astype(np.float32)


def transfer_model(base, kind: str) -> keras.Model:
    """The Keras transfer-learning guide's model, Sequential or functional."""
    keras.utils.set_random_seed(1)
    head = [
        keras.layers.GlobalAveragePooling2D(name="pool"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax", name="classes"),
    ]
    if kind == "sequential":
        return keras.Sequential([base, *head], name="transfer_seq")
    inputs = keras.Input((SIZE, SIZE, 3))
    x = base(inputs, training=False)
    for layer in head:
        x = layer(x)
    return keras.Model(inputs, x, name="transfer_fun")


def reference_grad_cam(base, layer: str, head, x, c: int) -> np.ndarray:
    """keras.io's Grad-CAM on a hand-made split of the base, then the head by hand."""
    split = keras.Model(base.inputs, [base.get_layer(layer).output, base.output])
    with tf.GradientTape() as tape:
        activation, features = split(x, training=False)
        logits = head(features)
        score = logits[:, c]
    grads = tape.gradient(score, activation)
    weights = tf.reduce_mean(grads, axis=(1, 2))
    return tf.nn.relu(tf.einsum("nhwk,nk->nhw", activation, weights)).numpy()


def gap_dense_logits(dense):
    """GAP then the Dense layer's affine part: the logits of the guide's head."""

    def head(features):
        return tf.reduce_mean(features, axis=(1, 2)) @ dense.kernel + dense.bias

    return head


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_transfer_learning_models_work_inside_and_at_the_base(base, images, kind):
    model = transfer_model(base, kind)
    dense = model.get_layer("classes")
    probabilities = model.predict(images, verbose=0)
    # CAM: the identity against the model's own output
    cams, logits = compute_cam(model, images)
    head = cam_head(model)
    assert head.feature_layer == base.name and cams.shape == (3, 3, 3)
    c = logits.argmax(axis=1)
    np.testing.assert_allclose(cams.mean(axis=(1, 2)) + head.bias[c], logits.max(axis=1), atol=1e-5)
    np.testing.assert_allclose(keras.ops.softmax(logits).numpy(), probabilities, atol=1e-5)
    # Grad-CAM at the base's output (default, and by the base's name) is ReLU(CAM) / (H W)
    for layer in (None, base.name):
        maps, _ = grad_cam(model, images, class_index=c, layer=layer)
        np.testing.assert_allclose(maps, np.maximum(cams, 0) / 9, rtol=1e-4, atol=1e-7)
    # Grad-CAM at a layer inside the base: the keras.io recipe on a hand-made split
    for cls in (0, 7):
        maps, _ = grad_cam(model, images, class_index=cls, layer=INNER)
        expected = reference_grad_cam(base, INNER, gap_dense_logits(dense), images, cls)
        assert maps.shape == (3, 6, 6)
        np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6 * expected.max())
    maps_pp, _ = grad_cam_plus_plus(model, images, layer=INNER)
    assert maps_pp.shape == (3, 6, 6) and np.isfinite(maps_pp).all()


def test_the_explorer_runs_on_a_transfer_learning_model(base, images):
    model = transfer_model(base, "functional")
    for method in ("cam", "gradcam"):
        explorer = cam_edu.cam_explorer(model, images, method=method)
        assert explorer.heatmap.shape == (3, 3)


def test_branching_outer_graph_around_a_nested_base(base, images):
    """base -> two 1x1 convolutions -> add -> GAP -> Dense: Grad-CAM inside the base."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((SIZE, SIZE, 3))
    features = base(inputs, training=False)
    left = keras.layers.Conv2D(16, 1, name="left")
    right = keras.layers.Conv2D(16, 1, activation="relu", name="right")
    merged = keras.layers.Add()([left(features), right(features)])
    pooled = keras.layers.GlobalAveragePooling2D()(merged)
    dense = keras.layers.Dense(4, activation="softmax", name="classes")
    model = keras.Model(inputs, dense(pooled))

    def head(f):
        return tf.reduce_mean(left(f) + right(f), axis=(1, 2)) @ dense.kernel + dense.bias

    maps, logits = grad_cam(model, images, class_index=2, layer=INNER)
    np.testing.assert_allclose(maps, reference_grad_cam(base, INNER, head, images, 2), rtol=1e-4)
    np.testing.assert_allclose(
        keras.ops.softmax(logits).numpy(), model.predict(images, verbose=0), atol=1e-5
    )
    assert isinstance(locate_target(model).layer, keras.layers.Add)  # what the pooling reads


def test_three_levels_of_functional_nesting_with_a_residual_branch():
    """A residual functional block, inside a functional body, inside a Sequential."""
    keras.utils.set_random_seed(3)
    block_in = keras.Input((16, 16, 4))
    inner = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="deep")(block_in)
    block = keras.Model(block_in, keras.layers.Add()([block_in, inner]), name="block")
    body_in = keras.Input((16, 16, 1))
    stem = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(body_in)
    body = keras.Model(body_in, block(stem), name="body")
    model = keras.Sequential(
        [keras.Input((16, 16, 1)), body, keras.layers.GlobalAveragePooling2D(),
         keras.layers.Dense(3, activation="softmax")]
    )  # fmt: skip
    x = np.random.default_rng(4).random((2, 16, 16, 1), dtype=np.float32)
    # 'deep' sits in 'block', not in body's graph: the reference is built from the pieces
    stem_out = keras.Model(body.inputs, body.get_layer("stem").output)(x)
    deep = keras.Model(block.inputs, block.get_layer("deep").output)
    dense = model.layers[-1]
    with tf.GradientTape() as tape:
        activation = deep(stem_out)
        tape.watch(activation)
        logits = tf.reduce_mean(stem_out + activation, axis=(1, 2)) @ dense.kernel + dense.bias
        score = logits[:, 1]
    g = tape.gradient(score, activation)
    expected = tf.nn.relu(tf.einsum("nhwk,nk->nhw", activation, tf.reduce_mean(g, (1, 2))))
    maps, _ = grad_cam(model, x, class_index=1, layer="deep")
    np.testing.assert_allclose(maps, expected.numpy(), rtol=1e-4, atol=1e-7)


def test_a_base_with_two_outputs_explains_the_one_that_is_pooled():
    """The base lists 'aux' last, but 'feat' feeds the pooling layer: CAM uses 'feat'."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 1))
    c1 = keras.layers.Conv2D(4, 3, padding="same", name="c1")(inp)
    feat = keras.layers.Conv2D(4, 3, padding="same", name="feat")(c1)
    aux = keras.layers.Conv2D(2, 3, padding="same", name="aux")(c1)
    base = keras.Model(inp, [feat, aux], name="base2")
    outer_in = keras.Input((16, 16, 1))
    f, _ = base(outer_in)
    model = keras.Model(
        outer_in, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D(name="gap")(f))
    )
    x = np.random.default_rng(5).random((2, 16, 16, 1), dtype=np.float32)
    features, _ = cam_head(model).engine.forward(x)
    expected = keras.Model(inp, feat)(x).numpy()
    np.testing.assert_allclose(features, expected, atol=1e-6)


def test_the_default_layer_is_never_after_the_global_pooling(v3_small):
    """MobileNetV3Small and a GAP(keepdims) -> 1x1 conv -> Flatten head: not a 1x1 map."""
    small = v3_small
    x = np.random.default_rng(6).uniform(0, 255, (2, SIZE, SIZE, 3)).astype(np.float32)
    maps, logits = grad_cam(small, x)
    assert maps.shape == (2, 3, 3)
    assert not np.allclose(logits.sum(axis=1), 1.0), "probabilities, not logits"
    inp = keras.Input((16, 16, 1))
    feats = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="features")(inp)
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True)(feats)
    scores = keras.layers.Flatten()(keras.layers.Conv2D(3, 1, name="one_by_one")(pooled))
    assert locate_target(keras.Model(inp, scores)).name == "features"


def test_convnext_explains_the_tensor_that_feeds_the_pooling():
    """ConvNeXt's last block ends in an add operation, not in a named layer."""
    keras.utils.set_random_seed(0)
    model = keras.applications.ConvNeXtTiny(weights=None, input_shape=(64, 64, 3))
    pool = model.get_layer("convnext_tiny_head_gap")
    target = locate_target(model)
    assert target.layer is pool and target.kind == "input"
    x = np.random.default_rng(7).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    activation, _ = engine(model).forward(x)
    expected = keras.Model(model.inputs, pool.input)(x).numpy()
    np.testing.assert_allclose(activation, expected, rtol=1e-5, atol=1e-5)
    default, _ = grad_cam(model, x, class_index=3)
    by_tensor, _ = grad_cam(model, x, class_index=3, layer=pool.input)
    np.testing.assert_array_equal(default, by_tensor)


def test_probabilities_behind_a_reshape_are_refused_not_passed_off_as_logits():
    inp = keras.Input((16, 16, 1))
    feats = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inp)
    pooled = keras.layers.GlobalAveragePooling2D(keepdims=True)(feats)
    probs = keras.layers.Conv2D(4, 1, activation="softmax", name="scores")(pooled)
    model = keras.Model(inp, keras.layers.Flatten()(probs))
    x = np.zeros((1, 16, 16, 1), np.float32)
    with pytest.raises(ValueError, match=r"(?s)probabilities.*'scores'.*Softmax\(\)") as info:
        grad_cam(model, x)
    assert len(str(info.value)) < 500


def test_a_subclassed_model_is_told_what_it_lacks():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3)
            self.pool = keras.layers.GlobalAveragePooling2D()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(self.pool(self.conv(x)))

    net = Net()
    x = np.zeros((1, 8, 8, 1), np.float32)
    net(x)  # called once: it has weights, but still no graph of layers
    with pytest.raises(ValueError, match=r"(?s)subclassed.*functionally") as info:
        grad_cam(net, x)
    assert "call it once" not in str(info.value)


def test_a_layer_without_a_spatial_output_gets_a_short_message():
    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="no 4-D output") as info:
        grad_cam(model, np.zeros((1, 64, 64, 3), np.float32), layer="avg_pool")
    assert len(str(info.value)) < 600


def test_the_input_range_hint_reads_the_real_rescaling(v3_small):
    small = v3_small
    unit = np.full((1, SIZE, SIZE, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match=r"scale=0\.00784314, offset=-1\)") as info:
        as_model_images(unit, small)
    assert "1/255" not in str(info.value)


def test_no_retracing_for_new_batch_sizes_or_images(base):
    model = transfer_model(base, "sequential")
    rng = np.random.default_rng(8)
    batch = rng.uniform(-1, 1, (5, SIZE, SIZE, 3)).astype(np.float32)
    grad_cam(model, batch[:1])
    compute_cam(model, batch[:1])
    traces = engine(model).traces
    for n in (2, 5, 3):
        grad_cam(model, batch[:n])
        grad_cam_plus_plus(model, batch[:n], class_index=1)
        compute_cam(model, batch[:n])
    assert engine(model).traces == traces
