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
  (``faithfulness_costs.py``);
- the explorer's redraw latency (median and 90th percentile; target: median at most 10 ms),
  and end to end in JupyterLab + headless Chromium (``browser_latency.py``).

ResNet50 uses ImageNet weights when they are in the Keras cache, otherwise seeded random
weights (the output says which): the timings are the same, the maps mean nothing.

``--tiny`` runs every benchmark with toy sizes in seconds (used by the smoke test).
The cases are in ``cases.py`` (what is timed) and the output in ``report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
from cam_edu.exercises.safe_io import atomic_write

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # the sibling modules, also when imported by path

import browser_latency  # noqa: E402
from cases import (  # noqa: E402
    Config,
    Row,
    _features,
    bench_batched,
    bench_cam,
    bench_cam_overhead,
    bench_compiled_floor,
    bench_explorer_gradcam,
    bench_gap,
    bench_gradcam_vs_cam,
    bench_redraw,
    bench_tf_keras_vis,
    machine_info,
    mnist_setup,
    resnet_setup,
    speed_models,
    tf_keras_vis_row,
)
from faithfulness_costs import rows as perturbation_rows  # noqa: E402
from report import _fmt_ratio, markdown, plot, text_table, update_readme  # noqa: E402


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
    log("cost over a compiled forward pass ...")
    if resnet is not None:
        x_speed = np.resize(x_res, (config.speed_batch, *x_res.shape[1:]))
        for r in bench_compiled_floor(resnet, x_speed, "ResNet50", config.repeat):
            add(r)
    for name, model, x_speed in speed_models(config):
        for r in bench_compiled_floor(model, x_speed, name, config.repeat):
            add(r)
    log("batched vs per-image ...")
    add(bench_batched(mnist, x, "MNIST GAP CNN", "cam", max(2, config.repeat - 2)))
    add(bench_batched(mnist, x, "MNIST GAP CNN", "gradcam", max(2, config.repeat - 2)))
    if resnet is not None:
        add(bench_batched(resnet, x_res, "ResNet50", "cam", max(2, config.repeat - 2)))
    log("perturbation maps vs forward pass ...")
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
    if resnet is not None:
        log("explorer, Grad-CAM mode on ResNet50 ...")
        results["explorer_gradcam"] = bench_explorer_gradcam(resnet, x_res, "ResNet50")
    log("explorer redraw ...")
    x_explorer = x_all[: config.explorer_images]
    results["redraw"] = bench_redraw(mnist, x_explorer, y_all, config.redraw_rounds)
    log(
        f"  redraw median {results['redraw']['median_ms']:.1f} ms, "
        f"p90 {results['redraw']['p90_ms']:.1f} ms"
    )
    if config.browser:
        log("explorer in JupyterLab + headless Chromium ...")
        try:
            results["browser_latency_ms"] = browser_latency.measure(log=log)
        except RuntimeError as exc:
            results["browser_latency_ms"] = None
            results["notes"].append(f"The explorer in the browser was not measured: {exc}")
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
