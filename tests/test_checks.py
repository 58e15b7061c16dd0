"""Self-checks: correct code passes (written in several ways); every known wrong variant of
every exercise is rejected with a hint that names its mistake, never the answer; and a
check replayed from its record in the grader gives the same line as in the notebook."""

import contextlib
import io
import json
import re
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.stats import kendalltau, rankdata, spearmanr

from cam_edu.course.cantilever import cam_peak_position
from cam_edu.exercises import checks
from cam_edu.exercises.checks import harness, record


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


# --------------------------------------------------------------------------- right answers
# written independently of cam_edu and of the checks' references (numpy, scipy, Keras)


def grads_fn(cut, images, classes):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        a, logits = cut(x, training=False)
        target = tf.reduce_sum(tf.gather(logits, classes, axis=1, batch_dims=1))
    return a.numpy(), tape.gradient(target, a).numpy()


def grads_one_hot(cut, images, classes):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        a, logits = cut(x, training=False)
        target = tf.reduce_sum(logits * tf.one_hot(classes, logits.shape[1]))
    return a, tape.gradient(target, a)  # tensors, not arrays: the check converts them


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


def shortcut_maps(model, images, cls=1):
    """Class maps of the shortcut network, from its layers and kernel."""
    feats = keras.Model(model.inputs[0], model.get_layer("features").output)(images)
    return np.einsum("nhwk,k->nhw", np.asarray(feats), model.layers[-1].get_weights()[0][:, cls])


def marker_share(model, images):
    return float(np.median(in_box(shortcut_maps(model, images), (0, 0, 2, 2))))


def moved(images, labels):
    out = np.array(images)
    out[labels == 1, 1:5, 1:5] = 0.0
    out[labels == 0, 1:5, 1:5] = 1.0
    return out


def counterfactual(model, images, labels):
    return float((model.predict(moved(images, labels), verbose=0).argmax(1) == labels).mean())


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


def pp_pytorch_grad_cam(a, g):
    """As pytorch-grad-cam writes it (NHWC here): + 1e-7, zero where g == 0."""
    g2, g3 = g**2, g**3
    sum_a = np.sum(a, axis=(1, 2))
    aij = g2 / (2 * g2 + sum_a[:, None, None, :] * g3 + 1e-7)
    aij = np.where(g != 0, aij, 0)
    return np.sum(np.maximum(g, 0) * aij, axis=(1, 2))


def spearman(x, y):
    values = []
    for a, b in zip(x, y, strict=True):
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            values.append(np.corrcoef(rankdata(a.ravel()), rankdata(b.ravel()))[0, 1])
    return float(np.mean(values)) if values else float("nan")


def spearman_nanmean(x, y):
    """scipy's NaN for a constant map, left out by nanmean."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = [spearmanr(a.ravel(), b.ravel()).statistic for a, b in zip(x, y, strict=True)]
        return float(np.nanmean(values))


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


def sigmoid_answer():
    m = np.zeros((4, 4))
    m[:2, :2] = -8
    return "raises", 1 / (1 + np.exp(m.mean()))


CORRECT = [
    (checks.check_gradcam_weights, (weights_fn,), "gradcam_weights: all 6 cases"),
    (checks.check_gradcam_map, (map_fn,), "gradcam_map: all 4 cases"),
    (checks.check_activations_and_gradients, (grads_fn,), "activations_and_gradients: all 3"),
    (checks.check_activations_and_gradients, (grads_one_hot,), "activations_and_gradients: all 3"),
    (checks.check_grad_cam, (weights_fn, map_fn, grads_fn), "Grad-CAM, end to end: all 2"),
    (checks.check_sigmoid_head_cams, (sig_cams,), "sigmoid_head_cams: all 4"),
    (checks.check_sigmoid_head_probabilities, (sig_probs,), "sigmoid_head_probabilities: all 4"),
    (checks.check_sigmoid_question, (sigmoid_answer,), "the negative region: all 1"),
    (checks.check_cam_per_image, (per_image,), "cam_per_image: all 4"),
    (checks.check_logit_parts, (parts,), "logit_parts: all 4"),
    (checks.check_dark_region_question, (lambda: 61.91 / 12.97,), "the darkest colour: all 1"),
    (checks.check_evidence_in_box, (in_box,), "evidence_in_box: all 5"),
    (checks.check_marker_share, (marker_share,), "marker_share: all 2"),
    (checks.check_counterfactual_accuracy, (counterfactual,), "counterfactual_accuracy: all 2"),
    (checks.check_shortcut_diagnosis, (lambda: ("Marker ", 0.065),), "the diagnosis: all 1"),
    (checks.check_refined_peak_position, (refined,), "refined_peak_position: all 6"),
    (
        checks.check_refined_peak_position,  # lesson 4's library function agrees
        (lambda cams: cam_peak_position(cams, refine=True),),
        "refined_peak_position: all 6",
    ),
    (checks.check_grid_error_question, (lambda: 1 / 64,), "the grid's own error: all 1"),
    (checks.check_feature_model, (feature_model,), "feature_model_of: all 1"),
    (checks.check_transfer_cam, (transfer,), "transfer_cam: all 2"),
    (checks.check_cell_size_question, (lambda: 32,), "the size of a CAM cell: all 1"),
    (checks.check_gradcampp_weights, (pp_weights,), "gradcampp_weights: all 5"),
    (checks.check_gradcampp_weights, (pp_pytorch_grad_cam,), "gradcampp_weights: all 5"),
    (
        checks.check_gradcampp_question,
        (lambda: ("zero", 0.1111),),
        "a channel against the class: all 1",
    ),
    (checks.check_mean_spearman, (spearman,), "mean_spearman: all 7"),
    (checks.check_mean_spearman, (spearman_nanmean,), "mean_spearman: all 7"),
    (checks.check_sanity_question, (lambda: ["edges", np.float32(0.11)],), "the sanity check"),
    (checks.check_occlusion, (occ,), "occlusion: all 3"),
    (
        checks.check_deletion_question,
        (lambda: ("occlusion", 0.143),),
        "the most faithful map: all 1",
    ),
]
IDS = [f"{c[0].__name__}-{c[1][0].__name__}" for c in CORRECT]


@pytest.mark.parametrize("check,fns,line", CORRECT, ids=IDS)
def test_correct_code_passes_with_a_fixed_line(check, fns, line):
    first = run(check, *fns)
    assert first.startswith("✓ " + line), first
    assert first.endswith("agree with cam_edu.")
    assert run(check, *fns) == first  # deterministic


@pytest.mark.parametrize("check,fns,line", CORRECT[::2], ids=IDS[::2])
def test_untouched_stub_fails_and_says_what_to_do(check, fns, line):
    out = run(check, *[not_written] * len(fns))
    assert out.startswith("✗ ")
    assert "not written yet" in out and "NotImplementedError" in out


# --------------------------------------------------------------------------- wrong answers
# each written the way a student would get it wrong; the hint must name that mistake


def _per_image_in_place(f, w, c):
    out = per_image(f, w, c)
    f[...] = 0.0
    return out


def _grads(cut, images, classes, reduce=tf.reduce_sum, softmax=False, pick="own"):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        a, logits = cut(x, training=False)
        scores = tf.nn.softmax(logits) if softmax else logits
        if pick == "all":
            target = reduce(scores)
        else:
            chosen = {"own": classes, "first": np.full(len(classes), classes[0])}.get(pick)
            if pick == "predicted":
                chosen = tf.argmax(logits, axis=1)
            target = reduce(tf.gather(scores, chosen, axis=1, batch_dims=1))
    return a.numpy(), tape.gradient(target, a).numpy()


def _region_means(cam, bias, mask):
    inside = cam[:, mask].mean(axis=1)
    outside = cam[:, ~mask].mean(axis=1) if (~mask).any() else np.zeros(len(cam))
    return np.stack([inside, outside], axis=1)


def _in_box_raw(cams, box):
    y0, x0, y1, x1 = box
    return cams[:, y0:y1, x0:x1].sum(axis=(1, 2)) / cams.sum(axis=(1, 2))


def _in_box_abs(cams, box):
    y0, x0, y1, x1 = box
    return np.abs(cams[:, y0:y1, x0:x1]).sum(axis=(1, 2)) / np.abs(cams).sum(axis=(1, 2))


def _in_box_unguarded(cams, box):
    pos = np.maximum(cams, 0)
    y0, x0, y1, x1 = box
    with np.errstate(invalid="ignore"):
        return pos[:, y0:y1, x0:x1].sum(axis=(1, 2)) / pos.sum(axis=(1, 2))


def _counterfactual(model, images, labels, remove=True, paint=True, score="plain"):
    out = np.array(images)
    if remove:
        out[labels == 1, 1:5, 1:5] = 0.0
    if paint:
        out[labels == 0, 1:5, 1:5] = 1.0
    right = model.predict(out, verbose=0).argmax(1) == labels
    if score == "balanced":
        return float(np.mean([right[labels == c].mean() for c in (0, 1)]))
    if score == "nines":
        return float(right[labels == 1].mean())
    return float(right.mean())


def _counterfactual_flipped(model, images, labels):
    return float((model.predict(moved(images, labels), verbose=0).argmax(1) == 1 - labels).mean())


def _refined_wrap(cams):
    prof = cams.mean(axis=1)
    j = prof.argmax(axis=1)
    rows = np.arange(len(prof))
    left, mid, right = prof[rows, j - 1], prof[rows, j], prof[rows, (j + 1) % prof.shape[1]]
    return (j + 0.5 + 0.5 * (left - right) / (left - 2 * mid + right)) / prof.shape[1]


def _refined_flipped(cams):
    return 2 * (cams.mean(axis=1).argmax(axis=1) + 0.5) / cams.shape[2] - refined(cams)


def _refined_max_rows(cams):
    return refined(cams.max(axis=1, keepdims=True))


def _base_only(model):
    return next(la for la in model.layers if isinstance(la, keras.Model))


def _pooled_model(model):
    return keras.Model(model.inputs[0], model.get_layer("gap").output)


def _pp(a, g, relu=True, local=False, two=2.0, guard=True, mean=False):
    total = a if local else a.sum(axis=(1, 2), keepdims=True)
    den = two * g**2 + total * g**3
    with np.errstate(divide="ignore", invalid="ignore"):
        coeff = np.where(den == 0, 0.0, g**2 / den) if guard else g**2 / den
    terms = coeff * (np.maximum(g, 0) if relu else g)
    return terms.mean(axis=(1, 2)) if mean else terms.sum(axis=(1, 2))


def _pearson(x, y):
    keep = [i for i in range(len(x)) if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0]
    if not keep:
        return float("nan")
    return float(np.mean([np.corrcoef(x[i].ravel(), y[i].ravel())[0, 1] for i in keep]))


def _argsort_spearman(x, y):
    def ranks(m):
        return np.argsort(np.argsort(m.ravel())).astype(float)

    keep = [i for i in range(len(x)) if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0]
    if not keep:
        return float("nan")
    return float(np.mean([np.corrcoef(ranks(x[i]), ranks(y[i]))[0, 1] for i in keep]))


def _pooled_spearman(x, y):
    return float(spearmanr(x.ravel(), y.ravel()).statistic)


def _spearman_zero_when_none(x, y):
    value = spearman(x, y)
    return 0.0 if np.isnan(value) else value


def _scipy_per_image(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [spearmanr(a.ravel(), b.ravel()).statistic for a, b in zip(x, y, strict=True)]


def _spearman_keeps_constant(x, y):
    return float(np.mean(_scipy_per_image(x, y)))


def _spearman_constant_as_zero(x, y):
    return float(np.mean(np.nan_to_num(_scipy_per_image(x, y))))


def _kendall(x, y):
    keep = [i for i in range(len(x)) if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0]
    if not keep:
        return float("nan")
    return float(np.mean([kendalltau(x[i].ravel(), y[i].ravel()).statistic for i in keep]))


def _occ(logits_fn, image, c, patch, stride, edge=True, mean=True, fill=0.0, step=None):
    h, w = image.shape[:2]
    step = step or stride
    rows = list(range(0, h - patch + 1, step))
    cols = list(range(0, w - patch + 1, step))
    if edge:
        rows, cols = sorted(set(rows) | {h - patch}), sorted(set(cols) | {w - patch})
    base = logits_fn(image[None])[0, c]
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for i in rows:
        for j in cols:
            x = image.copy()
            x[i : i + patch, j : j + patch] = fill
            total[i : i + patch, j : j + patch] += base - logits_fn(x[None])[0, c]
            count[i : i + patch, j : j + patch] += 1
    with np.errstate(invalid="ignore"):
        return total / count if mean else total


def _transfer_normalized(*args):
    t = transfer(*args)
    low = t.min(axis=(1, 2), keepdims=True)
    return (t - low) / np.ptp(t, axis=(1, 2), keepdims=True)


def _occ_probs(logits_fn, image, c, patch, stride):
    def probs(x):
        z = logits_fn(x)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return occ(probs, image, c, patch, stride)


W = checks  # shorter rows below
WRONG = [
    # lesson 1
    (
        "sigmoid 1 - M",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: np.stack([1 - sig_cams(f, w, b)[..., 1], sig_cams(f, w, b)[..., 1]], -1),),
        "1 - p is a statement about probabilities",
    ),
    (
        "sigmoid order",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: sig_cams(f, w, b)[..., ::-1],),
        "class 0 (the 'no' answer",
    ),
    (
        "sigmoid no class 0",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: sig_cams(f, w, b) * [0, 1],),
        "class 0 has a map too",
    ),
    (
        "sigmoid relu",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: np.maximum(sig_cams(f, w, b), 0),),
        "no ReLU",
    ),
    (
        "sigmoid bias",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: sig_cams(f, w, b) + np.array([-b[0], b[0]]),),
        "bias is not part of the map",
    ),
    (
        "sigmoid channel mean",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: sig_cams(f, w, b) / f.shape[-1],),
        "yours averages them",
    ),
    (
        "sigmoid per position",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: sig_cams(f, w, b) / (f.shape[1] * f.shape[2]),),
        "belongs to the pooling",
    ),
    (
        "sigmoid probability map",
        W.check_sigmoid_head_cams,
        (lambda f, w, b: 1 / (1 + np.exp(-sig_cams(f, w, b))),),
        "a map is not a probability",
    ),
    (
        "probs softmax",
        W.check_sigmoid_head_probabilities,
        (lambda f, w, b: sig_probs(f, 2 * w, 2 * b),),
        "sigmoid(2 z)",
    ),
    (
        "probs order",
        W.check_sigmoid_head_probabilities,
        (lambda f, w, b: sig_probs(f, w, b)[:, ::-1],),
        "class 0 (1 - p) comes first",
    ),
    (
        "probs no bias",
        W.check_sigmoid_head_probabilities,
        (lambda f, w, b: sig_probs(f, w, 0 * b),),
        "the bias is part of z",
    ),
    (
        "probs sum",
        W.check_sigmoid_head_probabilities,
        (lambda f, w, b: sig_probs(f * f.shape[1] * f.shape[2], w, b),),
        "your z adds them up",
    ),
    (
        "probs logits",
        W.check_sigmoid_head_probabilities,
        (lambda f, w, b: np.log(sig_probs(f, w, b) / sig_probs(f, w, b)[:, ::-1]),),
        "those are the two logits",
    ),
    (
        "probs sigmoid first",
        W.check_sigmoid_head_probabilities,
        (
            lambda f, w, b: np.stack(
                [1 - (p := (1 / (1 + np.exp(-sig_cams(f, w, b)[..., 1]))).mean((1, 2))), p], 1
            ),
        ),
        "the sigmoid comes after the pooling",
    ),
    (
        "question lowers",
        W.check_sigmoid_question,
        (lambda: ("lowers", sigmoid_answer()[1]),),
        "does your choice agree",
    ),
    (
        "question p of class 1",
        W.check_sigmoid_question,
        (lambda: ("raises", 1 / (1 + np.exp(2))),),
        "probability of class 1",
    ),
    (
        "question region only",
        W.check_sigmoid_question,
        (lambda: ("raises", 1 / (1 + np.exp(-8))),),
        "all of its 16 cells",
    ),
    ("question nothing", W.check_sigmoid_question, (lambda: ("nothing", 0.5),), "a map of zeros"),
    ("question choice only", W.check_sigmoid_question, (lambda: "raises",), "return two things"),
    ("question typo", W.check_sigmoid_question, (lambda: ("up", 0.88),), "should be one of"),
    # lesson 2
    ("returns none", W.check_cam_per_image, (lambda f, w, c: None,), "`return`"),
    ("raises", W.check_cam_per_image, (lambda f, w, c: 1 / 0,), "raised ZeroDivisionError"),
    ("in place", W.check_cam_per_image, (_per_image_in_place,), "in place"),
    (
        "per image first",
        W.check_cam_per_image,
        (lambda f, w, c: np.einsum("nhwk,k->nhw", f, w[:, c[0]]),),
        "first image's class",
    ),
    (
        "per image loop",
        W.check_cam_per_image,
        (lambda f, w, c: np.stack([f[n] @ w[:, c[n]] for n in range(len(f))]),),
        "Python loop",
    ),
    (
        "per image mean",
        W.check_cam_per_image,
        (lambda f, w, c: per_image(f, w, c) / f.shape[-1],),
        "yours averages them",
    ),
    (
        "per image relu",
        W.check_cam_per_image,
        (lambda f, w, c: np.maximum(per_image(f, w, c), 0),),
        "no ReLU",
    ),
    ("per image all classes", W.check_cam_per_image, (lambda f, w, c: f @ w,), "shape (N, H, W)"),
    ("parts region mean", W.check_logit_parts, (_region_means,), "same H * W"),
    (
        "parts bias",
        W.check_logit_parts,
        (lambda cam, b, m: parts(cam, b, m) + np.stack([b, 0 * b], 1),),
        "bias belongs to neither",
    ),
    (
        "parts outside missing",
        W.check_logit_parts,
        (lambda cam, b, m: parts(cam, b, m) * [1, 0],),
        "outside the mask as well",
    ),
    (
        "parts order",
        W.check_logit_parts,
        (lambda cam, b, m: parts(cam, b, m)[:, ::-1],),
        "inside comes first",
    ),
    (
        "parts sums",
        W.check_logit_parts,
        (lambda cam, b, m: parts(cam, b, m) * cam[0].size,),
        "divides by the number of positions",
    ),
    ("darkest same", W.check_dark_region_question, (lambda: 1.0,), "own minimum"),
    ("darkest inverted", W.check_dark_region_question, (lambda: 12.97 / 61.91,), "other way round"),
    ("darkest difference", W.check_dark_region_question, (lambda: 61.91 - 12.97,), "a difference"),
    ("darkest maxima", W.check_dark_region_question, (lambda: 85.16 / 75.46,), "maxima"),
    ("darkest text", W.check_dark_region_question, (lambda: "about 5",), "one number"),
    # lesson 3
    ("box raw", W.check_evidence_in_box, (_in_box_raw,), "positive evidence"),
    ("box abs", W.check_evidence_in_box, (_in_box_abs,), "absolute value"),
    (
        "box inclusive",
        W.check_evidence_in_box,
        (lambda c, b: in_box(c, (b[0], b[1], b[2] + 1, b[3] + 1)),),
        "exclusive",
    ),
    (
        "box xy",
        W.check_evidence_in_box,
        (lambda c, b: in_box(c, (b[1], b[0], b[3], b[2])),),
        "rows first",
    ),
    ("box 0 / 0", W.check_evidence_in_box, (_in_box_unguarded,), "not 0 / 0"),
    (
        "share mean",
        W.check_marker_share,
        (lambda m, x: float(np.mean(in_box(shortcut_maps(m, x), (0, 0, 2, 2)))),),
        "the median",
    ),
    (
        "share pixel box",
        W.check_marker_share,
        (lambda m, x: float(np.median(in_box(shortcut_maps(m, x), (1, 1, 5, 5)))),),
        "in pixels",
    ),
    (
        "share class 0",
        W.check_marker_share,
        (lambda m, x: float(np.median(in_box(shortcut_maps(m, x, 0), (0, 0, 2, 2)))),),
        "map of class 0",
    ),
    ("share even spread", W.check_marker_share, (lambda m, x: 4 / 49,), "even spread"),
    (
        "counterfactual balanced",
        W.check_counterfactual_accuracy,
        (lambda m, x, y: _counterfactual(m, x, y, score="balanced"),),
        "balanced accuracy",
    ),
    (
        "counterfactual unmoved",
        W.check_counterfactual_accuracy,
        (lambda m, x, y: _counterfactual(m, x, y, remove=False, paint=False),),
        "did not move",
    ),
    (
        "counterfactual only removed",
        W.check_counterfactual_accuracy,
        (lambda m, x, y: _counterfactual(m, x, y, paint=False),),
        "4s do not carry",
    ),
    (
        "counterfactual only painted",
        W.check_counterfactual_accuracy,
        (lambda m, x, y: _counterfactual(m, x, y, remove=False),),
        "still carry",
    ),
    (
        "counterfactual flipped",
        W.check_counterfactual_accuracy,
        (_counterfactual_flipped,),
        "true labels",
    ),
    (
        "counterfactual nines",
        W.check_counterfactual_accuracy,
        (lambda m, x, y: _counterfactual(m, x, y, score="nines"),),
        "count the 4s too",
    ),
    (
        "diagnosis background",
        W.check_shortcut_diagnosis,
        (lambda: ("background", 0.065),),
        "did not change",
    ),
    (
        "diagnosis fours",
        W.check_shortcut_diagnosis,
        (lambda: ("marker", 0.247),),
        "4s still called a 4",
    ),
    (
        "diagnosis called four",
        W.check_shortcut_diagnosis,
        (lambda: ("marker", 0.935),),
        "now called a 4",
    ),
    ("diagnosis choice only", W.check_shortcut_diagnosis, (lambda: "marker",), "return two things"),
    # lesson 4
    ("peak wraps", W.check_refined_peak_position, (_refined_wrap,), "index -1"),
    ("peak sign", W.check_refined_peak_position, (_refined_flipped,), "away from the larger"),
    (
        "peak unrefined",
        W.check_refined_peak_position,
        (lambda c: (c.mean(1).argmax(1) + 0.5) / c.shape[2],),
        "not refined",
    ),
    (
        "peak columns",
        W.check_refined_peak_position,
        (lambda c: refined(c) * c.shape[2],),
        "not columns",
    ),
    (
        "peak edge",
        W.check_refined_peak_position,
        (lambda c: refined(c) - 0.5 / c.shape[2],),
        "half a column",
    ),
    ("peak max rows", W.check_refined_peak_position, (_refined_max_rows,), "averages the rows"),
    ("grid full column", W.check_grid_error_question, (lambda: 1 / 32,), "whole column"),
    ("grid columns", W.check_grid_error_question, (lambda: 0.5,), "in beam lengths"),
    ("grid exact", W.check_grid_error_question, (lambda: 0,), "cannot be exact"),
    # lesson 5
    ("feature base only", W.check_feature_model, (_base_only,), "Rescaling layer"),
    ("feature pooled", W.check_feature_model, (_pooled_model,), "not the pooled vector"),
    (
        "feature not a model",
        W.check_feature_model,
        (lambda m: m.layers[1].output,),
        "expected a keras.Model",
    ),
    ("transfer relu", W.check_transfer_cam, (lambda *a: np.maximum(transfer(*a), 0),), "ReLU"),
    (
        "transfer summed",
        W.check_transfer_cam,
        (
            lambda m, fm, x, c: np.einsum(
                "nhwk,k->nhw", np.asarray(fm(x)), np.asarray(m.layers[-1].kernel)[:, c].sum(1)
            ),
        ),
        "ITS class",
    ),
    (
        "transfer bias",
        W.check_transfer_cam,
        (
            lambda m, fm, x, c: (
                transfer(m, fm, x, c) + np.asarray(m.layers[-1].bias)[c][:, None, None]
            ),
        ),
        "bias is not part",
    ),
    ("transfer normalized", W.check_transfer_cam, (_transfer_normalized,), "not normalized"),
    ("cell count", W.check_cell_size_question, (lambda: 2,), "how many cells"),
    ("cell whole", W.check_cell_size_question, (lambda: 64,), "whole side"),
    ("cell channels", W.check_cell_size_question, (lambda: 1280,), "channels"),
    # lesson 6
    (
        "weights sum",
        W.check_gradcam_weights,
        (lambda g: g.sum(axis=(1, 2)),),
        "add the gradients up",
    ),
    (
        "weights batch",
        W.check_gradcam_weights,
        (lambda g: np.broadcast_to(g.mean(axis=(0, 1, 2)), (g.shape[0], g.shape[3])),),
        "batch axis",
    ),
    (
        "weights relu",
        W.check_gradcam_weights,
        (lambda g: np.maximum(g, 0).mean(axis=(1, 2)),),
        "raw gradients",
    ),
    (
        "map no relu",
        W.check_gradcam_map,
        (lambda a, w: np.einsum("nhwk,nk->nhw", a, w),),
        "apply ReLU",
    ),
    ("map mean", W.check_gradcam_map, (lambda a, w: map_fn(a, w) / a.shape[-1],), "do not average"),
    (
        "map normalized",
        W.check_gradcam_map,
        (lambda a, w: (m := map_fn(a, w)) / np.maximum(m.max((1, 2), keepdims=True), 1e-30),),
        "no normalization",
    ),
    (
        "grads mean",
        W.check_activations_and_gradients,
        (lambda *a: _grads(*a, reduce=tf.reduce_mean),),
        "were averaged",
    ),
    (
        "grads softmax",
        W.check_activations_and_gradients,
        (lambda *a: _grads(*a, softmax=True),),
        "softmax probabilities",
    ),
    (
        "grads predicted",
        W.check_activations_and_gradients,
        (lambda *a: _grads(*a, pick="predicted"),),
        "predicted class",
    ),
    (
        "grads first class",
        W.check_activations_and_gradients,
        (lambda *a: _grads(*a, pick="first"),),
        "first image's class",
    ),
    (
        "grads all logits",
        W.check_activations_and_gradients,
        (lambda *a: _grads(*a, pick="all"),),
        "all the logits",
    ),
    (
        "grads one array",
        W.check_activations_and_gradients,
        (lambda *a: _grads(*a)[1],),
        "expected a pair",
    ),
    (
        "pp no relu",
        W.check_gradcampp_weights,
        (lambda a, g: _pp(a, g, relu=False),),
        "only the positive gradients",
    ),
    ("pp local", W.check_gradcampp_weights, (lambda a, g: _pp(a, g, local=True),), "whole channel"),
    (
        "pp two",
        W.check_gradcampp_weights,
        (lambda a, g: _pp(a, g, two=1.0),),
        "second-derivative terms",
    ),
    (
        "pp mean",
        W.check_gradcampp_weights,
        (lambda a, g: _pp(a, g, mean=True),),
        "average over the positions",
    ),
    ("pp 0 / 0", W.check_gradcampp_weights, (lambda a, g: _pp(a, g, guard=False),), "not 0 / 0"),
    (
        "pp grad-cam",
        W.check_gradcampp_weights,
        (lambda a, g: g.mean(axis=(1, 2)),),
        "Grad-CAM's weight",
    ),
    (
        "pp question negative",
        W.check_gradcampp_question,
        (lambda: ("negative", 1 / 9),),
        "Grad-CAM's answer",
    ),
    (
        "pp question positive",
        W.check_gradcampp_question,
        (lambda: ("positive", 1 / 9),),
        "what if that one were negative",
    ),
    (
        "pp question grad-cam number",
        W.check_gradcampp_question,
        (lambda: ("zero", -0.05),),
        "Grad-CAM weight",
    ),
    (
        "pp question no relu number",
        W.check_gradcampp_question,
        (lambda: ("zero", float(_pp(*checks.gradcampp_demo(), relu=False)[0, 0])),),
        "negative gradients count",
    ),
    ("spearman pearson", W.check_mean_spearman, (_pearson,), "ranks"),
    ("spearman argsort ties", W.check_mean_spearman, (_argsort_spearman,), "ties"),
    ("spearman pooled", W.check_mean_spearman, (_pooled_spearman,), "do not pool"),
    ("spearman zero not nan", W.check_mean_spearman, (_spearman_zero_when_none,), "NaN, not 0"),
    (
        "spearman keeps constant",
        W.check_mean_spearman,
        (_spearman_keeps_constant,),
        "leave such images out",
    ),
    (
        "spearman constant as 0",
        W.check_mean_spearman,
        (_spearman_constant_as_zero,),
        "rather than count it as 0",
    ),
    ("spearman kendall", W.check_mean_spearman, (_kendall,), "Kendall"),
    ("sanity gradcam", W.check_sanity_question, (lambda: ("gradcam", 0.11),), "CHANGE"),
    (
        "sanity edges number",
        W.check_sanity_question,
        (lambda: ("edges", 1.0),),
        "edge maps' correlation",
    ),
    (
        "sanity argsort number",
        W.check_sanity_question,
        (lambda: ("edges", 0.53),),
        "your mean_spearman",
    ),
    # lesson 7
    (
        "occlusion edge 0 / 0",
        W.check_occlusion,
        (lambda *a: _occ(*a, edge=False),),
        "never reach the last rows",
    ),
    (
        "occlusion edge zeros",
        W.check_occlusion,
        (lambda *a: np.nan_to_num(_occ(*a, edge=False)),),
        "never reach the last rows",
    ),
    ("occlusion sum", W.check_occlusion, (lambda *a: _occ(*a, mean=False),), "do not sum"),
    ("occlusion sign", W.check_occlusion, (lambda *a: -occ(*a),), "score lost"),
    ("occlusion probs", W.check_occlusion, (_occ_probs,), "not probabilities"),
    ("occlusion grey", W.check_occlusion, (lambda *a: _occ(*a, fill=0.5),), "not grey"),
    (
        "occlusion mean fill",
        W.check_occlusion,
        (lambda f, x, *a: _occ(f, x, *a, fill=x.mean()),),
        "image's mean",
    ),
    (
        "occlusion step",
        W.check_occlusion,
        (lambda f, x, c, p, s: _occ(f, x, c, p, s, step=p),),
        "step by their own size",
    ),
    ("deletion cam", W.check_deletion_question, (lambda: ("cam", 0.220),), "LARGE or a SMALL"),
    ("deletion random", W.check_deletion_question, (lambda: ("random", 0.419),), "baseline"),
    (
        "deletion other area",
        W.check_deletion_question,
        (lambda: ("occlusion", 0.220),),
        "'cam' map's curve",
    ),
    ("deletion guess", W.check_deletion_question, (lambda: ("occlusion", 0.3),), "off by more"),
]


@pytest.mark.parametrize("what,check,fns,hint", WRONG, ids=[w[0] for w in WRONG])
def test_known_mistakes_get_a_specific_hint(what, check, fns, hint, task_answers):
    """The hint names the mistake and shows none of what the tasks ask students to write
    (the model answers' code, the formulas to derive: ``task_answers`` in conftest)."""
    out = run(check, *fns)
    assert out.startswith("✗ ") and hint in out, out
    assert not revealed(out, task_answers), out


def revealed(out: str, task_answers) -> list[str]:
    """The pieces of ``task_answers`` (spaces removed) that a check's line shows."""
    spaceless = "".join(out.split())
    return [piece for pieces in task_answers.values() for piece in pieces if piece in spaceless]


def test_every_check_has_known_mistakes_listed():
    """Each exercise check (all but the generic question helpers) is in WRONG at least twice."""
    names = [n for n in checks.__all__ if n.startswith("check_")]
    generic = {"check_number", "check_choice_and_number"}
    counts = {n: sum(w[1].__name__ == n for w in WRONG) for n in names if n not in generic}
    assert {n: c for n, c in counts.items() if c < 2 and n != "check_grad_cam"} == {}


QUESTIONS = [
    (checks.check_sigmoid_question, ("raises", "lowers", "nothing")),
    (checks.check_shortcut_diagnosis, ("digit", "marker", "background", "both")),
    (checks.check_gradcampp_question, ("negative", "zero", "positive")),
    (checks.check_sanity_question, ("gradcam", "edges", "both", "neither")),
    (checks.check_deletion_question, ("cam", "occlusion", "random")),
]


@pytest.mark.parametrize("check,choices", QUESTIONS, ids=[q[0].__name__ for q in QUESTIONS])
def test_trying_every_option_does_not_pass_a_question(check, choices):
    """An option alone, or with any guess from a grid of numbers, never passes."""
    for choice in choices:
        assert run(check, lambda c=choice: c).startswith("✗ ")
        for guess in (0.0, 0.25, 0.5, 0.75, 1.0):
            assert run(check, lambda c=choice, g=guess: (c, g)).startswith("✗ "), (choice, guess)


@pytest.mark.parametrize(
    "check,fns",
    [
        (checks.check_cam_per_image, (lambda f, w, c: per_image(f, w, c) * 1.01,)),
        (checks.check_sigmoid_head_cams, (lambda f, w, b: sig_cams(f, w, b) + 0.123,)),
        (checks.check_sigmoid_head_probabilities, (lambda f, w, b: sig_probs(f, w, b) ** 2,)),
        (checks.check_logit_parts, (lambda cam, b, m: parts(cam, b, m) * 1.01,)),
        (checks.check_evidence_in_box, (lambda c, b: in_box(c, b) * 0.9,)),
        (checks.check_gradcampp_weights, (lambda a, g: pp_weights(a, g) * 1.1,)),
        (checks.check_sigmoid_question, (lambda: ("raises", 0.7),)),
        (checks.check_dark_region_question, (lambda: 3.3,)),
    ],
)
def test_failure_messages_never_reveal_expected_values(check, fns):
    out = run(check, *fns)
    assert out.startswith("✗ ")
    case = re.search(r"for (.*?), (?:\d+ of|the value|your)", out)
    text = out.replace(case.group(1), "") if case else out
    decimals = set(re.findall(r"\d+\.\d+", text)) - {"0.005", "0.02"}  # tolerances
    assert not decimals, out


FORMULA_PIECES = ("g^2 /", "2 g^2", "g^3", "tf.gather(", "reduce_sum(", "add_marker(", "median(")


@pytest.mark.parametrize(
    "check,fns",
    [
        (checks.check_gradcampp_weights, (lambda a, g: pp_weights(a, g) * 1.1,)),
        (checks.check_activations_and_gradients, (lambda c, x, k: _grads(c, x, k * 0),)),
        (checks.check_marker_share, (lambda m, x: 0.5,)),
        (checks.check_counterfactual_accuracy, (lambda m, x, y: 0.5,)),
    ],
)
def test_generic_hints_do_not_give_the_formula_or_the_code(check, fns, task_answers):
    out = run(check, *fns)
    assert out.startswith("✗ ") and not any(p in out for p in FORMULA_PIECES), out
    assert not revealed(out, task_answers), out


def test_a_function_that_is_not_callable_is_reported():
    out = run(checks.check_cam_per_image, "cam_per_image")
    assert out.startswith("✗ cam_per_image:") and "expected a function" in out


# --------------------------------------------------------------------------- record and replay


def recorded(monkeypatch, check, *fns):
    """Run a check as in a graded notebook: its line, and its records as the grader reads them
    (JSON, as they travel in the notebook)."""
    records = []
    monkeypatch.setenv(record.ENV, "1")
    monkeypatch.setattr(
        record.Recorder,
        "emit",
        lambda self: records.append({"title": self.title, "calls": self.calls}),
    )
    line = run(check, *fns)
    monkeypatch.delenv(record.ENV)
    return line, json.loads(json.dumps(records))


def replayed(check, records, fns):
    stand_ins = [
        record.Replayed(getattr(fn, "__name__", "f"), harness.function_source(fn)) for fn in fns
    ]
    with record.replaying(records):
        return run(check, *stand_ins)


REPLAYED = [(c, f) for c, f, _ in CORRECT] + [(w[1], w[2]) for w in WRONG[::3]]


@pytest.mark.parametrize(
    "check,fns", REPLAYED, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(REPLAYED)]
)
def test_a_replayed_check_gives_the_notebooks_line(monkeypatch, check, fns):
    line, records = recorded(monkeypatch, check, *fns)
    assert records and records[0]["title"]
    assert replayed(check, records, fns) == line


def test_a_replay_ignores_what_the_notebook_did_to_numpy(monkeypatch):
    """The notebook's comparison is patched to pass; the replay still fails the wrong values."""
    wrong = (
        lambda f, w, b: np.stack([1 - sig_cams(f, w, b)[..., 1], sig_cams(f, w, b)[..., 1]], -1),
    )
    honest, _ = recorded(monkeypatch, checks.check_sigmoid_head_cams, *wrong)
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    patched, records = recorded(monkeypatch, checks.check_sigmoid_head_cams, *wrong)
    monkeypatch.undo()
    assert patched.startswith("✓") and honest.startswith("✗")
    assert replayed(checks.check_sigmoid_head_cams, records, wrong) == honest


def test_a_replay_without_records_or_with_forged_ones_fails():
    fns = (sig_cams,)
    out = replayed(checks.check_sigmoid_head_cams, [], fns)
    assert out.startswith("✗ sigmoid_head_cams: no result of this check was recorded"), out
    empty = [{"title": "sigmoid_head_cams", "calls": []}]
    out = replayed(checks.check_sigmoid_head_cams, empty, fns)
    assert "no result of sigmoid_head_cams was recorded" in out, out
    forged = [
        {
            "title": "sigmoid_head_cams",
            "calls": [
                {
                    "label": "sigmoid_head_cams",
                    "case": "random features (2, 7, 7, 16), kernel (16, 1), bias (1,)",
                    "outcome": {"kind": "value", "value": {"opaque": "Check"}, "mutated": False},
                }
            ],
        }
    ]
    assert "returned Check, which is not an array" in replayed(
        checks.check_sigmoid_head_cams, forged, fns
    )
    forged[0]["calls"][0]["outcome"]["value"] = {"array": "AAAA", "shape": [10**9]}
    with pytest.raises(record.RecordError, match="impossible shape|larger than its shape"):
        replayed(checks.check_sigmoid_head_cams, forged, fns)


@pytest.mark.parametrize(
    "value",
    [None, "raises", 3, 2.5, True, np.float32(1.5), np.arange(6).reshape(2, 3), (1, [2.0, "x"])],
)
def test_recorded_values_come_back_as_they_were(value):
    back = record.decode_value(json.loads(json.dumps(record.encode_value(value))))
    if isinstance(value, np.ndarray | np.generic):
        np.testing.assert_array_equal(back, value)
        assert back.dtype == np.float64
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize(
    "data",
    [
        {"array": "not base64!", "shape": [1]},
        {"array": "AAAAAAAAAAA=", "shape": [2]},
        {"array": "", "shape": [-1]},
        {"seq": [{"none": True}] * 100, "type": "list"},
        {"number": "AAAAAAAA8D8=", "type": "complex"},
        {"str": 5},
        {"what": 1},
        [],
    ],
)
def test_malformed_records_are_refused(data):
    with pytest.raises(record.RecordError):
        record.decode_value(data)
