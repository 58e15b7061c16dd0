"""Models with several outputs (a class head and a box head): every method of the registry,
the curves, the comparison, the randomization check and the explorer take the same
``output=`` argument, say which output they explain when none is chosen (a warning at the
caller's line), and refuse a wrong name clearly."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from cam_edu import (
    compute_cam,
    grad_cam,
    grad_cam_plus_plus,
    grid_segmentation,
    occlusion_map,
    score_cam,
    softmax,
)
from cam_edu.methods import METHODS


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


# --- every method of the registry, and every tool that runs a model -------------------------

OPTIONS = {  # small and fast settings; LIME's grid fits a 12 x 12 image
    "occlusion": {"patch": 4, "stride": 4},
    "lime": {"num_samples": 20, "segmentation": grid_segmentation(4)},
}


def _warned(record, who: str):
    """The one warning that names the first output, for ``who``; it points at this file."""
    found = [w for w in record if f"2 outputs; {who} explains the first, output 'cls'" in str(w)]
    assert len(found) == 1, [str(w.message) for w in record]
    assert found[0].filename == __file__, "the warning does not point at the caller's line"


@pytest.mark.parametrize("key", list(METHODS))
def test_every_method_says_which_output_it_explains_and_takes_output(two_heads, images, key):
    method, options = METHODS[key], OPTIONS.get(key, {})
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        maps, logits = method(two_heads, images, **options)
    _warned(record, method.display_name)
    probabilities, boxes = (t.numpy() for t in two_heads(images))
    np.testing.assert_allclose(softmax(logits), probabilities, rtol=1e-4, atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # naming the output: no warning
        warnings.filterwarnings("ignore", message="The structure of `inputs`")
        named, _ = method(two_heads, images, output="cls", **options)
        np.testing.assert_array_equal(named, maps)
        if method.needs_cam_head:  # the box head has none: refused clearly (above)
            return
        box_maps, box_logits = method(two_heads, images, class_index=2, output="box", **options)
        by_index, _ = method(two_heads, images, class_index=2, output=1, **options)
    np.testing.assert_allclose(box_logits, boxes, rtol=1e-4, atol=1e-5)  # the box head's
    np.testing.assert_array_equal(box_maps, by_index)
    assert box_maps.shape[0] == 3 and not np.array_equal(box_maps, maps)


def test_curves_comparison_randomization_and_explorer_take_output(two_heads, images):
    from cam_edu import compare_methods, deletion_curve, insertion_curve, randomization_correlation
    from cam_edu.explorer.state import ExplorerState
    from cam_edu.localize import BoxTruth

    box_maps, box_logits = grad_cam(two_heads, images, class_index=2, output="box")
    probability = softmax(box_logits)[:, 2]  # the box head's "class" 2, as ClassScores scores it
    for curve in (deletion_curve, insertion_curve):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            curve(two_heads, images, box_maps, class_index=2, steps=4)
        _warned(record, curve.__name__)
    _, deleted = deletion_curve(two_heads, images, box_maps, 2, steps=4, output="box")
    np.testing.assert_allclose(deleted[:, 0], probability, rtol=1e-5)  # nothing removed yet
    truth = BoxTruth([(0, 0, 6, 6)] * 3, (12, 12))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        compare_methods(two_heads, images, truth, ["gradcam"], steps=4)
    _warned(record, "compare_methods")
    result = compare_methods(two_heads, images, truth, ["gradcam"], 2, steps=4, output="box")
    np.testing.assert_allclose(result.maps["gradcam"], box_maps, rtol=1e-5, atol=1e-7)
    steps = randomization_correlation(two_heads, images, "gradcam", 2, output="box")
    np.testing.assert_allclose(steps[0].maps, box_maps, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        result.per_image["gradcam"]["randomization rho"].mean(), steps[1].spearman, rtol=1e-6
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ExplorerState(two_heads, images, method="gradcam")
    _warned(record, "the explorer")
    state = ExplorerState(two_heads, images, method="gradcam", output="box")
    state.choose_class(2)
    assert state.probs.shape == (3, 4)
    np.testing.assert_allclose(state.view().heatmap, box_maps[0], rtol=1e-5, atol=1e-7)
