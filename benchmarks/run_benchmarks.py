"""Benchmarks of cam_edu: ratios measured in one run on this machine.

Run it with ``make benchmark`` (``.venv/bin/python benchmarks/run_benchmarks.py``). It prints
a table, writes ``benchmarks/results.json`` and ``benchmarks/results.png`` and, with
``--update-readme``, rewrites the README's benchmark section between the markers
``<!-- benchmarks:start -->`` and ``<!-- benchmarks:end -->``.

What is measured (each line is a ratio of two medians measured in the same run, the two
sides timed alternately, after warm-up; absolute times are supporting detail only):

- naive loop vs vectorized GAP and CAM (:mod:`cam_edu.gap`, :mod:`cam_edu.cam`) on
  MNIST-sized ``(N, 7, 7, 64)`` and ResNet50-sized ``(N, 7, 7, 2048)`` features;
- the cost of CAM over the forward pass (ResNet50 and the MNIST GAP CNN);
- Grad-CAM vs CAM; batched vs per-image;
- cam_edu's Grad-CAM vs tf-keras-vis's ``Gradcam`` on the same model and images
  (map agreement as a Pearson correlation, and the time ratio);
- occlusion, Score-CAM and LIME as multiples of one forward pass of the same batch
  (``benchmarks/faithfulness_costs.py``);
- the explorer's redraw latency (median and 90th percentile; target below 50 ms).

ResNet50 uses ImageNet weights when they are in the Keras cache, otherwise seeded random
weights (the output says which): the timings are the same, the maps mean nothing.

``--tiny`` runs every benchmark with toy sizes in seconds (used by the smoke test).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import logging
import os
import platform
import sys
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import cam_edu  # noqa: F401  (before TensorFlow: sets TF_CPP_MIN_LOG_LEVEL)
from cam_edu.exercises.safe_io import atomic_write
from cam_edu.timing import Timing, compare, time_call

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
COMMAND = ".venv/bin/python benchmarks/run_benchmarks.py"
REDRAW_TARGET_MS = 50.0
sys.path.insert(0, str(HERE))  # the sibling benchmark modules (faithfulness_costs)


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
        f"forward + CAM ÷ forward, {name}",
        f"{len(x)} images {'×'.join(map(str, x.shape[1:]))}",
        "compute_cam(model, x)",
        "model(x)",
        ta,
        tb,
        "the time of the forward pass alone",
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
    import keras

    from cam_edu.cam import cam_head
    from cam_edu.gradcam import grad_cam
    from cam_edu.layers import logits_tensor

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
            logits_model = keras.Model(model.inputs, logits_tensor(model), name="logits_model")
            vis = Gradcam(logits_model, clone=False)
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
    through its observer): alpha, class, colormap, threshold and image in turn.
    Returns the median and 90th percentile in ms, overall and per control.
    """
    from cam_edu.widgets import cam_explorer

    explorer = cam_explorer(model, x, labels)
    changes = {
        "alpha": (explorer.alpha, [0.3, 0.7]),
        "class": (explorer.klass, None),
        "colormap": (explorer.cmap, ["viridis", "jet"]),
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
    features = explorer.source.features.shape
    return {
        "images": len(x),
        "features": list(features),
        "samples": int(all_ms.size),
        "median_ms": float(np.median(all_ms)),
        "p90_ms": float(np.percentile(all_ms, 90)),
        "max_ms": float(all_ms.max()),
        "target_ms": REDRAW_TARGET_MS,
        "meets_target": bool(np.percentile(all_ms, 90) < REDRAW_TARGET_MS),
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


def run(config: Config, log=print) -> dict:
    """Run every benchmark with ``config``; return the results as a JSON-ready dict."""
    t_start = time.perf_counter()
    results: dict = {"machine": machine_info(), "config": asdict(config), "notes": []}
    rows: list[Row] = []

    def add(r: Row | None):
        if r is not None:
            rows.append(r)
            log(f"  {r.label}: {_fmt_ratio(r.ratio)} {r.meaning.split(',')[0]}")

    log("MNIST GAP CNN ...")
    mnist, x_all, y_all, mnist_desc = mnist_setup(config)
    results["mnist_model"] = mnist_desc
    x = x_all[: config.mnist_images]
    k, c = config.resnet_channels, config.resnet_classes
    log("loop vs vectorized ...")
    f_small = _features(config.feature_batch, 7, 7, 64)
    f_big = _features(config.feature_batch, 7, 7, k, seed=1)
    w_small = np.random.default_rng(2).standard_normal((64, 10)).astype(np.float32)
    w_big = np.random.default_rng(3).standard_normal((k, c)).astype(np.float32)
    add(bench_gap(f_small, "MNIST size", config.repeat))
    add(bench_gap(f_big, "ResNet50 size", config.repeat))
    add(bench_cam(f_small, w_small, "MNIST size", config.repeat))
    add(bench_cam(f_big, w_big, "ResNet50 size", config.repeat))

    resnet = x_res = None
    if config.resnet:
        log("ResNet50 ...")
        resnet, x_res, weights = resnet_setup(config)
        results["resnet50_weights"] = weights
        if "RANDOM" in weights:
            results["notes"].append(
                "ResNet50 ran with seeded RANDOM weights: the ImageNet weights are not on this "
                "machine. Timings do not depend on the weights; its maps mean nothing."
            )
    log("cost of CAM over the forward pass ...")
    add(bench_cam_overhead(mnist, x, "MNIST GAP CNN", config.repeat))
    if resnet is not None:
        add(bench_cam_overhead(resnet, x_res, "ResNet50", config.repeat))
    log("Grad-CAM vs CAM ...")
    add(bench_gradcam_vs_cam(mnist, x, "MNIST GAP CNN", config.repeat))
    if resnet is not None:
        add(bench_gradcam_vs_cam(resnet, x_res, "ResNet50", config.repeat))
    log("batched vs per-image ...")
    add(bench_batched(mnist, x, "MNIST GAP CNN", "cam", max(2, config.repeat - 2)))
    add(bench_batched(mnist, x, "MNIST GAP CNN", "gradcam", max(2, config.repeat - 2)))
    if resnet is not None:
        add(bench_batched(resnet, x_res, "ResNet50", "cam", max(2, config.repeat - 2)))
    log("perturbation maps vs forward pass ...")
    from faithfulness_costs import rows as perturbation_rows

    x_small = x[: config.perturbation_images]
    for r in perturbation_rows(mnist, x_small, "MNIST GAP CNN", num_samples=config.lime_samples):
        add(Row(**r))
    log("cam_edu vs tf-keras-vis ...")
    vis = [bench_tf_keras_vis(mnist, x, "MNIST GAP CNN", config.repeat)]
    if resnet is not None:
        vis.append(bench_tf_keras_vis(resnet, x_res, "ResNet50", config.repeat))
    results["tf_keras_vis"] = vis
    for v in vis:
        add(tf_keras_vis_row(v))
        if v["status"] != "ok":
            results["notes"].append(f"tf-keras-vis on {v['model']}: {v['status']}: {v['error']}")
    for v in vis:
        if "replace_to_linear_error" in v:
            results["notes"].append(
                f"tf-keras-vis's recommended model_modifier=ReplaceToLinear() fails on the "
                f"{v['model']} (a Keras {results['machine']['keras']} Sequential model): "
                f"{v['replace_to_linear_error']}. Keras 3 Sequential models have no "
                "`output_names`. Workaround used: Gradcam without a modifier on "
                "keras.Model(model.inputs, logits), the same model with its softmax removed."
            )
    log("explorer redraw ...")
    x_explorer = x_all[: config.explorer_images]
    results["redraw"] = bench_redraw(mnist, x_explorer, y_all, config.redraw_rounds)
    log(
        f"  redraw median {results['redraw']['median_ms']:.1f} ms, "
        f"p90 {results['redraw']['p90_ms']:.1f} ms"
    )
    redraw_warnings = results["redraw"]["matplotlib_warnings"]
    if redraw_warnings:
        text, count = next(iter(redraw_warnings.items()))
        results["notes"].append(
            f"The explorer made matplotlib log {sum(redraw_warnings.values())} warning(s) during "
            f'the redraw benchmark, e.g. {count}× "{text}" (the overlay '
            "(1 - alpha) * image + alpha * colors exceeds 1 by float rounding; clipping it to "
            "[0, 1] in cam_edu.widgets would silence this)."
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    results["machine"]["load_average_1min_end"] = load
    busy = max(load or 0.0, results["machine"]["load_average_1min"] or 0.0)
    if busy > (os.cpu_count() or 1):
        results["notes"].append(
            f"The machine was busy during this run (1-minute load average up to {busy:.1f} on "
            f"{os.cpu_count()} cores): absolute times are inflated; ratios, measured "
            "alternately, less so."
        )
    results["rows"] = [asdict(r) for r in rows]
    results["seconds"] = round(time.perf_counter() - t_start, 1)
    return results


# ----------------------------------------------------------------------------- output


def _fmt_ratio(ratio: float) -> str:
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×"


def _fmt_ms(ms: float) -> str:
    return f"{ms:.3g}" if ms < 100 else f"{ms:,.0f}"


def markdown(results: dict) -> str:
    """The README section: the table of ratios, the redraw latency, notes and the command."""
    m = results["machine"]
    lines = [
        "## Benchmarks",
        "",
        f"Measured in one run of `make benchmark` (`{COMMAND}`) on {m['cpu_count']} CPU "
        f"cores ({m['processor']}, {m['platform']}), TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, {m['date'][:10]}; the run took {results['seconds']:.0f} s. "
        "Each ratio compares the medians of two functions timed alternately in the same run, "
        "after warm-up; the milliseconds are supporting detail and depend on the machine. "
        "Raw numbers: `benchmarks/results.json`; plot: `benchmarks/results.png`.",
        "",
        "| comparison | workload | ratio | ms (baseline / candidate) | check |",
        "|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        cells = [
            r["label"],
            r["workload"],
            f"**{_fmt_ratio(r['ratio'])}** {r['meaning']}",
            f"{_fmt_ms(r['baseline_ms'])} / {_fmt_ms(r['candidate_ms'])}",
            r["check"],
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    d = results["redraw"]
    verdict = "meets" if d["meets_target"] else "misses"
    lines += [
        "",
        f"Explorer redraw on the MNIST GAP CNN with cached features ({d['images']} images, "
        f"features {'×'.join(map(str, d['features'][1:]))}), {d['samples']} control changes: "
        f"median **{d['median_ms']:.1f} ms**, 90th percentile **{d['p90_ms']:.1f} ms** "
        f"({verdict} the {d['target_ms']:.0f} ms target).",
        "",
        f"MNIST model: {results['mnist_model']}. "
        + (f"ResNet50: {results['resnet50_weights']}." if "resnet50_weights" in results else ""),
    ]
    for note in results["notes"]:
        lines += ["", f"Note: {note}"]
    lines += ["", "Reproduce (about 2–3 minutes on 2 cores):", "", "```bash", "make benchmark"]
    lines += [f"{COMMAND} --update-readme   # also rewrites this section", "```"]
    return "\n".join(lines)


def text_table(results: dict) -> str:
    """The table for the terminal."""
    out = []
    for r in results["rows"]:
        out.append(
            f"{_fmt_ratio(r['ratio']):>9}  {r['label']}  [{r['workload']}]  "
            f"({_fmt_ms(r['baseline_ms'])} ms / {_fmt_ms(r['candidate_ms'])} ms)\n"
            f"{'':11}{_fmt_ratio(r['ratio'])} {r['meaning']}; {r['check']}"
        )
    d = results["redraw"]
    out.append(
        f"explorer redraw: median {d['median_ms']:.1f} ms, p90 {d['p90_ms']:.1f} ms, "
        f"target {d['target_ms']:.0f} ms: {'met' if d['meets_target'] else 'MISSED'}"
    )
    out += [f"NOTE: {n}" for n in results["notes"]]
    return "\n".join(out)


def plot(results: dict, path: Path) -> None:
    """Two panels: the ratios (log scale) and the explorer's redraw latencies.

    The PNG is rendered in memory and written atomically: a reader never sees half a file.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rows"]
    fig, (ax, ax2) = plt.subplots(
        1, 2, figsize=(14, 0.42 * len(rows) + 2.2), width_ratios=[2.3, 1], layout="constrained"
    )
    groups = sorted({r["group"] for r in rows}, key=[r["group"] for r in rows].index)
    colors = dict(zip(groups, plt.get_cmap("tab10").colors, strict=False))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [r["ratio"] for r in rows], color=[colors[r["group"]] for r in rows], log=True)
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=8)
    ax.axvline(1.0, color="black", lw=1)
    for yi, r in zip(y, rows, strict=True):
        ax.text(r["ratio"], yi, f" {_fmt_ratio(r['ratio'])}", va="center", fontsize=8)
    ax.set_xlabel("ratio of median times, baseline ÷ candidate (log scale; 1 = equal)")
    ax.set_title("Ratios measured in one run")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[g]) for g in groups]
    ax.legend(handles, groups, fontsize=7, loc="lower right")
    d = results["redraw"]
    ax2.hist(d["all_ms"], bins=20, color="tab:blue")
    for value, style, label in (
        (d["median_ms"], "-", f"median {d['median_ms']:.1f} ms"),
        (d["p90_ms"], "--", f"p90 {d['p90_ms']:.1f} ms"),
        (d["target_ms"], ":", f"target {d['target_ms']:.0f} ms"),
    ):
        ax2.axvline(value, color="black", ls=style, label=label)
    ax2.set_xlabel("control change to new picture (ms)")
    ax2.set_ylabel("number of control changes")
    ax2.set_title(f"Explorer redraw, {d['samples']} changes")
    ax2.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(
        f"cam_edu benchmarks, {m['cpu_count']} CPU cores, TF {m['tensorflow']}, {m['date'][:10]}"
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())


def update_readme(readme: Path, section: str) -> None:
    """Replace the text between the benchmark markers of ``readme`` by ``section``.

    Raises:
        ValueError: if the markers are missing, repeated or out of order.
    """
    text = readme.read_text(encoding="utf-8")
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(
            f"{readme} must contain {START} and then {END}, once each; add them where the "
            "benchmark section belongs."
        )
    head, rest = text.split(START)
    _, tail = rest.split(END)
    atomic_write(readme, f"{head}{START}\n{section.strip()}\n{END}{tail}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="toy sizes, for the smoke test")
    parser.add_argument("--no-resnet", action="store_true", help="skip ResNet50")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results.json/.png")
    parser.add_argument(
        "--update-readme", action="store_true", help="rewrite README.md's benchmark section"
    )
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    config = Config.tiny() if args.tiny else Config()
    if args.no_resnet:
        config.resnet = False
    results = run(config)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = args.out / "results.json", args.out / "results.png"
    atomic_write(json_path, json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    plot(results, png_path)
    print()
    print(text_table(results))
    print(f"\nwrote {json_path} and {png_path} in {results['seconds']:.0f} s")
    if args.update_readme:
        update_readme(args.readme, markdown(results))
        print(f"updated the benchmark section of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
