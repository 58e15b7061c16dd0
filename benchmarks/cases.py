"""The benchmark cases of cam_edu: each returns a table :class:`Row` (or a dict).

Every ratio compares the medians of two functions timed alternately in the same run,
after warm-up (:func:`cam_edu.timing.compare`); absolute times are supporting detail.

>>> r = bench_gap(_features(2, 7, 7, 8), "toy", repeat=2)
>>> r.ratio > 0 and "loop vs vectorized" in r.group
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import platform
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
from cam_edu.timing import Timing, compare, time_call

REDRAW_TARGET_MS = 10.0  # median, server side


@dataclass
class Row:
    """One line of the results table: ``ratio = baseline_ms / candidate_ms``."""

    group: str
    label: str
    workload: str
    baseline: str
    candidate: str
    baseline_ms: float
    candidate_ms: float
    ratio: float
    meaning: str
    check: str = ""
    extra: dict = field(default_factory=dict)


def row(group, label, workload, baseline, candidate, ta: Timing, tb: Timing, meaning, check=""):
    """A :class:`Row` from two timings measured by :func:`compare`."""
    ratio = ta.median / tb.median
    return Row(group, label, workload, baseline, candidate, ta.ms, tb.ms, ratio, meaning, check)


# ----------------------------------------------------------------------------- benchmarks


def _features(n: int, h: int, w: int, k: int, seed: int = 0) -> np.ndarray:
    """Seeded non-negative (post-ReLU-like) feature maps ``(n, h, w, k)``."""
    rng = np.random.default_rng(seed)
    return np.maximum(rng.standard_normal((n, h, w, k), dtype=np.float32), 0.0)


def bench_gap(features: np.ndarray, name: str, repeat: int = 5) -> Row:
    """Naive per-channel GAP loop vs one ``reduce_mean``, same features ``(N, H, W, K)``."""
    from cam_edu.gap import global_average_pool, global_average_pool_loop

    diff = np.abs(global_average_pool_loop(features) - global_average_pool(features)).max()
    ta, tb = compare(
        lambda: global_average_pool_loop(features),
        lambda: global_average_pool(features),
        repeat=repeat,
    )
    n, h, w, k = features.shape
    return row(
        "loop vs vectorized",
        f"GAP, {name}",
        f"features {n}×{h}×{w}×{k}",
        "global_average_pool_loop",
        "global_average_pool",
        ta,
        tb,
        "faster vectorized",
        f"largest difference loop vs vectorized: {diff:.1e}",
    )


def bench_cam(features: np.ndarray, weights: np.ndarray, name: str, repeat: int = 5) -> Row:
    """Naive per-channel CAM loop (one class) vs one matmul giving all ``C`` classes."""
    from cam_edu.cam import class_activation_map_loop, class_activation_maps

    c = 1
    loop = class_activation_map_loop(features, weights, c)
    diff = np.abs(loop - class_activation_maps(features, weights)[..., c]).max()
    ta, tb = compare(
        lambda: class_activation_map_loop(features, weights, c),
        lambda: class_activation_maps(features, weights),
        repeat=repeat,
    )
    n, h, w, k = features.shape
    return row(
        "loop vs vectorized",
        f"CAM, {name}",
        f"features {n}×{h}×{w}×{k}, weights {k}×{weights.shape[1]}",
        "class_activation_map_loop (1 class)",
        f"class_activation_maps (all {weights.shape[1]} classes)",
        ta,
        tb,
        f"faster vectorized, and it gives {weights.shape[1]} maps instead of 1",
        f"largest difference loop vs vectorized: {diff:.1e}",
    )


def _call(model, x):
    return model(x, training=False)


def bench_cam_overhead(model, x: np.ndarray, name: str, repeat: int = 5) -> Row:
    """Forward pass alone (``model(x)``) vs forward + CAM (``compute_cam``)."""
    from cam_edu.cam import cam_head, compute_cam

    head = cam_head(model)
    features = np.asarray(head.feature_model(x, training=False))
    logits_model = np.asarray(_call(model, x))
    cams, logits = compute_cam(model, x)
    same_class = bool(np.all(logits.argmax(1) == logits_model.argmax(1)))
    identity = np.abs(cams.mean(axis=(1, 2)) + head.bias[logits.argmax(1)] - logits.max(1)).max()
    chosen = logits.argmax(1)
    cam_step = time_call(
        lambda: np.einsum("nhwk,kn->nhw", features, head.kernel[:, chosen]), repeat=repeat
    )
    ta, tb = compare(lambda: compute_cam(model, x), lambda: _call(model, x), repeat=repeat)
    result = row(
        "cost of CAM over the forward pass",
        f"compiled forward + CAM ÷ eager forward, {name}",
        f"{len(x)} images {'×'.join(map(str, x.shape[1:]))}",
        "compute_cam(model, x)",
        "model(x)",
        ta,
        tb,
        "the time of an eager model(x) call alone (compute_cam runs compiled)",
        f"the CAM step itself: {cam_step.ms:.2f} ms = {100 * cam_step.ms / tb.ms:.2g} % of "
        f"model(x); mean(CAM) + b = logit within {identity:.1e}; same argmax as model(x): "
        f"{same_class}",
    )
    result.extra = {
        "cam_step_ms": cam_step.ms,
        "cam_step_fraction_of_forward": cam_step.ms / tb.ms,
        "identity_max_error": float(identity),
    }
    return result


def bench_gradcam_vs_cam(model, x: np.ndarray, name: str, repeat: int = 5) -> Row:
    """Grad-CAM (forward + backward) vs CAM (forward only) on a GAP model.

    Also checks the identity of the Grad-CAM lesson: on a GAP -> Dense net,
    Grad-CAM = ReLU(CAM) / (H * W).
    """
    from cam_edu.cam import cam_head, compute_cam
    from cam_edu.gradcam import grad_cam

    layer = cam_head(model).feature_layer
    cams, logits = compute_cam(model, x)
    maps, _ = grad_cam(model, x, class_index=logits.argmax(1), layer=layer)
    h, w = cams.shape[1:]
    expected = np.maximum(cams, 0) / (h * w)
    rel = np.abs(maps - expected).max() / max(np.abs(expected).max(), 1e-12)
    ta, tb = compare(
        lambda: grad_cam(model, x, layer=layer), lambda: compute_cam(model, x), repeat=repeat
    )
    return row(
        "Grad-CAM vs CAM",
        f"Grad-CAM ÷ CAM, {name}",
        f"{len(x)} images, layer {layer}",
        "grad_cam(model, x)",
        "compute_cam(model, x)",
        ta,
        tb,
        "the time of CAM",
        f"Grad-CAM = ReLU(CAM)/(H·W) within {rel:.1e} (relative)",
    )


def bench_batched(model, x: np.ndarray, name: str, method: str = "cam", repeat: int = 3) -> Row:
    """One call on the batch ``(N, ...)`` vs ``N`` calls on one image each."""
    from cam_edu.cam import cam_head, compute_cam
    from cam_edu.gradcam import grad_cam

    if method == "cam":
        fn, label = (lambda images: compute_cam(model, images)[0]), "compute_cam"
    else:
        layer = cam_head(model).feature_layer
        fn, label = (lambda images: grad_cam(model, images, layer=layer)[0]), "grad_cam"
    batched = fn(x)
    single = np.concatenate([fn(x[i : i + 1]) for i in range(len(x))])
    diff = np.abs(batched - single).max() / max(np.abs(batched).max(), 1e-12)
    ta, tb = compare(
        lambda: [fn(x[i : i + 1]) for i in range(len(x))], lambda: fn(x), repeat=repeat
    )
    return row(
        "batched vs per-image",
        f"{'CAM' if method == 'cam' else 'Grad-CAM'} per image ÷ batched, {name}",
        f"{len(x)} images",
        f"{len(x)} calls of {label} on 1 image",
        f"1 call of {label} on {len(x)} images",
        ta,
        tb,
        "faster batched",
        f"batched = per-image maps within {diff:.1e} (relative)",
    )


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _short_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" at {Path(last.filename).name}:{last.lineno} ({last.line})"
    return f"{type(exc).__name__}: {exc}{where}"


def bench_tf_keras_vis(model, x: np.ndarray, name: str, repeat: int = 5) -> dict:
    """cam_edu's Grad-CAM vs tf-keras-vis's ``Gradcam`` on the same model and images.

    tf-keras-vis is used as its documentation recommends: gradients of the logits via
    ``model_modifier=ReplaceToLinear()``. If that fails (it does for Keras 3 Sequential
    models), the error is recorded and ``Gradcam`` runs without a modifier on the same
    model with its softmax removed (``keras.Model(model.inputs, logits)``, what
    ``ReplaceToLinear`` is meant to build). The layer is given explicitly with
    ``seek_penultimate_conv_layer=False``; the map obtained with tf-keras-vis's default
    (``True``: it moves on to the nearest *convolution* layer when the named layer is not
    one) and the map of the softmax output are recorded for contrast.

    Returns a dict with ``status`` (``"ok"``, ``"not installed"`` or ``"failed"``),
    the errors met, the Pearson correlation of the maps and the time ratio.
    """

    from cam_edu.cam import cam_head
    from cam_edu.gradcam import grad_cam
    from cam_edu.layers import logits_model

    out: dict = {"model": name, "images": len(x)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import tf_keras_vis
            from tf_keras_vis.gradcam import Gradcam
            from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
            from tf_keras_vis.utils.scores import CategoricalScore
    except ImportError as exc:
        out.update(
            status="not installed",
            error=f"{type(exc).__name__}: {exc}. Install it with: "
            ".venv/bin/pip install tf-keras-vis",
        )
        return out
    out["version"] = tf_keras_vis.__version__
    layer = cam_head(model).feature_layer
    out["layer"] = layer
    ours, logits = grad_cam(model, x, layer=layer)
    classes = [int(c) for c in logits.argmax(1)]
    score = CategoricalScore(classes)

    def run(vis, seek=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            maps = vis(
                score,
                x,
                penultimate_layer=layer,
                seek_penultimate_conv_layer=seek,
                expand_cam=False,
                normalize_cam=False,
            )
        return np.asarray(maps, np.float32)

    try:
        vis = Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)
        theirs = run(vis)
        out["setup"] = "Gradcam(model, model_modifier=ReplaceToLinear())"
    except Exception as exc:
        out["replace_to_linear_error"] = _short_error(exc)
        try:
            vis = Gradcam(logits_model(model), clone=False)
            theirs = run(vis)
            out["setup"] = "Gradcam(keras.Model(model.inputs, logits)) (ReplaceToLinear failed)"
        except Exception as exc2:
            out.update(status="failed", error=_short_error(exc2))
            return out
    try:
        default_seek = run(vis, seek=True)
        softmax_maps = run(Gradcam(model, clone=False))
    except Exception as exc:
        out.update(status="failed", error=_short_error(exc))
        return out
    out["pearson"] = _pearson(ours, theirs)
    per_image = [_pearson(a, b) for a, b in zip(ours, theirs, strict=True)]
    finite = [p for p in per_image if np.isfinite(p)]
    out["pearson_per_image_min"] = min(finite) if finite else float("nan")
    scale = max(float(np.abs(ours).max()), 1e-12)
    out["max_relative_difference"] = float(np.abs(ours - theirs).max() / scale)
    out["pearson_softmax_output"] = _pearson(ours, softmax_maps)
    same_shape = default_seek.shape == ours.shape
    out["pearson_default_seek"] = _pearson(ours, default_seek) if same_shape else float("nan")
    ta, tb = compare(lambda: run(vis), lambda: grad_cam(model, x, layer=layer), repeat=repeat)
    out.update(status="ok", tf_keras_vis_ms=ta.ms, cam_edu_ms=tb.ms, ratio=ta.median / tb.median)
    return out


def compiled_forward(model):
    """The floor: one compiled forward pass, ``tf.function(model)``, batch size free."""
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), model.inputs[0].dtype)
    return tf.function(lambda t: model(t, training=False), input_signature=[spec])


def bench_compiled_floor(model, x: np.ndarray, name: str, repeat: int = 5) -> list[Row]:
    """cam_edu's methods vs a compiled forward pass of the same model and batch.

    Grad-CAM's floor is the forward pass plus a backward pass through the head only, so
    about 1.05x; CAM's is the forward pass itself. Also counts the engine's traces: a
    new batch size must not recompile.
    """
    from cam_edu.cam import compute_cam
    from cam_edu.engine import engine
    from cam_edu.gradcam import grad_cam, grad_cam_plus_plus

    forward = compiled_forward(model)
    forward(x)
    methods = [("grad_cam", grad_cam), ("grad_cam_plus_plus", grad_cam_plus_plus)]
    try:
        compute_cam(model, x[:1])
        methods.append(("compute_cam", compute_cam))
    except ValueError:  # no GAP -> Dense head (ConvNeXt: LayerNorm between)
        pass
    rows = []
    for label, fn in methods:
        fn(model, x[:1])
        traces = engine(model).traces
        fn(model, x)
        retraced = engine(model).traces - traces
        ta, tb = compare(lambda fn=fn: fn(model, x), lambda: forward(x).numpy(), repeat=repeat)
        rows.append(
            row(
                "cost over a compiled forward pass",
                f"{label} ÷ compiled forward, {name}",
                f"{len(x)} images {'×'.join(map(str, x.shape[1:]))}, layer {engine(model).layer}",
                f"cam_edu.{label}(model, x)",
                "tf.function(model)(x)",
                ta,
                tb,
                "the time of a compiled forward pass",
                f"new traces for a new batch size: {retraced}",
            )
        )
    return rows


def speed_models(config: Config) -> list:
    """``(name, model, images)`` of the speed rows: MobileNetV2 and ConvNeXtTiny with
    seeded random weights (timings do not depend on the weights)."""
    import keras

    size = config.speed_size
    x = np.random.default_rng(0).uniform(0, 255, (config.speed_batch, size, size, 3))
    out = []
    for name in config.speed_models:
        keras.utils.set_random_seed(0)
        model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3))
        out.append((name, model, x.astype(np.float32)))
    return out


def bench_explorer_gradcam(model, x: np.ndarray, name: str) -> dict:
    """The explorer's Grad-CAM mode: construction and a change of class (first view of
    that map), each in ms and as a multiple of a compiled forward pass of one image."""
    from cam_edu.widgets import cam_explorer

    forward = compiled_forward(model)
    forward(x[:1])
    one = time_call(lambda: forward(x[:1]).numpy(), repeat=5)
    start = time.perf_counter()
    explorer = cam_explorer(model, x, method="gradcam")
    build_ms = 1000 * (time.perf_counter() - start)
    changes = []
    options = [v for _, v in explorer.klass.options if v >= 0][1:6]
    for value in options:
        start = time.perf_counter()
        explorer.klass.value = value
        changes.append(1000 * (time.perf_counter() - start))
    change_ms = float(np.median(changes))
    return {
        "model": name,
        "images": len(x),
        "forward_one_image_ms": one.ms,
        "construction_ms": build_ms,
        "construction_forward_passes": build_ms / one.ms,
        "class_change_ms": change_ms,
        "class_change_forward_passes": change_ms / one.ms,
        "class_changes": len(changes),
    }


def tf_keras_vis_row(result: dict) -> Row | None:
    """The table line of :func:`bench_tf_keras_vis` (``None`` if it did not run)."""
    if result.get("status") != "ok":
        return None
    note = ""
    if "replace_to_linear_error" in result:
        note = "ReplaceToLinear fails here (see notes), so tf-keras-vis ran on the logits model; "
    contrast = (
        f"on the softmax output instead of the logits r = {result['pearson_softmax_output']:.3f}"
    )
    if np.isfinite(result["pearson_default_seek"]) and result["pearson_default_seek"] < 0.999:
        contrast += (
            f"; with tf-keras-vis's default seek_penultimate_conv_layer=True "
            f"r = {result['pearson_default_seek']:.3f} (it explains another layer)"
        )
    return Row(
        "cam_edu vs tf-keras-vis",
        f"tf-keras-vis Gradcam ÷ cam_edu grad_cam, {result['model']}",
        f"{result['images']} images, same model, layer {result['layer']}",
        f"tf_keras_vis {result['version']} Gradcam",
        "cam_edu.gradcam.grad_cam",
        result["tf_keras_vis_ms"],
        result["cam_edu_ms"],
        result["ratio"],
        "the time of cam_edu",
        f"{note}maps agree: Pearson r = {result['pearson']:.6f}, max relative difference "
        f"{result['max_relative_difference']:.1e} ({contrast})",
    )


def bench_redraw(model, x: np.ndarray, labels=None, rounds: int = 20) -> dict:
    """Latency of the explorer (:func:`cam_edu.widgets.cam_explorer`) on cached CAM features.

    Each sample sets one control's value the way a student does (the widget redraws
    through its observer): alpha, class, upsampling, threshold and image in turn.
    Returns the median and 90th percentile in ms, overall and per control.
    """
    from cam_edu.widgets import cam_explorer

    explorer = cam_explorer(model, x, labels)
    changes = {
        "alpha": (explorer.alpha, [0.3, 0.7]),
        "class": (explorer.klass, None),
        "upsampling": (explorer.upsampling, ["nearest", "bilinear"]),
        "threshold": (explorer.threshold, [0.5, 0.2]),
        "image": (explorer.image, [min(1, len(x) - 1), 0]),
    }
    for _ in range(2):  # warm-up
        explorer.redraw()
    samples: dict[str, list[float]] = {k: [] for k in changes}
    logged = _CountingHandler()
    mpl_log = logging.getLogger("matplotlib.image")
    mpl_log.addHandler(logged)
    propagate, mpl_log.propagate = mpl_log.propagate, False
    try:
        _redraw_rounds(explorer, changes, rounds, samples)
    finally:
        mpl_log.removeHandler(logged)
        mpl_log.propagate = propagate
    all_ms = 1e3 * np.concatenate([np.asarray(s) for s in samples.values()])
    per_control = {
        k: {"median_ms": float(np.median(v) * 1e3), "p90_ms": float(np.percentile(v, 90) * 1e3)}
        for k, v in samples.items()
        if v
    }
    features = explorer.features.shape
    return {
        "images": len(x),
        "features": list(features),
        "samples": int(all_ms.size),
        "median_ms": float(np.median(all_ms)),
        "p90_ms": float(np.percentile(all_ms, 90)),
        "max_ms": float(all_ms.max()),
        "target_ms": REDRAW_TARGET_MS,
        "meets_target": bool(np.median(all_ms) <= REDRAW_TARGET_MS),
        "per_control": per_control,
        "matplotlib_warnings": logged.messages,
        "all_ms": [round(float(v), 3) for v in all_ms],
    }


class _CountingHandler(logging.Handler):
    """Collects distinct log messages (with counts) instead of printing them."""

    def __init__(self):
        super().__init__()
        self.messages: dict[str, int] = {}

    def emit(self, record):
        msg = record.getMessage()
        self.messages[msg] = self.messages.get(msg, 0) + 1


def _redraw_rounds(explorer, changes, rounds, samples) -> None:
    for r in range(rounds):
        for name, (control, values) in changes.items():
            if name == "class":
                classes = [v for _, v in explorer.klass.options]
                value = classes[1 + r % (len(classes) - 1)] if r % 2 == 0 else classes[0]
            else:
                value = values[r % 2]
            if control.value == value:
                continue
            t0 = time.perf_counter()
            control.value = value
            samples[name].append(time.perf_counter() - t0)


# ----------------------------------------------------------------------------- set-up


@dataclass
class Config:
    """Sizes of one run; :meth:`tiny` is for the smoke test."""

    mnist_images: int = 64
    explorer_images: int = 200
    feature_batch: int = 8
    resnet: bool = True
    resnet_images: int = 2
    repeat: int = 5
    redraw_rounds: int = 20
    trained_mnist: bool = True
    resnet_channels: int = 2048
    resnet_classes: int = 1000
    perturbation_images: int = 4
    lime_samples: int = 1000
    speed_models: tuple = ("MobileNetV2", "ConvNeXtTiny")
    speed_size: int = 224
    speed_batch: int = 4
    browser: bool = True  # browser_latency.py: the explorer in JupyterLab + headless Chromium

    @classmethod
    def tiny(cls) -> Config:
        return cls(
            mnist_images=4,
            explorer_images=4,
            feature_batch=2,
            resnet=False,
            repeat=2,
            redraw_rounds=2,
            trained_mnist=False,
            resnet_channels=96,
            resnet_classes=50,
            perturbation_images=2,
            lime_samples=20,
            speed_models=("MobileNetV2",),
            speed_size=32,
            speed_batch=2,
            browser=False,
        )


def _quietly(fn, *args, **kwargs):
    """Call ``fn``, capturing what it prints; return ``(result, printed text)``."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        result = fn(*args, **kwargs)
    return result, buf.getvalue()


def mnist_setup(config: Config):
    """The MNIST GAP CNN of lessons 1-3 and test digits ``(N, 28, 28, 1)``."""
    from cam_edu.course.models import build_gap_cnn, mnist_gap_cnn, seed_everything

    seed_everything(0)
    if not config.trained_mnist:
        rng = np.random.default_rng(0)
        x = rng.random((config.explorer_images, 28, 28, 1), dtype=np.float32)
        return build_gap_cnn(seed=0), x, None, "untrained GAP CNN, random images (--tiny)"
    from cam_edu.course.data import load_mnist

    data, printed = _quietly(load_mnist)
    model, _ = _quietly(mnist_gap_cnn, data)
    n = max(config.explorer_images, config.mnist_images)
    return model, data.x_test[:n], data.y_test[:n], f"trained GAP CNN, MNIST ({data.source})"


def resnet_setup(config: Config):
    """ResNet50 (ImageNet weights if cached, else random) and preprocessed photos."""
    from cam_edu.course.imagenet import is_pretrained, load_photos, load_resnet50, preprocess

    model, _ = _quietly(load_resnet50, allow_random=True)
    photos = load_photos()
    reps = -(-config.resnet_images // len(photos))
    x = preprocess(np.concatenate([photos] * reps)[: config.resnet_images])
    weights = "ImageNet weights" if is_pretrained(model) else "RANDOM weights (timing only)"
    return model, x, weights


def machine_info() -> dict:
    import keras
    import tensorflow as tf

    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
