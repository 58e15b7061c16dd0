"""Self-checks: correct code passes; wrong code gets a specific hint, never the answer."""

import contextlib
import io
import re

import numpy as np
import pytest
import tensorflow as tf

from cam_edu.exercises import checks


def run(check, *fns):
    """Run a check; return its single line: the printed ✓ line or the raised ✗ line."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            result = check(*fns)
        except checks.SelfCheckFailed as failure:
            assert not buffer.getvalue(), "a failing check prints nothing before its ✗ line"
            assert "\n" not in str(failure), str(failure)
            return str(failure)
    assert result is None, "checks must return None (a notebook would display the value)"
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def not_written(*args, **kwargs):
    raise NotImplementedError


# correct implementations, written independently of cam_edu (numpy and scipy only):
# a check that compares cam_edu with itself would prove nothing


def grads_fn(cut, images, classes):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        a, logits = cut(x, training=False)
        target = tf.reduce_sum(tf.gather(logits, classes, axis=1, batch_dims=1))
    return a.numpy(), tape.gradient(target, a).numpy()


def weights_fn(g):
    return g.mean(axis=(1, 2))


def map_fn(a, w):
    return np.maximum(np.einsum("nhwk,nk->nhw", a, w), 0)


def sig_cams(f, w, b):
    m = np.tensordot(f, w[:, 0], axes=([3], [0]))
    return np.stack([-m, m], axis=-1)


def sig_probs(f, w, b):
    z = np.tensordot(f.mean(axis=(1, 2)), w[:, 0], axes=1) + b[0]
    p = np.exp(-np.logaddexp(0.0, -z))
    return np.stack([1 - p, p], axis=1)


def per_image(f, w, c):
    return np.einsum("nhwk,kn->nhw", f, w[:, c])


def parts(cam, bias, mask):
    hw = cam.shape[1] * cam.shape[2]
    return np.stack([(cam * mask).sum((1, 2)) / hw, (cam * ~mask).sum((1, 2)) / hw], axis=1)


def in_box(cams, box):
    y0, x0, y1, x1 = box
    pos = np.clip(cams, 0, None)
    total = pos.sum(axis=(1, 2))
    inside = pos[:, y0:y1, x0:x1].sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros(len(cams)), where=total > 0)


def refined(cams):
    prof = cams.mean(axis=1)
    out = []
    for row in prof:
        j = int(np.argmax(row))
        t = 0.0
        if 0 < j < len(row) - 1:
            a = (row[j - 1] + row[j + 1]) / 2 - row[j]
            b = (row[j + 1] - row[j - 1]) / 2
            t = -b / (2 * a) if a < 0 else 0.0
        out.append((j + 0.5 + t) / len(row))
    return np.array(out)


def feature_model(model):
    import keras

    inputs = keras.Input(model.input_shape[1:])
    x = inputs
    for layer in model.layers[:-2]:
        x = layer(x)
    return keras.Model(inputs, x)


def transfer(model, fm, images, classes):
    f = np.asarray(fm(images))
    return np.einsum("nhwk,kn->nhw", f, np.asarray(model.layers[-1].kernel)[:, classes])


def pp_weights(a, g):
    total = a.sum(axis=(1, 2), keepdims=True)
    den = 2 * g**2 + total * g**3
    with np.errstate(divide="ignore", invalid="ignore"):
        coeff = np.where(den == 0, 0.0, g**2 / den)
    return (coeff * np.maximum(g, 0)).sum(axis=(1, 2))


def spearman(x, y):
    from scipy.stats import rankdata

    values = []
    for a, b in zip(x, y, strict=True):
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            values.append(np.corrcoef(rankdata(a.ravel()), rankdata(b.ravel()))[0, 1])
    return float(np.mean(values)) if values else float("nan")


def occ(logits_fn, image, c, patch, stride):
    h, w = image.shape[:2]
    rows = sorted(set(range(0, h - patch + 1, stride)) | {h - patch})
    cols = sorted(set(range(0, w - patch + 1, stride)) | {w - patch})
    base = logits_fn(image[None])[0, c]
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for i in rows:
        for j in cols:
            x = image.copy()
            x[i : i + patch, j : j + patch] = 0
            total[i : i + patch, j : j + patch] += base - logits_fn(x[None])[0, c]
            count[i : i + patch, j : j + patch] += 1
    return total / count


CORRECT = [
    (checks.check_gradcam_weights, (weights_fn,), "gradcam_weights: all 6 cases"),
    (checks.check_gradcam_map, (map_fn,), "gradcam_map: all 4 cases"),
    (checks.check_activations_and_gradients, (grads_fn,), "activations_and_gradients: all 3"),
    (checks.check_grad_cam, (weights_fn, map_fn, grads_fn), "Grad-CAM, end to end: all 2"),
    (checks.check_sigmoid_head_cams, (sig_cams,), "sigmoid_head_cams: all 4"),
    (checks.check_sigmoid_head_probabilities, (sig_probs,), "sigmoid_head_probabilities: all 4"),
    (checks.check_sigmoid_question, (lambda: "raises",), "the negative region: all 1"),
    (checks.check_cam_per_image, (per_image,), "cam_per_image: all 4"),
    (checks.check_logit_parts, (parts,), "logit_parts: all 4"),
    (checks.check_dark_region_question, (lambda: 4.77,), "the darkest colour: all 1"),
    (checks.check_evidence_in_box, (in_box,), "evidence_in_box: all 5"),
    (checks.check_shortcut_diagnosis, (lambda: "marker",), "the diagnosis: all 1"),
    (checks.check_marker_share, (lambda: 0.18,), "marker_share: all 1"),  # values of the run
    (checks.check_counterfactual_accuracy, (lambda: 0.151,), "counterfactual_accuracy: all 1"),
    (checks.check_refined_peak_position, (refined,), "refined_peak_position: all 6"),
    (checks.check_grid_error_question, (lambda: 1 / 64,), "the grid's own error: all 1"),
    (checks.check_feature_model, (feature_model,), "feature_model_of: all 1"),
    (checks.check_transfer_cam, (transfer,), "transfer_cam: all 2"),
    (checks.check_cell_size_question, (lambda: 32,), "the size of a CAM cell: all 1"),
    (checks.check_gradcampp_weights, (pp_weights,), "gradcampp_weights: all 5"),
    (checks.check_gradcampp_question, (lambda: "zero",), "a channel against the class: all 1"),
    (checks.check_mean_spearman, (spearman,), "mean_spearman: all 5"),
    (checks.check_sanity_question, (lambda: "edges",), "the sanity check: all 1"),
    (checks.check_occlusion, (occ,), "occlusion: all 3"),
    (checks.check_deletion_question, (lambda: "occlusion",), "the most faithful map: all 1"),
]
IDS = [c[2].split(":")[0] for c in CORRECT]


@pytest.mark.parametrize("check,fns,line", CORRECT, ids=IDS)
def test_correct_code_passes_with_a_fixed_line(check, fns, line):
    first = run(check, *fns)
    assert first.startswith("✓ " + line), first
    assert first.endswith("agree with cam_edu.")
    assert run(check, *fns) == first  # deterministic


@pytest.mark.parametrize("check,fns,line", CORRECT, ids=IDS)
def test_untouched_stub_fails_and_says_what_to_do(check, fns, line):
    out = run(check, *[not_written] * len(fns))
    assert out.startswith("✗ ")
    assert "not written yet" in out and "NotImplementedError" in out


def _per_image_in_place(f, w, c):
    out = per_image(f, w, c)
    f[...] = 0.0
    return out


def _grads_batch_mean(cut, images, classes):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        a, logits = cut(x, training=False)
        target = tf.reduce_mean(tf.gather(logits, classes, axis=1, batch_dims=1))
    return a.numpy(), tape.gradient(target, a).numpy()


def _region_means(cam, bias, mask):
    inside = cam[:, mask].mean(axis=1)
    outside = cam[:, ~mask].mean(axis=1) if (~mask).any() else np.zeros(len(cam))
    return np.stack([inside, outside], axis=1)


def _in_box_raw(cams, box):
    y0, x0, y1, x1 = box
    return cams[:, y0:y1, x0:x1].sum(axis=(1, 2)) / cams.sum(axis=(1, 2))


def _refined_wrap(cams):
    prof = cams.mean(axis=1)
    j = prof.argmax(axis=1)
    rows = np.arange(len(prof))
    left, mid, right = prof[rows, j - 1], prof[rows, j], prof[rows, (j + 1) % prof.shape[1]]
    return (j + 0.5 + 0.5 * (left - right) / (left - 2 * mid + right)) / prof.shape[1]


def _refined_flipped(cams):
    return 2 * (cams.mean(axis=1).argmax(axis=1) + 0.5) / cams.shape[2] - refined(cams)


def _base_only(model):
    import keras

    return next(la for la in model.layers if isinstance(la, keras.Model))


def _pooled_model(model):
    import keras

    return keras.Model(model.inputs, model.get_layer("gap").output)


def _pp(a, g, relu=True, local=False, two=2.0):
    total = a if local else a.sum(axis=(1, 2), keepdims=True)
    den = two * g**2 + total * g**3
    with np.errstate(divide="ignore", invalid="ignore"):
        coeff = np.where(den == 0, 0.0, g**2 / den)
    return (coeff * (np.maximum(g, 0) if relu else g)).sum(axis=(1, 2))


def _pearson(x, y):
    keep = [i for i in range(len(x)) if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0]
    return float(np.mean([np.corrcoef(x[i].ravel(), y[i].ravel())[0, 1] for i in keep]))


def _pooled_spearman(x, y):
    from scipy.stats import spearmanr

    return float(spearmanr(x.ravel(), y.ravel()).statistic)


def _occ_no_edge(logits_fn, image, c, patch, stride):
    h, w = image.shape[:2]
    base = logits_fn(image[None])[0, c]
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for i in range(0, h - patch + 1, stride):
        for j in range(0, w - patch + 1, stride):
            x = image.copy()
            x[i : i + patch, j : j + patch] = 0
            total[i : i + patch, j : j + patch] += base - logits_fn(x[None])[0, c]
            count[i : i + patch, j : j + patch] += 1
    return total / np.maximum(count, 1)


def _occ_sum(logits_fn, image, c, patch, stride):
    h, w = image.shape[:2]
    rows = sorted(set(range(0, h - patch + 1, stride)) | {h - patch})
    cols = sorted(set(range(0, w - patch + 1, stride)) | {w - patch})
    base = logits_fn(image[None])[0, c]
    total = np.zeros((h, w))
    for i in rows:
        for j in cols:
            x = image.copy()
            x[i : i + patch, j : j + patch] = 0
            total[i : i + patch, j : j + patch] += base - logits_fn(x[None])[0, c]
    return total


WRONG = [
    ("returns none", checks.check_cam_per_image, (lambda f, w, c: None,), "`return`"),
    ("raises", checks.check_cam_per_image, (lambda f, w, c: 1 / 0,), "raised ZeroDivisionError"),
    ("in place", checks.check_cam_per_image, (_per_image_in_place,), "in place"),
    (
        "weights batch",
        checks.check_gradcam_weights,
        (lambda g: np.broadcast_to(g.mean(axis=(0, 1, 2)), (g.shape[0], g.shape[3])),),
        "batch axis",
    ),
    (
        "map no relu",
        checks.check_gradcam_map,
        (lambda a, w: np.einsum("nhwk,nk->nhw", a, w),),
        "ReLU",
    ),
    ("grads mean", checks.check_activations_and_gradients, (_grads_batch_mean,), "do not average"),
    (
        "sigmoid 1 - M",
        checks.check_sigmoid_head_cams,
        (lambda f, w, b: np.stack([1 - sig_cams(f, w, b)[..., 1], sig_cams(f, w, b)[..., 1]], -1),),
        "1 - p is a statement about probabilities",
    ),
    (
        "sigmoid relu",
        checks.check_sigmoid_head_cams,
        (lambda f, w, b: np.maximum(sig_cams(f, w, b), 0),),
        "no ReLU",
    ),
    (
        "sigmoid bias",
        checks.check_sigmoid_head_cams,
        (lambda f, w, b: sig_cams(f, w, b) + np.array([-b[0], b[0]]),),
        "bias is not part of the map",
    ),
    (
        "sigmoid softmax",
        checks.check_sigmoid_head_probabilities,
        (lambda f, w, b: sig_probs(f, 2 * w, 2 * b),),  # softmax([-z, z]) = sigmoid(2 z)
        "sigmoid(2 z)",
    ),
    ("question lowers", checks.check_sigmoid_question, (lambda: "lowers",), "sigmoid(-z)"),
    ("question typo", checks.check_sigmoid_question, (lambda: "up",), "return one of"),
    (
        "per image first",
        checks.check_cam_per_image,
        (lambda f, w, c: np.einsum("nhwk,k->nhw", f, w[:, c[0]]),),
        "OWN class",
    ),
    (
        "per image loop",
        checks.check_cam_per_image,
        (lambda f, w, c: np.stack([f[n] @ w[:, c[n]] for n in range(len(f))]),),
        "Python loop",
    ),
    ("parts region mean", checks.check_logit_parts, (_region_means,), "same H * W"),
    (
        "parts bias",
        checks.check_logit_parts,
        (lambda cam, b, m: parts(cam, b, m) + np.stack([b, 0 * b], 1),),
        "bias belongs to neither",
    ),
    ("darkest zero", checks.check_dark_region_question, (lambda: 1.0,), "own minimum"),
    ("box raw", checks.check_evidence_in_box, (_in_box_raw,), "positive evidence"),
    (
        "box xy",
        checks.check_evidence_in_box,
        (lambda c, b: in_box(c, (b[1], b[0], b[3], b[2])),),
        "rows first",
    ),
    ("shortcut background", checks.check_shortcut_diagnosis, (lambda: "background",), "same"),
    ("share even spread", checks.check_marker_share, (lambda: 4 / 49,), "feature cells"),
    ("share typo", checks.check_marker_share, (lambda: "0.2 maybe",), "return one number"),
    ("counterfactual none", checks.check_counterfactual_accuracy, (lambda: 1.0,), "remove it"),
    ("peak wraps", checks.check_refined_peak_position, (_refined_wrap,), "index -1"),
    ("peak sign", checks.check_refined_peak_position, (_refined_flipped,), "TOWARDS"),
    ("grid full column", checks.check_grid_error_question, (lambda: 1 / 32,), "centre"),
    ("feature base only", checks.check_feature_model, (_base_only,), "Rescaling"),
    ("feature pooled", checks.check_feature_model, (_pooled_model,), "not the pooled vector"),
    ("transfer relu", checks.check_transfer_cam, (lambda *a: np.maximum(transfer(*a), 0),), "ReLU"),
    ("cell size", checks.check_cell_size_question, (lambda: 2,), "how many cells"),
    (
        "pp no relu",
        checks.check_gradcampp_weights,
        (lambda a, g: _pp(a, g, relu=False),),
        "POSITIVE",
    ),
    ("pp local", checks.check_gradcampp_weights, (lambda a, g: _pp(a, g, local=True),), "SUM"),
    ("pp two", checks.check_gradcampp_weights, (lambda a, g: _pp(a, g, two=1.0),), "factor 2"),
    ("pp question", checks.check_gradcampp_question, (lambda: "negative",), "Grad-CAM's answer"),
    ("spearman pearson", checks.check_mean_spearman, (_pearson,), "RANKS"),
    ("spearman pooled", checks.check_mean_spearman, (_pooled_spearman,), "do not pool"),
    ("sanity gradcam", checks.check_sanity_question, (lambda: "gradcam",), "CHANGE"),
    ("occlusion edge", checks.check_occlusion, (_occ_no_edge,), "one last position"),
    ("occlusion sum", checks.check_occlusion, (_occ_sum,), "do not sum"),
    ("occlusion sign", checks.check_occlusion, (lambda *a: -occ(*a),), "logit(original)"),
    ("deletion cam", checks.check_deletion_question, (lambda: "cam",), "LARGE or a SMALL"),
]


@pytest.mark.parametrize("what,check,fns,hint", WRONG, ids=[w[0] for w in WRONG])
def test_known_mistakes_get_a_specific_hint(what, check, fns, hint):
    out = run(check, *fns)
    assert out.startswith("✗ ") and hint in out, out


@pytest.mark.parametrize(
    "check,fns",
    [
        (checks.check_cam_per_image, (lambda f, w, c: per_image(f, w, c) * 1.01,)),
        (checks.check_sigmoid_head_cams, (lambda f, w, b: sig_cams(f, w, b) + 0.123,)),
        (checks.check_sigmoid_head_probabilities, (lambda f, w, b: sig_probs(f, w, b) ** 2,)),
        (checks.check_logit_parts, (lambda cam, b, m: parts(cam, b, m) * 1.01,)),
        (checks.check_evidence_in_box, (lambda c, b: in_box(c, b) * 0.9,)),
    ],
)
def test_failure_messages_never_reveal_expected_values(check, fns):
    out = run(check, *fns)
    assert out.startswith("✗ ")
    case = re.search(r"for (.*?), (?:\d+ of|the value|your)", out).group(1)
    decimals_outside_case = set(re.findall(r"\d+\.\d+", out.replace(case, "")))
    assert not decimals_outside_case, out


def test_a_function_that_is_not_callable_is_reported():
    out = run(checks.check_cam_per_image, "cam_per_image")
    assert out.startswith("✗ cam_per_image:") and "expected a function" in out
