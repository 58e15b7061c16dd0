"""Properties that hold for every input, checked with hypothesis on random shapes and values.

Each test states its property precisely in its docstring. The examples are
derandomized (the same ones on every run, so CI is deterministic) and few, to
keep the file fast.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cam_edu.cam import class_activation_map_loop, class_activation_maps, compute_cam
from cam_edu.gap import global_average_pool, global_average_pool_loop
from cam_edu.localize import bbox_from_cam, iou
from cam_edu.viz import upsample

FAST = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

values = st.floats(-100, 100, width=32, allow_nan=False, allow_infinity=False)


@st.composite
def features_and_weights(draw, max_side=6, max_k=12, max_c=5):
    """Feature maps ``(N, H, W, K)``, a kernel ``(K, C)`` and a bias ``(C,)``."""
    n = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    k, c = draw(st.integers(1, max_k)), draw(st.integers(1, max_c))
    # (N, 1 or 3, S, S) with S >= 4 is refused as channels-first, by design (as_features)
    assume(not (w == k >= 4 and h in (1, 3)))
    f = draw(arrays(np.float32, (n, h, w, k), elements=values))
    kernel = draw(arrays(np.float32, (k, c), elements=values))
    bias = draw(arrays(np.float32, (c,), elements=values))
    return f, kernel, bias


def _scale(f, kernel):
    """Size of the terms summed in f @ kernel: float32 rounding is relative to it."""
    return 1.0 + float((np.abs(f).max() * np.abs(kernel).sum(axis=0)).max())


# --- GAP and CAM -----------------------------------------------------------------------------


@FAST
@given(features_and_weights())
def test_cam_identity(fwb):
    """mean over (H, W) of class_activation_maps(f, w) + b == global_average_pool(f) @ w + b.

    Exact in real arithmetic (the mean is linear); float32 rounding only.
    """
    f, kernel, bias = fwb
    lhs = class_activation_maps(f, kernel).astype(np.float64).mean(axis=(1, 2)) + bias
    rhs = global_average_pool(f).astype(np.float64) @ kernel + bias
    reference = f.astype(np.float64).mean(axis=(1, 2)) @ kernel.astype(np.float64) + bias
    tol = 1e-5 * _scale(f, kernel)
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=tol)
    np.testing.assert_allclose(rhs, reference, rtol=0, atol=tol)


@FAST
@given(features_and_weights(max_c=1))
def test_gap_loop_equals_vectorized(fwb):
    """global_average_pool_loop(f) == global_average_pool(f) == f.mean(axis=(1, 2))."""
    f = fwb[0]
    loop, vectorized = global_average_pool_loop(f), global_average_pool(f)
    assert loop.shape == vectorized.shape == (f.shape[0], f.shape[3])
    tol = 1e-6 * (1.0 + float(np.abs(f).max()))
    np.testing.assert_allclose(loop, vectorized, rtol=0, atol=tol)
    np.testing.assert_allclose(vectorized, f.astype(np.float64).mean(axis=(1, 2)), atol=tol)


@FAST
@given(features_and_weights(), st.data())
def test_cam_loop_equals_vectorized(fwb, data):
    """class_activation_map_loop(f, w, c)[n] == class_activation_maps(f, w)[n, ..., c[n]]
    for one class per image."""
    f, kernel, _ = fwb
    classes = data.draw(
        st.lists(st.integers(0, kernel.shape[1] - 1), min_size=len(f), max_size=len(f))
    )
    loop = class_activation_map_loop(f, kernel, classes)
    maps = class_activation_maps(f, kernel)
    chosen = maps[np.arange(len(f)), :, :, classes]
    tol = 1e-5 * _scale(f, kernel)
    np.testing.assert_allclose(loop, chosen, rtol=0, atol=tol)


@settings(FAST, max_examples=15)
@given(images=arrays(np.float32, (2, 28, 28, 1), elements=st.floats(0, 1, width=32)))
def test_compute_cam_mean_plus_bias_is_the_models_logit(gap_model, images):
    """For the course's GAP CNN: cams.mean(axis=(1, 2)) + b[c] == logits[:, c], and the
    softmax of those CAM means plus biases is the model's own output (its probabilities)."""
    probs = np.asarray(gap_model(images, training=False), np.float64)
    bias = np.asarray(gap_model.get_layer("predictions").bias)
    from_cams = []
    for c in range(10):
        cams, logits = compute_cam(gap_model, images, class_index=c)
        np.testing.assert_allclose(cams.mean(axis=(1, 2)) + bias[c], logits[:, c], atol=1e-4)
        from_cams.append(cams.astype(np.float64).mean(axis=(1, 2)) + bias[c])
    z = np.stack(from_cams, axis=1)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), probs, atol=1e-5)
    np.testing.assert_allclose(z, logits, atol=1e-4)


# --- bilinear upsampling ---------------------------------------------------------------------


def bilinear_reference(m: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bilinear resize with half-pixel centers, written independently of TensorFlow.

    Output pixel ``p`` samples the input at ``u = (p + 0.5) * h / out_h - 0.5``,
    clamped to ``[0, h - 1]``, and mixes rows ``floor(u)`` and ``floor(u) + 1``
    with weights ``1 - frac(u)`` and ``frac(u)``; the same along columns.
    """

    def weights(n_in, n_out):
        u = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(u).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        a = np.zeros((n_out, n_in))
        a[np.arange(n_out), lo] += 1 - (u - lo)
        a[np.arange(n_out), hi] += u - lo
        return a

    h, w = m.shape
    return weights(h, out_h) @ m.astype(np.float64) @ weights(w, out_w).T


def center_weight(s: int) -> float:
    """Weight of a cell in the output pixel nearest its center, along one axis (scale ``s``).

    For odd ``s`` a pixel samples the center exactly (weight 1); for even ``s`` the
    nearest pixels sample ``1 / (2 s)`` away from it (weight ``1 - 1 / (2 s)``).
    """
    return 1.0 if s % 2 else 1.0 - 1.0 / (2 * s)


@st.composite
def maps_and_scales(draw, max_side=7, max_scale=5):
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    m = draw(arrays(np.float32, (h, w), elements=st.floats(-1, 1, width=32)))
    return m, draw(st.integers(1, max_scale)), draw(st.integers(1, max_scale))


@FAST
@given(maps_and_scales())
def test_bilinear_upsample_matches_the_half_pixel_formula(mss):
    """upsample(m, (s_y h, s_x w)) equals the half-pixel-center formula above, so every
    output value is a convex combination of at most 4 neighbouring cells and
    min(m) <= U <= max(m). For odd s the pixel at a cell's center reproduces that cell:
    U[s_y j + (s_y - 1) / 2, s_x i + (s_x - 1) / 2] == m[j, i], hence max(U) == max(m)."""
    m, sy, sx = mss
    h, w = m.shape
    up = upsample(m, (sy * h, sx * w))
    np.testing.assert_allclose(up, bilinear_reference(m, sy * h, sx * w), rtol=0, atol=1e-5)
    assert m.min() - 1e-6 <= up.min() and up.max() <= m.max() + 1e-6
    if sy % 2 and sx % 2:
        centers = up[(sy - 1) // 2 :: sy, (sx - 1) // 2 :: sx]
        np.testing.assert_allclose(centers, m, rtol=0, atol=1e-5)


@FAST
@given(maps_and_scales(), st.data())
def test_upsample_keeps_a_dominant_argmax_within_one_cell(mss, data):
    """The argmax of the upsampled map lies in the block of the input argmax or a neighbour.

    Precisely: let U = upsample(m, (s_y h, s_x w)) (bilinear, half-pixel centers, integer
    scales) and let m have its maximum M at cell (j_y, j_x). Output pixel (p, q) lies in
    the block of cell (p // s_y, q // s_x), and it samples the input less than half a
    cell from that cell's center, so it mixes only cells within one cell of it. Let
    w = center_weight(s_y) * center_weight(s_x). If the peak dominates,

        w M + (1 - w) min(m) > m_2    (m_2: the largest value of any other cell),

    then the pixel nearest the peak's center beats every pixel that does not mix the
    peak, so every argmax (p, q) of U satisfies |p // s_y - j_y| <= 1 and
    |q // s_x - j_x| <= 1. (Without dominance it fails: see the next test.)
    """
    m, sy, sx = mss
    assume(m.size > 1)
    j = data.draw(st.tuples(st.integers(0, m.shape[0] - 1), st.integers(0, m.shape[1] - 1)))
    m = m.astype(np.float64)
    second = np.delete(m.ravel(), np.ravel_multi_index(j, m.shape)).max()
    m[j] = second + data.draw(st.floats(0.05, 3.0))
    weight = center_weight(sy) * center_weight(sx)
    assume(weight * m[j] + (1 - weight) * m.min() > second + 1e-3)
    up = upsample(m.astype(np.float32), (sy * m.shape[0], sx * m.shape[1]))
    for p, q in zip(*np.nonzero(up >= up.max() - 1e-6), strict=True):
        assert abs(p // sy - j[0]) <= 1 and abs(q // sx - j[1]) <= 1, (p, q, j)


def test_without_dominance_the_upsampled_argmax_can_move_far():
    """A lone peak 1.0 loses to a plateau of 0.99 three cells away at even scales (both
    nearest pixels sample 1/4 cell off the peak), while odd scales keep it (exact center)."""
    m = np.array([[0.0, 1.0, 0.0, 0.0, 0.99, 0.99, 0.0]], np.float32)
    even = upsample(m, (2, 14))
    assert abs(int(np.argmax(even[0])) // 2 - 1) > 1
    odd = upsample(m, (3, 21))
    assert int(np.argmax(odd[1])) // 3 == 1


# --- boxes -----------------------------------------------------------------------------------


@st.composite
def unimodal(draw, n):
    """A 1-D profile rising to 1 at a random index and falling after it, values in (0, 1]."""
    peak = draw(st.integers(0, n - 1))
    vals = draw(st.lists(st.floats(0.01, 1.0), min_size=n, max_size=n))
    return np.array(sorted(vals[:peak]) + [1.0] + sorted(vals[peak + 1 :], reverse=True))


@FAST
@given(st.integers(1, 12), st.integers(1, 12), st.floats(0.05, 1.0), st.data())
def test_box_of_a_one_peak_map_is_its_superlevel_set_and_contains_the_argmax(h, w, t, data):
    """For a separable one-peak map m = f(y) g(x) (f, g unimodal, positive) the set
    {m >= t max(m)} is connected, so bbox_from_cam returns exactly its bounding box,
    and that box contains the argmax."""
    m = np.outer(data.draw(unimodal(h)), data.draw(unimodal(w))).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant map (e.g. 1 x 1) warns; its box is all
        y0, x0, y1, x1 = bbox_from_cam(m, t)
    ys, xs = np.nonzero(m >= t * float(m.max()))
    assert (y0, x0, y1, x1) == (ys.min(), xs.min(), ys.max() + 1, xs.max() + 1)
    py, px = np.unravel_index(np.argmax(m), m.shape)
    assert y0 <= py < y1 and x0 <= px < x1


@FAST
@given(arrays(np.float32, st.tuples(st.integers(1, 10), st.integers(1, 10)),
              elements=st.floats(-1, 1, width=32)), st.floats(0.05, 1.0))  # fmt: skip
def test_box_is_tight_around_pixels_above_threshold(m, t):
    """For any map with a positive maximum, the box lies inside the map, and each of its
    four edges (first/last row, first/last column) holds a pixel >= t * max."""
    assume(m.max() > 0 and m.min() < m.max())
    y0, x0, y1, x1 = bbox_from_cam(m, t)
    assert 0 <= y0 < y1 <= m.shape[0] and 0 <= x0 < x1 <= m.shape[1]
    above = m[y0:y1, x0:x1] >= t * float(m.max())
    assert above[0].any() and above[-1].any() and above[:, 0].any() and above[:, -1].any()


def test_box_of_several_peaks_follows_the_paper_not_the_argmax():
    """The CAM paper boxes the *largest* component above t * max; a small, higher peak
    elsewhere is not in the box. The argmax property needs one peak (test above)."""
    m = np.zeros((10, 10), np.float32)
    m[1, 1] = 1.0
    m[5:9, 4:9] = 0.5
    assert bbox_from_cam(m, 0.2) == (5, 4, 9, 9)


# --- IoU -------------------------------------------------------------------------------------

coords = st.integers(-20, 20)
sides = st.integers(1, 15)
boxes = st.builds(lambda y, x, hh, ww: (y, x, y + hh, x + ww), coords, coords, sides, sides)
float_boxes = st.builds(
    lambda y, x, hh, ww: (y, x, y + hh, x + ww),
    st.floats(-50, 50),
    st.floats(-50, 50),
    st.floats(0.01, 30),
    st.floats(0.01, 30),
).filter(lambda b: b[0] < b[2] and b[1] < b[3])


def _raster(box, lo=-20, hi=36):
    grid = np.zeros((hi - lo, hi - lo), bool)
    grid[box[0] - lo : box[2] - lo, box[1] - lo : box[3] - lo] = True
    return grid


@FAST
@given(boxes, boxes)
def test_iou_is_symmetric_bounded_and_counts_pixels(a, b):
    """iou(a, b) == iou(b, a) exactly, 0 <= iou <= 1, iou(a, a) == 1 exactly, and for
    integer boxes it equals |A and B| / |A or B| counted pixel by pixel."""
    assert iou(a, b) == iou(b, a)
    assert 0.0 <= iou(a, b) <= 1.0
    assert iou(a, a) == 1.0
    ra, rb = _raster(a), _raster(b)
    assert iou(a, b) == pytest.approx((ra & rb).sum() / (ra | rb).sum(), abs=1e-12)


@FAST
@given(float_boxes, float_boxes)
def test_iou_of_float_boxes_is_symmetric_and_bounded(a, b):
    """The same for float coordinates: symmetric exactly, in [0, 1], iou(a, a) == 1."""
    assert iou(a, b) == iou(b, a)
    assert 0.0 <= iou(a, b) <= 1.0
    assert iou(a, a) == 1.0
