"""Self-checks for the exercise notebooks: your function against cam_edu's reference.

Each ``check_*`` function takes the function(s) you wrote, runs them on several
small cases (random inputs, odd shapes, edge cases) and prints one line:

- ``✓ <what>: all <n> cases agree with cam_edu.`` when everything matches (this
  fixed line is the stored output that ``pytest --nbval`` compares against), or
- ``✗ <what>: <which case failed and how>. Hint: <what to look at>.``

A failure message names the case, the shapes, how many values are wrong and where
the first one is, never the expected values. The checks are fast (no training;
seeded arrays and at most a tiny untrained model) and print nothing else, so their
output is deterministic.

>>> import numpy as np
>>> check_gap_loop(lambda f: np.asarray(f).mean(axis=(1, 2)))
✓ global_average_pool_loop: all 6 cases agree with cam_edu.
>>> check_gap_loop(lambda f: np.asarray(f).sum(axis=(1, 2)))  # doctest: +ELLIPSIS
✗ global_average_pool_loop: ...sum over the positions... divide by H * W...
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import warnings
from collections.abc import Callable

import numpy as np

from cam_edu.cam import softmax

PASS = "✓"
FAIL = "✗"


class CheckFailed(Exception):
    """One case of a self-check failed; the message is what the student reads."""


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _call(fn, label: str, case: str, *args, **kwargs):
    """Call the student's function; turn its exceptions into a readable failure."""
    if not callable(fn):
        raise CheckFailed(
            f"expected a function, got {type(fn).__name__}. Pass the function itself, "
            f"without calling it: check(...)(my_function), not my_function(...)"
        )
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            f"{label} is not written yet (it raises NotImplementedError). Replace the "
            "`raise NotImplementedError` line in its cell with your code, run that cell, "
            "then run this check again"
        ) from None
    except Exception as exc:  # the student's bug, reported with its own message
        raise CheckFailed(
            f"for {case}, {label} raised {type(exc).__name__}: {str(exc)[:200]}"
        ) from None
    for before, after in zip(copies, args, strict=True):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            raise CheckFailed(
                f"for {case}, {label} changed its input array in place. Work on a copy "
                "(or build a new array) so that the caller's data stays as it was"
            )
    return out


def _as_array(out, label: str, case: str, expected_shape) -> np.ndarray:
    if hasattr(out, "numpy") and not isinstance(out, np.ndarray):
        out = out.numpy()
    if out is None:
        raise CheckFailed(
            f"for {case}, {label} returned None; expected an array of shape "
            f"{tuple(expected_shape)}. Did you forget the `return` statement?"
        )
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"for {case}, {label} returned {type(out).__name__}, which is not an array of "
            f"numbers; expected shape {tuple(expected_shape)}"
        ) from None
    return arr


def _compare(
    got,
    expected: np.ndarray,
    label: str,
    case: str,
    *,
    shape_hint: str,
    value_hint: str,
    mistakes: tuple = (),
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> None:
    """Fail with a specific message if ``got`` differs from ``expected``.

    ``mistakes`` are ``(wrong_result, hint)`` pairs: if ``got`` equals a known wrong
    result, that hint replaces the generic ``value_hint``.
    """
    expected = np.asarray(expected, dtype=np.float64)
    arr = _as_array(got, label, case, expected.shape)
    if arr.shape != expected.shape:
        raise CheckFailed(
            f"for {case}, your result has shape {arr.shape}; expected {expected.shape}. "
            f"Hint: {shape_hint}"
        )
    if np.isnan(arr).any() and not np.isnan(expected).any():
        raise CheckFailed(
            f"for {case}, your result contains NaN. Hint: look for a division by zero "
            f"(0 / 0 gives NaN). {value_hint}"
        )
    if not np.allclose(arr, expected, rtol=rtol, atol=atol):
        for wrong, hint in mistakes:
            wrong = np.asarray(wrong, dtype=np.float64)
            if wrong.shape == arr.shape and np.allclose(arr, wrong, rtol=rtol, atol=atol):
                raise CheckFailed(f"for {case}, the values are wrong. Hint: {hint}")
        wrong = ~np.isclose(arr, expected, rtol=rtol, atol=atol)
        first = tuple(int(i) for i in np.argwhere(wrong)[0]) if arr.ndim else ()
        where = f", the first at index {first}" if first else ""
        k = int(wrong.sum())
        count = f"{k} of {wrong.size} values {'is' if k == 1 else 'are'} wrong"
        if wrong.size == 1:
            count = "the value is wrong"
        raise CheckFailed(f"for {case}, {count}{where}. Hint: {value_hint}")


def _run(title: str, cases: Callable[[], int]) -> bool:
    """Run ``cases`` (returns the number of cases); print the ✓ or ✗ line."""
    try:
        n = cases()
    except CheckFailed as failure:
        message = str(failure).rstrip(".")
        if message.startswith(title + " "):
            message = "it" + message[len(title) :]
        print(f"{FAIL} {title}: {message}.")
        return False
    print(f"{PASS} {title}: all {n} cases agree with cam_edu.")
    return True


def _uses_python_loops(fn) -> bool:
    """Whether the source of ``fn`` contains a for/while loop or a comprehension."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False  # source unavailable (e.g. a builtin): nothing to say
    loops = (ast.For, ast.While, ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)
    return any(isinstance(node, loops) for node in ast.walk(tree))


# --------------------------------------------------------------------------- GAP / CAM


def _feature_cases():
    rng = _rng(0)
    return [
        ("a single 1x1 feature map, shape (1, 1, 1, 1)", np.full((1, 1, 1, 1), 3.0, np.float32)),
        ("random features of shape (2, 7, 7, 4)", rng.random((2, 7, 7, 4), dtype=np.float32)),
        (
            "non-square maps of shape (3, 5, 9, 2) with negative values",
            rng.normal(size=(3, 5, 9, 2)).astype(np.float32),
        ),
        ("one channel, shape (1, 4, 4, 1)", rng.random((1, 4, 4, 1), dtype=np.float32)),
        ("one image, shape (1, 6, 3, 5)", rng.normal(size=(1, 6, 3, 5)).astype(np.float32)),
        (
            "ResNet50-sized features, shape (1, 7, 7, 2048)",
            rng.random((1, 7, 7, 2048), dtype=np.float32),
        ),
    ]


def _gap_cases(fn, label: str) -> int:
    from cam_edu.gap import global_average_pool

    cases = _feature_cases()
    for case, f in cases:
        n, h, w, k = f.shape
        got = _call(fn, label, case, f)
        f64 = f.astype(np.float64)
        _compare(
            got,
            global_average_pool(f),
            label,
            case,
            shape_hint="GAP gives one number per image and channel: shape (N, K). Average "
            "over the positions (axes 1 and 2, height and width), keep axes 0 and 3.",
            value_hint="each output F[n, k] is the mean of channel k of image n over all "
            "H * W positions.",
            mistakes=(
                (f64.sum(axis=(1, 2)), "this is the sum over the positions; divide by H * W."),
                (f64.max(axis=(1, 2)), "this is global MAX pooling; GAP takes the mean."),
                (
                    f64.sum(axis=(1, 2)) / (h * h),
                    "divide by H * W (height times width), not by H * H.",
                ),
                (f64.sum(axis=(1, 2)) / k, "divide by H * W (the positions), not by K."),
                (
                    np.abs(f64).mean(axis=(1, 2)),
                    "average the values themselves, not their absolute values.",
                ),
            ),
        )
    return len(cases)


def check_gap_loop(fn) -> None:
    """Check a ``global_average_pool_loop(features)``: ``(N, H, W, K)`` -> ``(N, K)``.

    Compared with :func:`cam_edu.gap.global_average_pool` on six feature shapes.

    >>> check_gap_loop(lambda f: f.mean(axis=(1, 2)))
    ✓ global_average_pool_loop: all 6 cases agree with cam_edu.
    """
    label = "global_average_pool_loop"
    _run(label, lambda: _gap_cases(fn, label))


def _no_loops(fn, label: str, what: str) -> None:
    if _uses_python_loops(fn):
        raise CheckFailed(
            f"{label} gives the right numbers but uses a Python loop or comprehension. "
            f"Hint: this exercise asks for {what}, with no for/while loop"
        )


def check_gap_vectorized(fn) -> None:
    """Check a loop-free ``global_average_pool(features)``: ``(N, H, W, K)`` -> ``(N, K)``.

    Same cases as :func:`check_gap_loop`, plus: the source must contain no loop.

    >>> check_gap_vectorized(lambda f: f.mean(axis=(1, 2)))
    ✓ global_average_pool: all 7 cases agree with cam_edu.
    """
    label = "global_average_pool"

    def cases():
        n = _gap_cases(fn, label)
        _no_loops(fn, label, "one reduction (tf.reduce_mean or np.mean over axes 1 and 2)")
        return n + 1

    _run(label, cases)


def _cam_cases(fn, label: str) -> int:
    from cam_edu.cam import class_activation_maps

    rng = _rng(1)
    cases = [
        ("features of ones (1, 2, 2, 3) and weights of ones (3, 2)", (1, 2, 2, 3), 2, "ones"),
        ("random features (2, 7, 7, 16) and weights (16, 10)", (2, 7, 7, 16), 10, "random"),
        ("one channel and one class: (1, 4, 4, 1) and (1, 1)", (1, 4, 4, 1), 1, "random"),
        ("non-square maps (3, 5, 9, 4) and weights (4, 7)", (3, 5, 9, 4), 7, "random"),
        ("negative weights, (2, 3, 3, 8) and (8, 3)", (2, 3, 3, 8), 3, "negative"),
    ]
    for case, shape, c, kind in cases:
        k = shape[-1]
        if kind == "ones":
            f, w = np.ones(shape, np.float32), np.ones((k, c), np.float32)
        else:
            f = rng.random(shape, dtype=np.float32)
            w = rng.normal(size=(k, c)).astype(np.float32)
            if kind == "negative":
                w = -np.abs(w)
        got = _call(fn, label, case, f, w)
        ref = class_activation_maps(f, w).astype(np.float64)
        lo = ref.min(axis=(1, 2), keepdims=True)
        span = ref.max(axis=(1, 2), keepdims=True) - lo
        _compare(
            got,
            ref,
            label,
            case,
            shape_hint="the CAMs of all classes have shape (N, H, W, C): flatten the "
            "positions to (N * H * W, K), multiply by the (K, C) kernel, reshape back.",
            value_hint="M[n, y, x, c] = sum over k of f[n, y, x, k] * w[k, c].",
            mistakes=(
                (np.maximum(ref, 0.0), "the CAM is the raw weighted sum; do not apply ReLU."),
                (
                    np.where(span > 0, (ref - lo) / np.where(span > 0, span, 1.0), 0.0),
                    "return the raw maps; normalizing is for display only.",
                ),
                (
                    ref / k,
                    "a weighted SUM over the channels, not a mean: do not divide by K.",
                ),
            ),
            rtol=1e-4,
            atol=1e-4,
        )
    return len(cases)


def check_cam_vectorized(fn) -> None:
    """Check a loop-free ``class_activation_maps(features, weights)``.

    ``features`` ``(N, H, W, K)`` and ``weights`` ``(K, C)`` -> maps ``(N, H, W, C)``,
    compared with :func:`cam_edu.cam.class_activation_maps`; the source must hold no loop.

    >>> check_cam_vectorized(lambda f, w: np.einsum("nhwk,kc->nhwc", f, w))
    ✓ class_activation_maps: all 6 cases agree with cam_edu.
    """
    label = "class_activation_maps"

    def cases():
        n = _cam_cases(fn, label)
        _no_loops(fn, label, "one matrix product (tf.matmul on reshaped features, or einsum)")
        return n + 1

    _run(label, cases)


# --------------------------------------------------------------------------- the CAM identity


def tiny_gap_cnn():
    """The checks' tiny untrained GAP CNN (seed 7) and 3 seeded random inputs.

    Returns:
        ``(model, images)``: inputs ``(3, 16, 16, 1)``, features ``(3, 4, 4, 8)`` at
        layer ``"features"``, 5 classes (softmax).

    >>> model, images = tiny_gap_cnn()  # doctest: +SKIP
    """
    from cam_edu.models import build_gap_cnn

    model = build_gap_cnn(
        num_classes=5, input_shape=(16, 16, 1), filters=(4, 6, 8), seed=7, name="tiny_gap"
    )
    images = _rng(7).random((3, 16, 16, 1), dtype=np.float32)
    return model, images


def check_cam_identity(logits_via_gap, logits_via_cam) -> None:
    """Check two ways to the same logits: ``(features, weights, bias)`` -> ``(N, C)``.

    ``logits_via_gap`` pools first (``mean_xy f_k``, then the Dense layer);
    ``logits_via_cam`` builds the maps ``M_c`` first and averages them. Both are
    compared with each other and with the pre-softmax logits of a tiny untrained
    GAP CNN (:func:`cam_edu.layers.cut_model`).

    >>> gap = lambda f, w, b: f.mean(axis=(1, 2)) @ w + b
    >>> cam = lambda f, w, b: np.einsum("nhwk,kc->nhwc", f, w).mean(axis=(1, 2)) + b
    >>> check_cam_identity(gap, cam)  # doctest: +SKIP
    ✓ the CAM identity: all 8 cases agree with cam_edu.
    """
    from cam_edu.cam import cam_head
    from cam_edu.layers import cut_model

    def cases():
        rng = _rng(2)
        arrays = [
            ("random (2, 7, 7, 16), weights (16, 10), bias (10,)", (2, 7, 7, 16), 10),
            ("non-square (3, 5, 9, 4), weights (4, 7), bias (7,)", (3, 5, 9, 4), 7),
            ("one class: (1, 4, 4, 3), weights (3, 1), bias (1,)", (1, 4, 4, 3), 1),
        ]
        model, images = tiny_gap_cnn()
        head = cam_head(model)
        features = head.feature_model(images, training=False).numpy()
        _, logits = cut_model(model, head.feature_layer)(images, training=False)
        checks = [(case, *_fwb(rng, s, c), None) for case, s, c in arrays]
        checks.append(
            (
                "a tiny untrained GAP CNN's features (3, 4, 4, 8), kernel (8, 5), bias (5,)",
                features,
                head.kernel,
                head.bias,
                logits.numpy(),
            )
        )
        n = 0
        for fn, label, kind in (
            (logits_via_gap, "logits_via_gap", "gap"),
            (logits_via_cam, "logits_via_cam", "cam"),
        ):
            for case, f, w, b, model_logits in checks:
                ref = f.astype(np.float64).mean(axis=(1, 2)) @ w + b
                got = _call(fn, label, case, f, w, b)
                maps = np.einsum("nhwk,kc->nhwc", f.astype(np.float64), w)
                _compare(
                    got,
                    ref if model_logits is None else model_logits,
                    label,
                    case if model_logits is None else case + " (the model's own logits)",
                    shape_hint="one logit per image and class: shape (N, C).",
                    value_hint=(
                        "pool first: F = mean over (x, y) of f, then F @ w + b."
                        if kind == "gap"
                        else "build the maps M = sum_k w[k, c] f_k first, then average M "
                        "over (x, y) and add b."
                    ),
                    mistakes=(
                        (ref - b, "add the Dense bias b_c."),
                        (maps.sum(axis=(1, 2)) + b, "average over the positions, not sum."),
                        (softmax(ref), "return the pre-softmax logits; no softmax here."),
                    ),
                    rtol=1e-4,
                    atol=1e-4,
                )
                n += 1
        return n

    _run("the CAM identity", cases)


def _fwb(rng, shape, c):
    f = rng.random(shape, dtype=np.float32)
    w = rng.normal(size=(shape[-1], c)).astype(np.float32)
    b = rng.normal(size=(c,)).astype(np.float32)
    return f, w, b


# --------------------------------------------------------------------------- upsampling, overlay


def check_upsample_nearest(fn) -> None:
    """Check ``upsample_nearest(heatmap, factor)``: ``(H, W)`` -> ``(H * factor, W * factor)``.

    Compared with :func:`cam_edu.viz.upsample` (``method="nearest"``).

    >>> check_upsample_nearest(lambda m, s: np.kron(m, np.ones((s, s))))
    ✓ upsample_nearest: all 4 cases agree with cam_edu.
    """
    from cam_edu.viz import upsample

    label = "upsample_nearest"

    def cases():
        rng = _rng(3)
        items = [
            ("a 2x2 map and factor 2", np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), 2),
            ("a random 7x7 map and factor 4 (7x7 -> 28x28)", rng.random((7, 7)), 4),
            ("a non-square 3x5 map and factor 3", rng.normal(size=(3, 5)), 3),
            ("factor 1 (nothing to do)", rng.random((4, 6)), 1),
        ]
        for case, m, s in items:
            m = np.asarray(m, np.float32)
            got = _call(fn, label, case, m, s)
            h, w = m.shape
            _compare(
                got,
                upsample(m, (h * s, w * s), method="nearest"),
                label,
                case,
                shape_hint="both axes grow by the factor: (H * factor, W * factor).",
                value_hint="every value becomes a factor x factor block of copies.",
                mistakes=(
                    (
                        np.tile(m, (s, s)),
                        "np.tile repeats the whole map; each VALUE must become a block "
                        "(np.repeat along axis 0, then along axis 1).",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    _run(label, cases)


def check_normalize(fn) -> None:
    """Check ``normalize(heatmap)``: min-max scaling of ``(H, W)`` to ``[0, 1]``.

    Compared with :func:`cam_edu.viz.normalize`, including a constant map, which must
    become all zeros (not NaN).

    >>> check_normalize(lambda m: (m - m.min()) / (np.ptp(m) or 1.0))
    ✓ normalize: all 4 cases agree with cam_edu.
    """
    from cam_edu.viz import normalize

    label = "normalize"

    def cases():
        rng = _rng(4)
        items = [
            ("a random 7x7 map with values in [0, 1)", rng.random((7, 7))),
            ("a map with negative values, shape (5, 8)", rng.normal(size=(5, 8)) * 3.0),
            ("a map in [10, 20], shape (4, 4)", 10.0 + 10.0 * rng.random((4, 4))),
            ("a constant map (all values 5)", np.full((3, 3), 5.0)),
        ]
        for case, m in items:
            m = np.asarray(m, np.float32)
            got = _call(fn, label, case, m)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = normalize(m)
            _compare(
                got,
                ref,
                label,
                case,
                shape_hint="normalizing keeps the shape (H, W).",
                value_hint="subtract the minimum, then divide by (max - min); a constant map "
                "has max == min and becomes all zeros.",
                mistakes=(
                    (m / m.max(), "subtract the minimum first, then divide by (max - min)."),
                    (
                        (m - m.min()) / m.max(),
                        "divide by the range (max - min), not by the maximum.",
                    ),
                ),
                atol=1e-5,
            )
        return len(items)

    _run(label, cases)


def check_overlay(fn) -> None:
    """Check ``overlay(image, heatmap, alpha=0.5, cmap="jet")`` -> RGB ``(H, W, 3)``.

    ``image`` is grayscale ``(H, W)`` in ``[0, 1]``; ``heatmap`` ``(h, w)`` divides it by
    an integer factor. Compared with :func:`cam_edu.viz.overlay` using nearest
    upsampling.

    >>> from cam_edu.viz import overlay
    >>> check_overlay(lambda i, m, alpha=0.5, cmap="jet": overlay(i, m, alpha, cmap, "nearest"))
    ✓ overlay: all 4 cases agree with cam_edu.
    """
    import matplotlib as mpl

    from cam_edu.viz import overlay, upsample

    label = "overlay"

    def cases():
        rng = _rng(5)
        items = [
            ("a 28x28 image, a 7x7 map, alpha 0.5, jet", (28, 28), (7, 7), 0.5, "jet"),
            ("alpha 0.2 and cmap 'viridis'", (28, 28), (7, 7), 0.2, "viridis"),
            ("alpha 1.0 (only the heatmap)", (12, 12), (3, 3), 1.0, "jet"),
            ("a non-square 16x24 image and a 4x6 map", (16, 24), (4, 6), 0.5, "jet"),
        ]
        for case, size, msize, alpha, cmap in items:
            image = rng.random(size).astype(np.float32)
            m = rng.normal(size=msize).astype(np.float32)
            got = _call(fn, label, case, image, m, alpha=alpha, cmap=cmap)
            ref = overlay(image, m, alpha=alpha, cmap=cmap, method="nearest")
            big = upsample(m, size, method="nearest")
            big = (big - big.min()) / (big.max() - big.min())
            colors = mpl.colormaps[cmap](big)[..., :3]
            rgb = np.repeat(image[..., None], 3, axis=-1)
            _compare(
                got,
                ref,
                label,
                case,
                shape_hint="return an RGB image of the image's size, (H, W, 3): drop the "
                "colormap's 4th (alpha) channel, and turn the gray image into 3 channels.",
                value_hint="upsample the map to the image size, min-max normalize it, color "
                "it with the colormap, then blend (1 - alpha) * image + alpha * colors.",
                mistakes=(
                    (
                        alpha * rgb + (1 - alpha) * colors,
                        "alpha is the weight of the HEATMAP: (1 - alpha) * image + alpha * colors.",
                    ),
                    (
                        (1 - alpha) * rgb
                        + alpha * mpl.colormaps[cmap](upsample(m, size, "nearest"))[..., :3],
                        "normalize the heatmap to [0, 1] before coloring it.",
                    ),
                ),
                atol=1e-5,
            )
        return len(items)

    _run(label, cases)


# --------------------------------------------------------------------------- boxes and IoU


def check_box_from_cam(fn) -> None:
    """Check ``box_from_cam(heatmap, threshold=0.2)`` -> ``(y0, x0, y1, x1)`` (ends exclusive).

    Compared with :func:`cam_edu.localize.bbox_from_cam`: the largest 8-connected
    region at or above ``threshold * max``; a map with no positive value must raise
    ``ValueError``.

    >>> from cam_edu.localize import bbox_from_cam
    >>> check_box_from_cam(bbox_from_cam)
    ✓ box_from_cam: all 8 cases agree with cam_edu.
    """
    from cam_edu.localize import bbox_from_cam

    label = "box_from_cam"

    def cases():
        one = np.zeros((10, 10))
        one[2:5, 3:8] = 1.0
        two = np.zeros((8, 8))
        two[1:3, 1:3] = 1.0
        two[5:8, 4:8] = 0.9
        diagonal = np.zeros((6, 6))
        diagonal[1, 1] = diagonal[2, 2] = diagonal[3, 3] = 1.0
        diagonal[0, 5] = 1.0
        ramp = np.add.outer(np.arange(9.0), np.arange(9.0))
        corner = np.zeros((7, 7))
        corner[4:, 5:] = 2.0
        peak = np.zeros((5, 5))
        peak[3, 1] = 1.0
        items = [
            ("one rectangle of ones in a 10x10 map", one, 0.2),
            ("two blobs of different sizes (box the largest)", two, 0.2),
            ("pixels touching only at their corners (8-connectivity)", diagonal, 0.2),
            ("a ramp with threshold 0.2", ramp, 0.2),
            ("the same ramp with threshold 0.5", ramp, 0.5),
            ("a blob touching the bottom-right border", corner, 0.2),
            ("a single-pixel peak", peak, 0.2),
        ]
        for case, m, t in items:
            m = m.astype(np.float32)
            got = _call(fn, label, case, m, threshold=t)
            ref = bbox_from_cam(m, threshold=t)
            _check_box(got, ref, m, t, label, case)
        case = "an all-zero map (nothing to box)"
        try:
            got = fn(np.zeros((5, 5), np.float32), threshold=0.2)
        except NotImplementedError:
            raise CheckFailed(f"{label} is not written yet") from None
        except ValueError:
            pass
        except Exception as exc:
            raise CheckFailed(
                f"for {case}, {label} raised {type(exc).__name__}; expected ValueError. Hint: "
                "check `heatmap.max() <= 0` first and raise ValueError with a message that "
                "says there is no positive evidence to box"
            ) from None
        else:
            raise CheckFailed(
                f"for {case}, {label} returned {got!r} instead of raising ValueError. Hint: "
                "a map whose maximum is not positive has no region above threshold * max; "
                "raise ValueError with a clear message"
            )
        return len(items) + 1

    _run(label, cases)


def _check_box(got, ref, m, t, label, case):
    try:
        box = tuple(int(v) for v in got)
        if len(box) != 4 or any(int(v) != v for v in got):
            raise ValueError
    except (TypeError, ValueError):
        raise CheckFailed(
            f"for {case}, {label} returned {got!r}; expected a tuple of 4 ints (y0, x0, y1, x1)"
        ) from None
    if box == tuple(ref):
        return
    y0, x0, y1, x1 = ref
    hints = [
        (
            (y0, x0, y1 - 1, x1 - 1),
            "the ends are exclusive: image[y0:y1, x0:x1] must be the "
            "boxed region, so y1 is the last row + 1.",
        ),
        ((x0, y0, x1, y1), "rows first: return (y0, x0, y1, x1), not (x0, y0, x1, y1)."),
    ]
    ys, xs = np.nonzero(m >= t * m.max())
    every = (int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1)
    if every != tuple(ref):
        hints.append(
            (
                every,
                "you boxed every pixel above the threshold; box only the LARGEST connected "
                "region (scipy.ndimage.label, then the label with most pixels).",
            )
        )
    from scipy import ndimage

    labels, count = ndimage.label(m >= t * m.max())
    if count:
        sizes = ndimage.sum_labels(np.ones_like(m), labels, index=np.arange(1, count + 1))
        sl = ndimage.find_objects((labels == int(np.argmax(sizes)) + 1).astype(int))[0]
        four = (sl[0].start, sl[1].start, sl[0].stop, sl[1].stop)
        if four != tuple(ref):
            hints.append(
                (
                    four,
                    "pixels that touch at a corner belong to the same region: use "
                    "8-connectivity, ndimage.label(mask, structure=np.ones((3, 3))).",
                )
            )
    for wrong, hint in hints:
        if box == tuple(wrong):
            raise CheckFailed(f"for {case}, your box is wrong. Hint: {hint}")
    raise CheckFailed(
        f"for {case}, your box {box} is wrong. Hint: keep the pixels with value >= threshold "
        "* max, find the largest 8-connected region, and return its bounding box with "
        "exclusive ends"
    )


def check_iou(fn) -> None:
    """Check ``iou(box_a, box_b)`` for boxes ``(y0, x0, y1, x1)`` with exclusive ends.

    Compared with :func:`cam_edu.localize.iou`.

    >>> from cam_edu.localize import iou
    >>> check_iou(iou)
    ✓ iou: all 6 cases agree with cam_edu.
    """
    from cam_edu.localize import iou

    label = "iou"

    def cases():
        items = [
            ("two identical boxes", (0, 0, 4, 4), (0, 0, 4, 4)),
            ("two far-apart boxes", (0, 0, 2, 2), (5, 5, 8, 8)),
            ("boxes that only touch along an edge", (0, 0, 2, 2), (0, 2, 2, 4)),
            ("a box half inside a twice-as-wide box", (0, 0, 2, 2), (0, 0, 2, 4)),
            ("overlapping corners, (0, 0, 4, 4) and (2, 2, 6, 6)", (0, 0, 4, 4), (2, 2, 6, 6)),
            ("a small box inside a big one", (1, 1, 3, 3), (0, 0, 10, 10)),
        ]
        for case, a, b in items:
            got = _call(fn, label, case, a, b)
            ref = iou(a, b)
            ah, aw, bh, bw = a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]
            inter_h = max(0, min(a[2], b[2]) - max(a[0], b[0]))
            inter_w = max(0, min(a[3], b[3]) - max(a[1], b[1]))
            raw_h = min(a[2], b[2]) - max(a[0], b[0])
            raw_w = min(a[3], b[3]) - max(a[1], b[1])
            raw = raw_h * raw_w
            plus_one = ((inter_h + 1) * (inter_w + 1)) / (
                (ah + 1) * (aw + 1) + (bh + 1) * (bw + 1) - (inter_h + 1) * (inter_w + 1)
            )
            _compare(
                got,
                np.float64(ref),
                label,
                case,
                shape_hint="return one number.",
                value_hint="IoU = intersection area / (area_a + area_b - intersection area).",
                mistakes=(
                    (
                        raw / (ah * aw + bh * bw - raw) if (ah * aw + bh * bw - raw) else np.nan,
                        "clip the intersection's height and width at 0 (disjoint boxes "
                        "overlap by nothing).",
                    ),
                    (
                        plus_one,
                        "the ends are exclusive, so a box's height is y1 - y0 (no + 1).",
                    ),
                    (
                        inter_h * inter_w / (ah * aw + bh * bw),
                        "the union counts the intersection once: area_a + area_b - intersection.",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    _run(label, cases)


# --------------------------------------------------------------------------- Grad-CAM


def tiny_cnn_without_gap():
    """The checks' tiny untrained CNN with a Flatten -> Dense head (no GAP; seed 11).

    Returns:
        ``(model, images)``: inputs ``(3, 12, 12, 1)``, activations ``(3, 6, 6, 6)`` at
        layer ``"last_conv"``, 3 classes (softmax).

    >>> model, images = tiny_cnn_without_gap()  # doctest: +SKIP
    """
    import keras

    keras.utils.set_random_seed(11)
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="last_conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax", name="predictions"),
        ],
        name="tiny_flatten",
    )
    images = _rng(11).random((3, 12, 12, 1), dtype=np.float32)
    return model, images


def check_gradcam_weights(fn) -> None:
    """Check ``gradcam_weights(grads)``: gradients ``(N, H, W, K)`` -> weights ``(N, K)``.

    ``alpha[n, k]`` is the mean over the positions of ``grads[n, :, :, k]``, as in
    :class:`cam_edu.gradcam.GradCAM`.

    >>> check_gradcam_weights(lambda g: g.mean(axis=(1, 2)))
    ✓ gradcam_weights: all 6 cases agree with cam_edu.
    """
    label = "gradcam_weights"

    def cases():
        items = _feature_cases()
        for case, g in items:
            case = case.replace("features", "gradients").replace("feature map", "gradient map")
            got = _call(fn, label, case, g)
            g64 = g.astype(np.float64)
            _compare(
                got,
                _gradcam_reference_weights(g),
                label,
                case,
                shape_hint="one weight per image and channel: shape (N, K).",
                value_hint="alpha[n, k] = the mean over all positions (i, j) of grads[n, i, j, k].",
                mistakes=(
                    (g64.sum(axis=(1, 2)), "average the gradients (divide by Z = H * W)."),
                    (
                        np.broadcast_to(g64.mean(axis=(0, 1, 2)), (g.shape[0], g.shape[3])),
                        "do not average over the batch axis: every image keeps its own "
                        "weights (axes 1 and 2 only).",
                    ),
                    (
                        np.maximum(g64, 0).mean(axis=(1, 2)),
                        "Grad-CAM averages the raw gradients; only Grad-CAM++ keeps the "
                        "positive ones.",
                    ),
                ),
            )
        return len(items)

    _run(label, cases)


def _gradcam_reference_weights(grads: np.ndarray) -> np.ndarray:
    from cam_edu.gradcam import GradCAM

    method = GradCAM.__new__(GradCAM)  # only the weighting rule, no model needed
    return method.channel_weights(np.zeros_like(grads), grads)


def check_gradcam_map(fn) -> None:
    """Check ``gradcam_map(activations, weights)``: ``(N, H, W, K)``, ``(N, K)`` -> ``(N, H, W)``.

    ``L[n] = ReLU(sum_k weights[n, k] * activations[n, ..., k])``, not normalized.

    >>> check_gradcam_map(lambda a, w: np.maximum(np.einsum("nhwk,nk->nhw", a, w), 0))
    ✓ gradcam_map: all 4 cases agree with cam_edu.
    """
    label = "gradcam_map"

    def cases():
        rng = _rng(6)
        items = [
            ("activations (2, 7, 7, 16) and weights (2, 16)", (2, 7, 7, 16)),
            ("non-square (3, 5, 9, 4) and weights (3, 4)", (3, 5, 9, 4)),
            ("one channel (1, 4, 4, 1)", (1, 4, 4, 1)),
            ("all-negative weights (the map must be all zeros)", (2, 3, 3, 5)),
        ]
        for i, (case, shape) in enumerate(items):
            a = rng.random(shape, dtype=np.float32)
            w = rng.normal(size=(shape[0], shape[-1])).astype(np.float32)
            if i == len(items) - 1:
                w = -np.abs(w) - 0.1
            got = _call(fn, label, case, a, w)
            raw = np.einsum("nhwk,nk->nhw", a.astype(np.float64), w)
            _compare(
                got,
                np.maximum(raw, 0.0),
                label,
                case,
                shape_hint="one map per image at the layer's resolution: (N, H, W). The "
                "weights are per image, so pair weights[n] with activations[n].",
                value_hint="L[n] = ReLU(sum over k of weights[n, k] * activations[n, :, :, k]).",
                mistakes=(
                    (raw, "apply ReLU: keep only the evidence FOR the class (np.maximum(., 0))."),
                    (
                        np.maximum(raw / shape[-1], 0.0),
                        "sum over the channels, do not average.",
                    ),
                ),
                atol=1e-4,
            )
        return len(items)

    _run(label, cases)


def check_activations_and_gradients(fn) -> None:
    """Check ``activations_and_gradients(cut, images, class_index)`` -> ``(A, grads)``.

    ``cut`` maps images to ``[A, logits]`` (:func:`cam_edu.layers.cut_model`);
    ``class_index`` holds one class per image ``(N,)``. ``grads[n]`` must be the
    gradient of image ``n``'s own class logit with respect to ``A[n]``, as in
    :meth:`cam_edu.gradcam.GradCAM.activations_and_gradients`. The model is a tiny
    untrained CNN with a Flatten -> Dense head (no GAP: Grad-CAM does not need one).

    >>> check_activations_and_gradients(my_function)  # doctest: +SKIP
    ✓ activations_and_gradients: all 3 cases agree with cam_edu.
    """
    from cam_edu.gradcam import GradCAM
    from cam_edu.layers import cut_model

    label = "activations_and_gradients"

    def cases():
        model, images = tiny_cnn_without_gap()
        cut = cut_model(model, "last_conv")
        reference = GradCAM(model, "last_conv")
        items = [
            ("3 images, each with a different class [0, 1, 2]", np.array([0, 1, 2])),
            ("3 images, all class 2", np.array([2, 2, 2])),
            ("1 image, class 1", np.array([1])),
        ]
        for case, classes in items:
            x = images[: len(classes)]
            got = _call(fn, label, case, cut, x, classes)
            if not isinstance(got, tuple | list) or len(got) != 2:
                raise CheckFailed(
                    f"for {case}, {label} returned {type(got).__name__}; expected a pair "
                    "(activations, gradients)"
                )
            a_ref, g_ref, _, _ = reference.activations_and_gradients(x, classes)
            _compare(
                got[0],
                a_ref,
                label + " (activations)",
                case,
                shape_hint="the activations are the first output of cut: (N, H, W, K).",
                value_hint="return the activations that cut(images) gives.",
            )
            batch_mean = g_ref / len(classes)
            _compare(
                got[1],
                g_ref,
                label + " (gradients)",
                case,
                shape_hint="the gradients have the activations' shape (N, H, W, K): "
                "tape.gradient(target, activations).",
                value_hint="the target is each image's OWN class logit, summed over the batch: "
                "tf.reduce_sum(tf.gather(logits, class_index, axis=1, batch_dims=1)). Take "
                "the gradient of the logits (cut's 2nd output), not of softmax probabilities.",
                mistakes=(
                    (
                        batch_mean,
                        "sum the targets over the batch, do not average them: averaging "
                        "divides every image's gradient by N.",
                    ),
                ),
                rtol=1e-4,
                atol=1e-6,
            )
        return len(items)

    _run(label, cases)


def check_grad_cam(gradcam_weights, gradcam_map, activations_and_gradients) -> None:
    """Check the three Grad-CAM pieces together against :func:`cam_edu.gradcam.grad_cam`.

    On a tiny untrained Flatten -> Dense CNN: gradients, then weights, then the map,
    for one class per image.

    >>> check_grad_cam(w_fn, map_fn, grads_fn)  # doctest: +SKIP
    ✓ Grad-CAM, end to end: all 2 cases agree with cam_edu.
    """
    from cam_edu.gradcam import grad_cam
    from cam_edu.layers import cut_model

    def cases():
        model, images = tiny_cnn_without_gap()
        cut = cut_model(model, "last_conv")
        items = [("3 images, classes [2, 0, 1]", [2, 0, 1]), ("3 images, class 1", [1, 1, 1])]
        for case, classes in items:
            classes = np.array(classes)
            pair = _call(
                activations_and_gradients, "activations_and_gradients", case, cut, images, classes
            )
            weights = _call(gradcam_weights, "gradcam_weights", case, np.asarray(pair[1]))
            maps = _call(gradcam_map, "gradcam_map", case, np.asarray(pair[0]), np.asarray(weights))
            ref, _ = grad_cam(model, images, classes, layer="last_conv")
            _compare(
                maps,
                ref,
                "Grad-CAM",
                case,
                shape_hint="maps of shape (N, H, W) at the layer's resolution.",
                value_hint="run each piece's own check above first; they must all pass.",
                rtol=1e-4,
                atol=1e-6,
            )
        return len(items)

    _run("Grad-CAM, end to end", cases)


# --------------------------------------------------------------------------- cantilever metric


def check_peak_position(fn) -> None:
    """Check ``peak_position(cams)``: CAMs ``(N, H, W)`` -> fault positions ``(N,)`` in ``[0, 1]``.

    Rows are time, columns run from the clamp to the tip. Compared with
    :func:`cam_edu.cantilever.cam_peak_position` with ``refine=False``: average over
    the rows, take the column ``j`` of the maximum, return its centre ``(j + 0.5) / W``.

    >>> from cam_edu.cantilever import cam_peak_position
    >>> check_peak_position(lambda c: cam_peak_position(c, refine=False))
    ✓ peak_position: all 5 cases agree with cam_edu.
    """
    from cam_edu.cantilever import cam_peak_position

    label = "peak_position"

    def cases():
        rng = _rng(8)
        column = np.zeros((1, 4, 16))
        column[0, :, 4] = 1.0
        ends = np.zeros((2, 3, 10))
        ends[0, :, 0] = 1.0
        ends[1, :, 9] = 1.0
        spike = np.zeros((1, 8, 12))
        spike[0, :, 7] = 1.0
        spike[0, 0, 2] = 5.0  # one hot pixel, but a weak column on average
        items = [
            ("one CAM with a bright column 4 of 16", column),
            ("peaks in the first and in the last column", ends),
            ("one hot pixel against a column that is bright in every row", spike),
            ("random CAMs of a 32x64 image, shape (3, 32, 64)", rng.random((3, 32, 64))),
            ("random CAMs at feature resolution, shape (4, 8, 16)", rng.normal(size=(4, 8, 16))),
        ]
        for case, cams in items:
            cams = cams.astype(np.float32)
            got = _call(fn, label, case, cams)
            n, _, w = cams.shape
            j = cams.mean(axis=1).argmax(axis=1)
            global_j = cams.reshape(n, -1).argmax(axis=1) % w
            _compare(
                got,
                cam_peak_position(cams, refine=False),
                label,
                case,
                shape_hint="one position per CAM: shape (N,).",
                value_hint="average each CAM over its rows (time), take the column j of the "
                "maximum, and return the centre of that column as a fraction of the beam.",
                mistakes=(
                    (
                        j / w,
                        "column j covers [j / W, (j + 1) / W] of the beam; return its "
                        "centre, (j + 0.5) / W.",
                    ),
                    (
                        j / (w - 1),
                        "column j covers [j / W, (j + 1) / W] of the beam; return "
                        "its centre, (j + 0.5) / W.",
                    ),
                    (j.astype(float), "return a fraction of the beam length, not a column index."),
                    (
                        (global_j + 0.5) / w,
                        "average over the rows (time) first: one hot pixel "
                        "is not the place with the most evidence along the beam.",
                    ),
                ),
                atol=1e-6,
            )
        return len(items)

    _run(label, cases)


def check_localization_error(fn) -> None:
    """Check ``localization_error(predicted, true)`` -> ``(N,)`` distances along the beam.

    Compared with :func:`cam_edu.cantilever.localization_error`.

    >>> check_localization_error(lambda p, t: np.abs(np.asarray(p) - np.asarray(t)))
    ✓ localization_error: all 3 cases agree with cam_edu.
    """
    from cam_edu.cantilever import localization_error

    label = "localization_error"

    def cases():
        rng = _rng(9)
        items = [
            ("predicted [0.2, 0.9] and true [0.25, 0.5]", [0.2, 0.9], [0.25, 0.5]),
            ("a prediction BEFORE the fault and one after", [0.1, 0.8], [0.3, 0.6]),
            ("10 random positions", rng.random(10), rng.random(10)),
        ]
        for case, p, t in items:
            p, t = np.asarray(p, np.float64), np.asarray(t, np.float64)
            got = _call(fn, label, case, p, t)
            _compare(
                got,
                localization_error(p, t),
                label,
                case,
                shape_hint="one error per fault image: shape (N,).",
                value_hint="the error is the distance |predicted - true| along the beam.",
                mistakes=(
                    (p - t, "a distance is never negative: take the absolute value."),
                    (t - p, "a distance is never negative: take the absolute value."),
                    ((p - t) ** 2, "report the distance itself, not its square."),
                ),
                atol=1e-9,
            )
        return len(items)

    _run(label, cases)


def check_expected_chance_error(fn) -> None:
    """Check ``expected_chance_error(true)``: mean error of a uniform guess, ``(N,)``.

    For a fault at ``p`` and a guess ``u`` uniform on ``[0, 1]``, the expected
    error is ``E|u - p|``; compared with :func:`cam_edu.cantilever.expected_chance_error`.

    >>> check_expected_chance_error(lambda p: (np.asarray(p) ** 2 + (1 - np.asarray(p)) ** 2) / 2)
    ✓ expected_chance_error: all 4 cases agree with cam_edu.
    """
    from cam_edu.cantilever import expected_chance_error

    label = "expected_chance_error"

    def cases():
        rng = _rng(10)
        items = [
            ("a fault in the middle, p = [0.5]", [0.5]),
            ("faults at the clamp and at the tip, p = [0, 1]", [0.0, 1.0]),
            ("p = [0.1, 0.25, 0.9]", [0.1, 0.25, 0.9]),
            ("20 random positions", rng.random(20)),
        ]
        for case, p in items:
            p = np.asarray(p, np.float64)
            got = _call(fn, label, case, p)
            _compare(
                got,
                expected_chance_error(p),
                label,
                case,
                shape_hint="one expected error per fault position: shape (N,).",
                value_hint="E|u - p| is the integral of |u - p| over u from 0 to 1; split it "
                "at u = p into two triangles.",
                mistakes=(
                    (np.full_like(p, 0.5), "the expected error depends on where the fault is."),
                    (
                        np.abs(p - 0.5),
                        "that is the error of always guessing the middle; the "
                        "guess u is random, uniform on [0, 1]: average |u - p| over u.",
                    ),
                    (p**2 + (1 - p) ** 2, "each triangle has area (base * height) / 2."),
                ),
                atol=1e-9,
            )
        return len(items)

    _run(label, cases)
