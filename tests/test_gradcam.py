"""Grad-CAM and Grad-CAM++ against independent computations; the canvas-digit data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_edu.cam import cam_head, compute_cam
from cam_edu.course.data import digits_on_canvas
from cam_edu.gradcam import GradCAM, GradCAMPlusPlus, grad_cam, grad_cam_plus_plus
from cam_edu.randomization import (
    cascading_randomization,
    chance_floor,
    rank_correlation,
    untied_rank_correlation,
)

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


@pytest.fixture(scope="module")
def tiny_flatten():
    """conv(c1) -> conv(c2) -> Flatten -> Dense(3, softmax): no GAP, so no CAM."""
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(3, 3, activation="relu", name="c1"),
            keras.layers.Conv2D(4, 3, activation="relu", name="c2"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        name="flatten_net",
    )


@pytest.fixture(scope="module")
def small_images():
    return np.random.default_rng(4).random((5, 8, 8, 1), dtype=np.float32)


def test_gradients_match_a_manual_tape_per_image(tiny_flatten, small_images):
    """Batched gradients at c1 == a GradientTape through the layers, one image at a time."""
    acts, grads, _, classes = GradCAM(tiny_flatten, "c1").activations_and_gradients(small_images)
    c2, out = tiny_flatten.get_layer("c2"), tiny_flatten.get_layer("out")
    for n in range(len(small_images)):
        a = tf.Variable(tiny_flatten.get_layer("c1")(small_images[n : n + 1]))
        with tf.GradientTape() as tape:
            z = tf.matmul(tf.reshape(c2(a), (1, -1)), out.kernel) + out.bias  # no softmax
            target = z[0, classes[n]]
        np.testing.assert_allclose(acts[n], a.numpy()[0], atol=1e-6)
        np.testing.assert_allclose(grads[n], tape.gradient(target, a).numpy()[0], atol=1e-6)


def test_gradient_matches_finite_differences(tiny_flatten, small_images):
    """d logit / dA at c1, by central differences in float64 on the head's numpy form."""
    _, grads, logits, classes = GradCAM(tiny_flatten, "c1").activations_and_gradients(
        small_images[:1]
    )
    a = tiny_flatten.get_layer("c1")(small_images[:1]).numpy().astype(np.float64)[0]
    wk, wb = (v.numpy().astype(np.float64) for v in tiny_flatten.get_layer("c2").weights)
    dk, db = (v.numpy().astype(np.float64) for v in tiny_flatten.get_layer("out").weights)

    def logit(act):  # valid 3x3 convolution, ReLU, flatten, dense
        h, w = act.shape[0] - 2, act.shape[1] - 2
        patches = np.stack(
            [act[i : i + h, j : j + w] for i in range(3) for j in range(3)], axis=2
        )  # (h, w, 9, K_in)
        conv = np.einsum("hwpk,pko->hwo", patches, wk.reshape(9, *wk.shape[2:])) + wb
        return (np.maximum(conv, 0).reshape(-1) @ dk + db)[classes[0]]

    assert logit(a) == pytest.approx(float(logits[0, classes[0]]), abs=1e-4)
    eps = 1e-4
    for idx in [(0, 0, 0), (2, 3, 1), (5, 5, 2), (3, 1, 0)]:
        up, down = a.copy(), a.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric = (logit(up) - logit(down)) / (2 * eps)
        assert grads[0][idx] == pytest.approx(numeric, abs=1e-4)


def test_grad_cam_map_is_relu_of_mean_gradient_weighted_sum(tiny_flatten, small_images):
    acts, grads, _, _ = GradCAM(tiny_flatten, "c2").activations_and_gradients(small_images)
    maps, _ = grad_cam(tiny_flatten, small_images, layer="c2")
    expected = np.zeros(maps.shape)
    for n in range(len(acts)):
        for k in range(acts.shape[-1]):
            expected[n] += grads[n, :, :, k].mean() * acts[n, :, :, k]
    np.testing.assert_allclose(maps, np.maximum(expected, 0), atol=1e-6)
    assert maps.shape == (5, 4, 4) and maps.min() >= 0


def _grad_cam_pp_weights_loop(acts, grads):
    """The Grad-CAM++ channel weights, written out element by element in float64."""
    n, h, w, k = acts.shape
    out = np.zeros((n, k))
    for b in range(n):
        for c in range(k):
            total = acts[b, :, :, c].astype(np.float64).sum()
            for i in range(h):
                for j in range(w):
                    g = float(grads[b, i, j, c])
                    if g == 0.0:
                        continue
                    alpha = g**2 / (2 * g**2 + total * g**3)
                    out[b, c] += alpha * max(g, 0.0)
    return out


def test_grad_cam_plus_plus_weights_match_the_formula():
    rng = np.random.default_rng(0)
    acts = rng.random((2, 3, 4, 5)).astype(np.float32)
    grads = rng.normal(size=(2, 3, 4, 5)).astype(np.float32) * 0.1
    grads[0, 0, 0, :] = 0.0  # zero gradients contribute nothing (no 0/0)
    got = GradCAMPlusPlus.channel_weights(None, acts, grads)
    np.testing.assert_allclose(got, _grad_cam_pp_weights_loop(acts, grads), rtol=1e-4)


def test_grad_cam_plus_plus_zero_denominator_gives_zero_weight():
    """Where 2 g^2 + sum(A) g^3 = 0 with g != 0 (sum(A) g = -2), a position adds nothing.

    A 2x2 map of -1 (sum -4, e.g. a layer without ReLU) and g = 0.5 at one position:
    2 (0.25) - 4 (0.125) = 0 exactly. The old fallback to g^2 gave 0.25 * 0.5 = 0.125.
    """
    acts = -np.ones((1, 2, 2, 2), np.float32)
    grads = np.zeros((1, 2, 2, 2), np.float32)
    grads[0, 0, 0, 0] = 0.5  # channel 0: denominator exactly 0
    grads[0, 1, 1, 1] = 0.25  # channel 1: 2 (1/16) - 4 (1/64) = 1/16, a = 1, weight 0.25
    got = GradCAMPlusPlus.channel_weights(None, acts, grads)
    np.testing.assert_array_equal(got, [[0.0, 0.25]])
    assert np.isfinite(got).all()


def test_grad_cam_plus_plus_end_to_end(tiny_flatten, small_images):
    acts, grads, _, _ = GradCAM(tiny_flatten, "c1").activations_and_gradients(small_images)
    maps, _ = grad_cam_plus_plus(tiny_flatten, small_images, layer="c1")
    weights = _grad_cam_pp_weights_loop(acts, grads)
    expected = np.maximum(np.einsum("nhwk,nk->nhw", acts, weights), 0)
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fn", [grad_cam, grad_cam_plus_plus])
def test_batched_equals_one_image_at_a_time(fn, tiny_flatten, small_images):
    classes = np.array([2, 0, 1, 1, 2])
    batched, logits = fn(tiny_flatten, small_images, class_index=classes, layer="c1")
    for n in range(len(small_images)):
        single, single_logits = fn(
            tiny_flatten, small_images[n : n + 1], class_index=int(classes[n]), layer="c1"
        )
        np.testing.assert_allclose(batched[n], single[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(logits[n], single_logits[0], atol=1e-5)


def test_one_target_per_image_not_a_batch_average(tiny_flatten, small_images):
    """Each image's gradients in a batch equal those of a call with that image alone.

    keras-io's ``reduce_mean`` over the batch would scale every gradient by 1/N, and a
    batch-averaged weight would give every image the same weights; both fail here.
    """
    method = GradCAM(tiny_flatten, "c1")
    classes = np.array([2, 0, 1, 1, 2])
    activations, grads, _, got = method.activations_and_gradients(small_images, classes)
    np.testing.assert_array_equal(got, classes)
    assert np.abs(grads).max() > 1e-3  # gradients that could be scaled
    for n, c in enumerate(classes):
        a1, g1, _, _ = method.activations_and_gradients(small_images[n : n + 1], int(c))
        np.testing.assert_allclose(activations[n], a1[0], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(grads[n], g1[0], rtol=1e-5, atol=1e-8)
    weights = method.channel_weights(activations, grads)
    np.testing.assert_allclose(weights, grads.mean(axis=(1, 2)), rtol=1e-6)
    batch_mean = grads.mean(axis=(0, 1, 2))
    assert not np.allclose(weights, batch_mean[None], atol=1e-4)


def test_logits_are_pre_softmax(tiny_flatten, small_images):
    _, logits = grad_cam(tiny_flatten, small_images)
    np.testing.assert_allclose(
        tf.nn.softmax(logits).numpy(), tiny_flatten.predict(small_images, verbose=0), atol=1e-6
    )
    assert not np.allclose(logits.sum(axis=1), 1.0)


def test_nested_model_matches_cam(nested_model, digits):
    maps, _ = grad_cam(nested_model, digits)  # default layer: inner_conv2 inside "base"
    cams, _ = compute_cam(nested_model, digits)
    np.testing.assert_allclose(maps, np.maximum(cams, 0) / (14 * 14), rtol=1e-5, atol=1e-7)
    inner, _ = grad_cam(nested_model, digits, layer="inner_conv1")
    assert inner.shape == (8, 28, 28)


def test_default_layer_and_any_layer(gap_model, digits):
    assert GradCAM(gap_model).layer == "features"
    for layer, size in [("conv1", 28), ("pool1", 14), ("conv2", 14), ("features", 7)]:
        maps, _ = grad_cam(gap_model, digits[:2], layer=layer)
        assert maps.shape == (2, size, size)


def test_tiny_flatten_has_no_cam_but_has_grad_cam(tiny_flatten, small_images):
    with pytest.raises(ValueError, match="Grad-CAM"):
        cam_head(tiny_flatten)
    maps, _ = grad_cam(tiny_flatten, small_images)
    assert maps.shape == (5, 4, 4) and np.isfinite(maps).all()


def test_rank_correlation():
    a = np.random.default_rng(1).random((3, 4, 4))
    assert rank_correlation(a, np.exp(a)) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert np.isnan(rank_correlation(np.zeros((1, 2, 2)), a[:1, :2, :2]))
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        rank_correlation(a, a[0])


def test_rank_correlation_absolute_is_the_mean_of_abs_rho():
    """Against scipy image by image: one inverted map counts as +1 with ``absolute``."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(2)
    a, b = rng.random((4, 5, 5)), rng.random((4, 5, 5))
    b[0], b[1] = a[0] ** 2, -a[1]  # rho +1 and -1
    b[2, :3] = 0.0  # a tie block
    rhos = [spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b, strict=True)]
    assert rank_correlation(a, b) == pytest.approx(np.mean(rhos))
    assert rank_correlation(a, b, absolute=True) == pytest.approx(np.mean(np.abs(rhos)))
    assert rank_correlation(a[:2], b[:2], absolute=True) == pytest.approx(1.0)
    assert np.isnan(rank_correlation(np.zeros((1, 2, 2)), a[:1, :2, :2], absolute=True))


def test_chance_floor_matches_the_analytic_value_and_identical_maps_give_1():
    """Unrelated maps: E|rho| = sqrt(2/pi) / sqrt(n - 1) for n independent cells; smooth
    maps (independent 2x2 blocks) have 49 of 196 cells independent, so a floor twice as high."""
    rng = np.random.default_rng(3)
    iid = rng.random((2000, 14, 14))
    blocks = np.kron(rng.random((2000, 7, 7)), np.ones((1, 2, 2)))
    for maps, n in ((iid, 196), (blocks, 49)):
        floor = chance_floor(maps, rng.permutation(maps), orders=2)
        assert floor == pytest.approx(np.sqrt(2 / np.pi / (n - 1)), abs=0.005)
    same = np.repeat(iid[:1], 3, axis=0)  # every map the same: no unrelated pair
    assert chance_floor(same, same, orders=3) == pytest.approx(1.0, abs=1e-6)


def test_untied_rank_correlation_changes_only_tied_maps():
    rng = np.random.default_rng(4)
    a, b = rng.random((2, 50, 8, 8))
    untied = untied_rank_correlation(a, b, orders=3)  # no ties: the plain |rho|
    assert untied == pytest.approx(rank_correlation(a, b, True), abs=1e-12)
    a[:, :4] = 0.0  # half of each map one tie block: Spearman counts it as agreement
    untied = untied_rank_correlation(a, a, orders=5, seed=1)
    assert rank_correlation(a, a, True) == 1.0 > untied.max()  # tie orders differ
    assert untied.shape == (5,) and np.ptp(untied) > 0  # each order its own value
    with pytest.raises(ValueError, match="N >= 2"):
        chance_floor(a[:1], b[:1])


def test_cascading_randomization(gap_model, digits):
    before = [w.copy() for w in gap_model.get_weights()]
    steps = cascading_randomization(gap_model, digits, seed=0)
    assert steps[0].spearman == rank_correlation(steps[0].maps, steps[0].maps) == 1.0
    assert [s.layer for s in steps] == [
        "none (trained)",
        "predictions",
        "features",
        "conv2",
        "conv1",
    ]
    expected, logits = grad_cam(gap_model, digits)
    np.testing.assert_allclose(steps[0].maps, expected, atol=1e-6)
    assert steps[1].spearman < 0.99
    assert not np.allclose(steps[-1].maps, steps[0].maps)
    for w0, w1 in zip(before, gap_model.get_weights(), strict=True):  # the model is untouched
        np.testing.assert_array_equal(w0, w1)
    with pytest.raises(ValueError, match="method must be one of"):
        cascading_randomization(gap_model, digits, method="grad-cam")


def test_digits_on_canvas_boxes_hold_all_the_ink():
    rng = np.random.default_rng(0)
    digits = np.zeros((20, 28, 28, 1), np.float32)
    digits[:, 6:22, 9:19] = rng.random((20, 16, 10, 1)) * 0.8 + 0.2
    data = digits_on_canvas(digits, np.arange(20), canvas_size=56, seed=1)
    assert data.x.shape == (20, 56, 56, 1)
    np.testing.assert_allclose(data.x.sum(axis=(1, 2, 3)), digits.sum(axis=(1, 2, 3)), rtol=1e-5)
    for img, (y0, x0, y1, x1) in zip(data.x, data.boxes, strict=True):
        assert (y1 - y0, x1 - x0) == (16, 10)
        inside = img[y0:y1, x0:x1].sum()
        assert inside == pytest.approx(img.sum(), rel=1e-6)
    assert len({tuple(b[:2]) for b in data.boxes}) > 10  # positions vary
    np.testing.assert_array_equal(data.y, np.arange(20))


def test_digits_on_canvas_rejects_bad_input():
    with pytest.raises(ValueError, match="canvas_size"):
        digits_on_canvas(np.ones((2, 28, 28)), [0, 1], canvas_size=20)
    with pytest.raises(ValueError, match="labels"):
        digits_on_canvas(np.ones((2, 28, 28)), [0], canvas_size=40)
    with pytest.raises(ValueError, match="no pixel above"):
        digits_on_canvas(np.zeros((1, 28, 28)), [0], canvas_size=40)


def test_binary_sigmoid_head_has_two_classes_like_cam(digits):
    from cam_edu.course.models import build_gap_cnn
    from cam_edu.widgets import cam_explorer

    model = build_gap_cnn(num_classes=1, activation="sigmoid", filters=(4, 4, 6), seed=9)
    cams, cam_logits = compute_cam(model, digits, class_index=1)
    for c, sign in ((1, 1.0), (0, -1.0)):
        maps, logits = grad_cam(model, digits, class_index=c)
        np.testing.assert_allclose(logits, cam_logits, atol=1e-5)
        np.testing.assert_allclose(maps, np.maximum(sign * cams, 0) / 49, rtol=1e-4, atol=1e-7)
    explorer = cam_explorer(model, digits, method="gradcam", class_names=["normal", "fault"])
    p_fault = model.predict(digits, verbose=0)[:, 0]
    np.testing.assert_allclose(explorer.probs[:, 1], p_fault, atol=1e-5)


def test_a_layer_without_4d_output_lists_the_candidates(gap_model, digits):
    for name in ("gap", "predictions"):
        with pytest.raises(ValueError, match=r"(?s)no 4-D output.*features"):
            grad_cam(gap_model, digits, layer=name)


def test_gradcam_plus_plus_on_a_gap_net_has_a_closed_form(gap_model, digits):
    """g = w_kc / Z everywhere, so alpha_k = ReLU(w_kc) / (2 + mean(A_k) w_kc)."""
    method = GradCAMPlusPlus(gap_model)
    activations, grads, _, _ = method.activations_and_gradients(digits, class_index=5)
    w = gap_model.get_layer("predictions").kernel.numpy()[:, 5]
    expected = np.maximum(w, 0) / (2 + activations.mean(axis=(1, 2)) * w)
    np.testing.assert_allclose(method.channel_weights(activations, grads), expected, rtol=1e-4)


def test_cascading_randomization_draws_each_layer_from_one_seeded_copy(monkeypatch):
    """Every layer with weights (a separable conv's two kernels, BatchNorm's four weights,
    biases) gets the weights of one random copy made after set_random_seed(seed), top-down;
    the copies are made once per model, not per call, and the model is untouched."""
    keras.utils.set_random_seed(12)
    model = keras.Sequential(
        [
            keras.Input((10, 10, 1)),
            keras.layers.Conv2D(4, 3, padding="same", name="conv"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.ReLU(),
            keras.layers.SeparableConv2D(6, 3, padding="same", activation="relu", name="sep"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, name="dense"),
        ]
    )
    bn = model.get_layer("bn")  # trained-looking BatchNorm weights, none at its init value
    for w, value in ((bn.gamma, 1.7), (bn.beta, 0.3), (bn.moving_mean, 0.2)):
        w.assign(np.full(w.shape, value, np.float32))
    for name in ("conv", "sep", "dense"):
        for w in model.get_layer(name).trainable_weights:
            w.assign(w.numpy() + 0.1)
    keras.utils.set_random_seed(5)  # the reference: Keras's own initializers after the seed
    reference = keras.models.clone_model(model)
    copies = []
    real_clone = keras.models.clone_model

    def clone(m, *args, **kwargs):
        copies.append(real_clone(m, *args, **kwargs))
        return copies[-1]

    monkeypatch.setattr(keras.models, "clone_model", clone)
    x = np.random.default_rng(12).random((3, 10, 10, 1), dtype=np.float32)
    before = [w.copy() for w in model.get_weights()]
    steps = cascading_randomization(model, x, layer="sep", seed=5)
    assert [s.layer for s in steps] == ["none (trained)", "dense", "sep", "bn", "conv"]
    assert steps[0].spearman == rank_correlation(steps[0].maps, steps[0].maps)
    random, copy = copies  # one random copy, one copy that is randomized layer by layer
    for a, b, c in zip(
        copy.get_weights(), random.get_weights(), reference.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(copy.get_layer("bn").gamma.numpy(), 1.0)  # Keras's init
    again = cascading_randomization(model, x, layer="sep", seed=5)
    assert len(copies) == 2, "a second call reuses the copies"
    for s0, s1 in zip(steps, again, strict=True):
        np.testing.assert_array_equal(s0.maps, s1.maps)
    for w0, w1 in zip(before, model.get_weights(), strict=True):  # the model is untouched
        np.testing.assert_array_equal(w0, w1)


@pytest.mark.parametrize("same_class", [True, False])
def test_digit_pairs_on_canvas_boxes_hold_each_digit_apart(same_class):
    from cam_edu.course.data import digit_pairs_on_canvas

    rng = np.random.default_rng(0)
    digits = np.zeros((12, 28, 28, 1), np.float32)
    for d in digits:  # a random blob of ink in each frame
        y0, x0 = rng.integers(2, 12, 2)
        d[y0 : y0 + 12, x0 : x0 + 8] = rng.uniform(0.5, 1.0, (12, 8, 1))
    labels = np.repeat(np.arange(4), 3)
    pairs = digit_pairs_on_canvas(digits, labels, same_class, canvas_size=56, seed=3)
    assert pairs.x.shape == (12, 56, 56, 1) and pairs.boxes.shape == (12, 2, 4)
    np.testing.assert_array_equal(pairs.sources[:, 0], np.arange(12))
    np.testing.assert_array_equal(pairs.y, labels[pairs.sources])
    assert (pairs.y[:, 0] == pairs.y[:, 1]).all() == same_class
    assert (pairs.y[:, 0] != pairs.y[:, 1]).all() != same_class
    for x, boxes, (i, j) in zip(pairs.x, pairs.boxes, pairs.sources, strict=True):
        assert i != j
        (a0, b0, a1, b1), (c0, d0, c1, d1) = boxes
        assert a1 + 2 <= c0 or c1 + 2 <= a0 or b1 + 2 <= d0 or d1 + 2 <= b0  # apart
        for (y0, x0, y1, x1), k in zip(boxes, (i, j), strict=True):  # each box holds its digit
            np.testing.assert_allclose(x[y0:y1, x0:x1].sum(), digits[k].sum(), rtol=1e-6)
        inside = np.zeros((56, 56), bool)
        for y0, x0, y1, x1 in boxes:
            inside[y0:y1, x0:x1] = True
        assert not (x[..., 0] > 0.1)[~inside].any()  # all ink inside the two boxes
        assert np.isclose(x.sum(), digits[i].sum() + digits[j].sum())  # both whole
    again = digit_pairs_on_canvas(digits, labels, same_class, canvas_size=56, seed=3)
    np.testing.assert_array_equal(again.x, pairs.x)


def test_digit_pairs_on_canvas_rejects_bad_input():
    from cam_edu.course.data import digit_pairs_on_canvas

    with pytest.raises(ValueError, match="twice the digit size"):
        digit_pairs_on_canvas(np.ones((2, 28, 28)), [0, 0], True, canvas_size=40)
    with pytest.raises(ValueError, match="no partner of its class"):
        digit_pairs_on_canvas(np.ones((2, 28, 28)), [0, 1], True, canvas_size=56)
    with pytest.raises(ValueError, match="no partner of another class"):
        digit_pairs_on_canvas(np.ones((2, 28, 28)), [0, 0], False, canvas_size=56)
    with pytest.raises(ValueError, match="labels"):
        digit_pairs_on_canvas(np.ones((2, 28, 28)), [0], True, canvas_size=56)
    with pytest.raises(TypeError, match="same_class"):
        digit_pairs_on_canvas(np.ones((2, 28, 28)), [0, 1], "no", canvas_size=56)
