"""Self-checks: correct code passes; wrong code gets a specific hint, never the answer."""

import contextlib
import io
import re

import matplotlib as mpl
import numpy as np
import pytest
import tensorflow as tf
from scipy import integrate, ndimage

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


# correct implementations, written independently of cam_edu (numpy, scipy, matplotlib only):
# a check that compares cam_edu with itself would prove nothing


def gap_loop(f):
    return np.stack([f[..., k].mean(axis=(1, 2)) for k in range(f.shape[-1])], axis=1)


def gap_vec(f):
    return np.mean(f, axis=(1, 2))


def cams_vec(f, w):
    return np.einsum("nhwk,kc->nhwc", f, w)


def via_gap(f, w, b):
    return f.mean(axis=(1, 2)) @ w + b


def via_cam(f, w, b):
    return cams_vec(f, w).mean(axis=(1, 2)) + b


def up(m, s):
    return np.kron(m, np.ones((s, s)))


def norm(m):
    span = np.ptp(m)
    return np.zeros_like(m) if span == 0 else (m - m.min()) / span


def over(image, m, alpha=0.5, cmap="jet"):
    sy, sx = image.shape[0] // m.shape[0], image.shape[1] // m.shape[1]
    big = np.repeat(np.repeat(m, sy, axis=0), sx, axis=1)
    big = (big - big.min()) / (big.max() - big.min())
    colors = mpl.colormaps[cmap](big)[..., :3]
    return (1 - alpha) * np.repeat(image[..., None], 3, axis=-1) + alpha * colors


def box(m, threshold=0.2):
    if m.max() <= 0:
        raise ValueError("no positive value: nothing to box")
    labels, count = ndimage.label(m >= threshold * m.max(), structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())[1:]
    rows, cols = np.nonzero(labels == 1 + int(np.argmax(sizes)))
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def box_iou(a, b):
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def peak(cams):
    return (cams.mean(axis=1).argmax(axis=1) + 0.5) / cams.shape[2]


def distance(p, t):
    return np.abs(np.asarray(p) - np.asarray(t))


def chance(p):  # E|u - p| for u uniform on [0, 1], by numerical integration
    return np.array([integrate.quad(lambda u, q=q: abs(u - q), 0, 1, points=[q])[0] for q in p])


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


CORRECT = [
    (checks.check_gap_loop, (gap_loop,), "global_average_pool_loop: all 6 cases"),
    (checks.check_gap_vectorized, (gap_vec,), "global_average_pool: all 7 cases"),
    (checks.check_cam_vectorized, (cams_vec,), "class_activation_maps: all 6 cases"),
    (checks.check_cam_identity, (via_gap, via_cam), "the CAM identity: all 8 cases"),
    (checks.check_upsample_nearest, (up,), "upsample_nearest: all 4 cases"),
    (checks.check_normalize, (norm,), "normalize: all 4 cases"),
    (checks.check_overlay, (over,), "overlay: all 4 cases"),
    (checks.check_box_from_cam, (box,), "box_from_cam: all 8 cases"),
    (checks.check_iou, (box_iou,), "iou: all 6 cases"),
    (checks.check_gradcam_weights, (weights_fn,), "gradcam_weights: all 6 cases"),
    (checks.check_gradcam_map, (map_fn,), "gradcam_map: all 4 cases"),
    (checks.check_activations_and_gradients, (grads_fn,), "activations_and_gradients: all 3"),
    (checks.check_grad_cam, (weights_fn, map_fn, grads_fn), "Grad-CAM, end to end: all 2"),
    (checks.check_peak_position, (peak,), "peak_position: all 5 cases"),
    (checks.check_localization_error, (distance,), "localization_error: all 3"),
    (checks.check_expected_chance_error, (chance,), "expected_chance_error: all 4"),
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


def _tile(m, s):
    return np.tile(m, (s, s))


def _box_inclusive(m, threshold=0.2):
    y0, x0, y1, x1 = box(m, threshold)
    return y0, x0, y1 - 1, x1 - 1


def _box_xy(m, threshold=0.2):
    y0, x0, y1, x1 = box(m, threshold)
    return x0, y0, x1, y1


def _box_4_connected(m, threshold=0.2):
    labels, _ = ndimage.label(m >= threshold * m.max())
    sizes = np.bincount(labels.ravel())[1:]
    ys, xs = np.nonzero(labels == np.argmax(sizes) + 1)
    return ys.min(), xs.min(), ys.max() + 1, xs.max() + 1


def _box_all_pixels(m, threshold=0.2):
    ys, xs = np.nonzero(m >= threshold * m.max())
    return ys.min(), xs.min(), ys.max() + 1, xs.max() + 1


def _box_no_error(m, threshold=0.2):
    if m.max() <= 0:
        return (0, 0, 1, 1)
    return box(m, threshold)


def _normalize_without_constant_case(m):
    with np.errstate(invalid="ignore"):
        return (m - m.min()) / np.ptp(m)


def _iou_unclipped(a, b):
    h = min(a[2], b[2]) - max(a[0], b[0])
    w = min(a[3], b[3]) - max(a[1], b[1])
    inter = h * w
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _grads_batch_mean(cut, images, classes):
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        a, logits = cut(x, training=False)
        target = tf.reduce_mean(tf.gather(logits, classes, axis=1, batch_dims=1))
    return a.numpy(), tape.gradient(target, a).numpy()


def _gap_in_place(f):
    f -= 0.0
    f[...] = f.mean(axis=(1, 2), keepdims=True)
    return f[:, 0, 0, :]


WRONG = [
    ("gap sum", checks.check_gap_loop, (lambda f: f.sum(axis=(1, 2)),), "divide by H * W"),
    ("gap max", checks.check_gap_loop, (lambda f: f.max(axis=(1, 2)),), "MAX pooling"),
    ("gap shape", checks.check_gap_loop, (lambda f: f.mean(axis=(1, 2)).T,), "shape (N, K)"),
    ("gap none", checks.check_gap_loop, (lambda f: None,), "`return`"),
    ("gap raises", checks.check_gap_loop, (lambda f: 1 / 0,), "raised ZeroDivisionError"),
    ("gap in place", checks.check_gap_loop, (_gap_in_place,), "in place"),
    ("gap loop", checks.check_gap_vectorized, (gap_loop,), "Python loop"),
    (
        "cam relu",
        checks.check_cam_vectorized,
        (lambda f, w: np.maximum(cams_vec(f, w), 0),),
        "ReLU",
    ),
    ("cam mean", checks.check_cam_vectorized, (lambda f, w: cams_vec(f, w) / w.shape[0],), "SUM"),
    ("no bias", checks.check_cam_identity, (lambda f, w, b: via_gap(f, w, b) - b, via_cam), "bias"),
    (
        "softmax",
        checks.check_cam_identity,
        (via_gap, lambda f, w, b: tf.nn.softmax(via_cam(f, w, b)).numpy()),
        "no softmax",
    ),
    ("tile", checks.check_upsample_nearest, (_tile,), "np.tile"),
    ("norm max", checks.check_normalize, (lambda m: m / m.max(),), "subtract the minimum"),
    (
        "norm nan",
        checks.check_normalize,
        (_normalize_without_constant_case,),
        "division by zero",
    ),
    (
        "alpha swap",
        checks.check_overlay,
        (lambda i, m, alpha=0.5, cmap="jet": over(i, m, 1 - alpha, cmap),),
        "weight of the HEATMAP",
    ),
    ("box inclusive", checks.check_box_from_cam, (_box_inclusive,), "exclusive"),
    ("box xy", checks.check_box_from_cam, (_box_xy,), "rows first"),
    ("box 4-conn", checks.check_box_from_cam, (_box_4_connected,), "8-connectivity"),
    ("box all", checks.check_box_from_cam, (_box_all_pixels,), "LARGEST"),
    ("box no error", checks.check_box_from_cam, (_box_no_error,), "instead of raising ValueError"),
    ("iou unclipped", checks.check_iou, (_iou_unclipped,), "clip the intersection"),
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
        "peak left edge",
        checks.check_peak_position,
        (lambda c: c.mean(axis=1).argmax(axis=1) / c.shape[2],),
        "centre",
    ),
    (
        "peak pixel",
        checks.check_peak_position,
        (lambda c: (c.reshape(len(c), -1).argmax(1) % c.shape[2] + 0.5) / c.shape[2],),
        "average over the rows",
    ),
    ("signed", checks.check_localization_error, (lambda p, t: p - t,), "absolute value"),
    (
        "chance const",
        checks.check_expected_chance_error,
        (lambda p: np.full_like(p, 0.5),),
        "depends",
    ),
]


@pytest.mark.parametrize("what,check,fns,hint", WRONG, ids=[w[0] for w in WRONG])
def test_known_mistakes_get_a_specific_hint(what, check, fns, hint):
    out = run(check, *fns)
    assert out.startswith("✗ ") and hint in out, out


@pytest.mark.parametrize(
    "check,fns",
    [
        (checks.check_gap_loop, (lambda f: np.zeros((f.shape[0], f.shape[-1])) + 0.123,)),
        (checks.check_cam_vectorized, (lambda f, w: cams_vec(f, w) * 1.01,)),
        (checks.check_cam_identity, (lambda f, w, b: via_gap(f, w, b) + 0.5, via_cam)),
        (checks.check_normalize, (lambda m: np.sqrt(norm(m)),)),
        (checks.check_peak_position, (lambda c: np.full(len(c), 0.3),)),
        (checks.check_expected_chance_error, (lambda p: p * (1 - p),)),
    ],
)
def test_failure_messages_never_reveal_expected_values(check, fns):
    out = run(check, *fns)
    assert out.startswith("✗ ")
    case = re.search(r"for (.*?), (?:\d+ of|the value|your)", out).group(1)
    decimals_outside_case = set(re.findall(r"\d+\.\d+", out.replace(case, "")))
    assert not decimals_outside_case, out


def test_a_function_that_is_not_callable_is_reported():
    out = run(checks.check_iou, "iou")
    assert out.startswith("✗ iou:") and "expected a function" in out
