"""End-to-end latency of the explorer as a student meets it: JupyterLab in headless Chromium.

Each sample is timed inside the page, from the browser's input event (the key press on a
slider, the choice in the class menu) to the new picture on screen: the explorer's
``<img>`` gets its new ``src``, the browser decodes it (``img.decode()``), and the next
frame is painted (a ``requestAnimationFrame`` callback, then a task after it). In between:
the widget's message to the kernel, the kernel's redraw, and the new PNG's way back.

Two explorers, built by the code of their lessons in a notebook of their own:

- ``lesson 3 CAM``: ``cam_explorer(model, x_test[:200], y_test[:200])`` on the trained
  MNIST GAP CNN (notebook 03); controls ``alpha``, ``class`` and ``image`` (each step a
  new image).
- ``lesson 6 Grad-CAM``: ``cam_explorer(flatten_model, x_test[:50], y_test[:50],
  method="gradcam", layer="conv2")`` on the trained Flatten CNN (notebook 06); controls
  ``alpha``, ``class (seen)`` and ``image (seen)`` (maps computed before) and
  ``image (first view)`` (each step an image not seen before: one ``grad_cam`` call).

Every control gets ``warmup`` changes first, then ``n`` timed ones, each after the page and
the kernel went quiet. :func:`measure` returns ``{explorer: {control: {"median", "p90",
"n"}}}`` in milliseconds; ``benchmarks/run_benchmarks.py`` stores it in ``results.json``
as ``browser_latency_ms``. Run on its own::

    .venv/bin/python benchmarks/browser_latency.py                  # this checkout
    .venv/bin/python benchmarks/browser_latency.py --before OLD     # + another checkout

``--before OLD`` measures the ``cam_edu`` of another checkout (a folder with ``cam_edu/``)
first, in the same run, and prints both tables. Needs Debian's ``chromium`` and the dev
extras (see ``tests/lab_harness.py``); :func:`measure` raises ``RuntimeError`` without them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import lab_harness as lab_harness  # noqa: E402  (lives in tests/, shared with the browser test)

TARGETS_MS = {"CAM median": 60.0, "CAM p90": 100.0, "Grad-CAM first view p90": 150.0}
VIEWPORT = {"width": 1400, "height": 1000}

_MNIST = """\
import logging

import tensorflow as tf

from cam_edu.course.data import load_mnist
from cam_edu.course.models import build_flatten_cnn, mnist_gap_cnn, seed_everything, train
from cam_edu.widgets import cam_explorer

seed_everything(0)
tf.get_logger().setLevel(logging.ERROR)
data = load_mnist()
"""

LESSONS = {
    "lesson 3 CAM": [
        _MNIST,
        "model = mnist_gap_cnn(data)",
        "explorer = cam_explorer(model, data.x_test[:200], data.y_test[:200])\nexplorer",
    ],
    "lesson 6 Grad-CAM": [
        _MNIST,
        "flatten_model = build_flatten_cnn(seed=0)\n"
        "train(flatten_model, data.x_train, data.y_train, epochs=5, seed=0, verbose=0)",
        "cam_explorer(flatten_model, data.x_test[:50], data.y_test[:50], method='gradcam', "
        "layer='conv2')",
    ],
}

# In the page: stamp the first input event after arming; for every new picture (the
# explorer's canvas counts them in its data-frame attribute; before it, an <img> got a new
# src, then decoded), the time from that stamp to the first frame painted after it.
INSTRUMENT = """
picture => {
  const lat = (window.__camLatency = {t0: null, samples: [], updates: 0});
  const stamp = () => { if (lat.t0 === null) lat.t0 = performance.now(); };
  for (const type of ["keydown", "input", "change"]) document.addEventListener(type, stamp, true);
  new MutationObserver(() => {
    const t0 = lat.t0;
    lat.updates += 1;
    const ready = picture.tagName === "IMG" ? picture.decode().catch(() => null) : null;
    Promise.resolve(ready).then(() => requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => lat.samples.push(t0 === null ? NaN : performance.now() - t0);
      channel.port2.postMessage(null);
    }));
  }).observe(picture, {attributes: true, attributeFilter: ["src", "data-frame"]});
}
"""
ARM = "() => { window.__camLatency.t0 = null; return window.__camLatency.samples.length; }"


class _Page:
    """The explorer's controls on one page, and one timed change of a control."""

    def __init__(self, page, settle_ms: int = 250):
        self.page, self.settle_ms = page, settle_ms
        picture = lab_harness.explorer_picture(page)
        lab_harness.wait_until_sharp(page, picture)
        lab_harness.stable_pixels(picture)
        picture.evaluate(INSTRUMENT)
        self.handles = {
            name: lab_harness.control(page, "slider", name).locator(".noUi-handle")
            for name in ("image", "alpha")
        }
        self.menu = lab_harness.control(page, "dropdown", "class").locator("select")

    def key(self, slider: str, key: str):
        def act():
            self.handles[slider].focus()
            self.page.keyboard.press(key)

        return act

    def choose(self, index: int):
        return lambda: self.menu.select_option(index=index)

    def predicted_class(self) -> None:
        """Back to each image's predicted class, as the explorer starts (untimed)."""
        follow = lab_harness.control(self.page, "checkbox", "follow the prediction")
        if follow.count():
            action = lambda: follow.locator("input").check()  # noqa: E731
        else:  # the explorer before the "follow the prediction" box: the menu's first entry
            action = self.choose(0)
        self.timed(action, timeout_ms=10_000)

    def timed(self, action, timeout_ms: float = 60_000) -> float | None:
        """Run ``action``; the ms from its input event to the new picture painted (or None)."""
        n = self.page.evaluate(ARM)
        action()
        try:
            self.page.wait_for_function(
                "n => window.__camLatency.samples.length > n", arg=n, timeout=timeout_ms
            )
        except Exception:  # playwright's TimeoutError: the action changed nothing
            return None
        self.page.wait_for_timeout(self.settle_ms)  # the kernel and the page go quiet
        return self.page.evaluate("n => window.__camLatency.samples[n]", n)

    def series(self, actions, warmup: int, n: int) -> list[float]:
        """``warmup`` untimed then ``n`` timed samples of ``actions`` (cycled)."""
        samples = []
        for k in range(warmup + n):
            ms = self.timed(actions[k % len(actions)], timeout_ms=60_000)
            if k >= warmup:
                if ms is None or not np.isfinite(ms):
                    raise RuntimeError(f"change {k - warmup} showed no new picture")
                samples.append(ms)
        return samples


def _summary(samples: list[float]) -> dict:
    a = np.asarray(samples, float)
    return {
        "median": round(float(np.median(a)), 1),
        "p90": round(float(np.percentile(a, 90)), 1),
        "n": int(a.size),
    }


def _plan(page: _Page, lesson: str) -> list:
    """The timed series of one lesson: ``(control, set-up or None, actions to cycle)``."""
    alpha = [page.key("alpha", "ArrowRight"), page.key("alpha", "ArrowLeft")]
    classes = [page.choose(2), page.choose(3)]  # the 3rd and 4th entries of the class menu
    nxt, prev = page.key("image", "ArrowRight"), page.key("image", "ArrowLeft")
    if lesson.endswith("Grad-CAM"):
        return [
            ("alpha", None, alpha),
            ("class (seen)", None, classes),  # their maps are computed in the warm-up
            ("image (seen)", page.predicted_class, [nxt, prev]),
            ("image (first view)", None, [nxt]),  # each step an image not seen before
        ]
    return [
        ("alpha", None, alpha),
        ("class", None, classes),
        ("image", page.predicted_class, [nxt]),  # each step a new image
    ]


def _measure_pages(pages: dict, lesson: str, n: int, warmup: int) -> dict:
    """Run the lesson's series on every page in lockstep, alternating which page goes first.

    Returns ``{label: {control: {median, p90, n}}}``; changes made alternately on the pages
    (one kernel each) meet the same load of the machine.
    """
    plans = {label: _plan(page, lesson) for label, page in pages.items()}
    samples = {label: {} for label in pages}
    labels = list(pages)
    for step in range(len(next(iter(plans.values())))):
        for label in labels:
            control, setup, actions = plans[label][step]
            if setup:
                setup()
            samples[label][control] = []
        for k in range(warmup + n):
            for label in labels if k % 2 == 0 else labels[::-1]:
                page = pages[label]
                control, _, actions = plans[label][step]
                page.page.bring_to_front()
                ms = page.timed(actions[k % len(actions)])
                if k < warmup:
                    continue
                if ms is None or not np.isfinite(ms):
                    raise RuntimeError(f"{label}, {lesson}, {control}: no new picture")
                samples[label][control].append(ms)
    return {
        label: {control: _summary(v) for control, v in series.items()}
        for label, series in samples.items()
    }


def compare(
    checkouts: dict,
    n: int = 30,
    warmup: int = 3,
    lessons=tuple(LESSONS),
    device_scale_factor: float = 1,
    log=print,
) -> dict:
    """:func:`measure` for several checkouts at once: ``{label: {lesson: {control: ...}}}``.

    ``checkouts`` maps a label to a folder holding a ``cam_edu/`` package. Each lesson's
    notebook runs once per checkout (its first cell puts that folder first on ``sys.path``),
    each in its own page and kernel, and the changes alternate between the pages.
    """
    reason = lab_harness.missing()
    if reason:
        raise RuntimeError(reason)
    from playwright.sync_api import sync_playwright

    env = {"CAM_EDU_CACHE": os.environ.get("CAM_EDU_CACHE", str(ROOT / "data" / "cache"))}
    for path in checkouts.values():
        lab_harness.prepare_model_cache(env={**env, "PYTHONPATH": str(path)})
    results = {label: {} for label in checkouts}
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as empty:
        with lab_harness.Lab(Path(tmp), notebooks=Path(empty), env=env) as lab:
            with sync_playwright() as pw:
                browser = lab_harness.launch_chromium(pw, lab_harness.find_chromium())
                try:
                    for lesson in lessons:
                        pages = {}
                        for k, (label, path) in enumerate(checkouts.items()):
                            name = f"{lesson.replace(' ', '_')}_{k}.ipynb"
                            first = f"import sys\n\nsys.path.insert(0, {str(path)!r})"
                            lab.write_notebook(name, [first, *LESSONS[lesson]])
                            page = browser.new_page(
                                viewport=VIEWPORT, device_scale_factor=device_scale_factor
                            )
                            t0 = time.monotonic()
                            lab_harness.run_all(page, lab, name)
                            log(f"  {lesson} ({label}): ran in {time.monotonic() - t0:.0f} s")
                            pages[label] = _Page(page)
                        measured = _measure_pages(pages, lesson, n, warmup)
                        for label, controls in measured.items():
                            results[label][lesson] = controls
                            for control, s in controls.items():
                                log(
                                    f"    {label:8s} {control:20s} median {s['median']:6.1f}  "
                                    f"p90 {s['p90']:6.1f}"
                                )
                        for page in pages.values():
                            page.page.close()
                        lab.shutdown_kernels()
                finally:
                    browser.close()
    return results


def measure(n: int = 30, warmup: int = 3, log=print, **kwargs) -> dict:
    """Latency of each lesson's explorer, per control: ``{lesson: {control: {median, p90, n}}}``.

    Args:
        n: timed changes per control (after ``warmup`` untimed ones).
        kwargs: ``lessons`` (which of :data:`LESSONS`), ``device_scale_factor`` (the
            page's ``devicePixelRatio``), as for :func:`compare`.

    Raises:
        RuntimeError: without Chromium, playwright or JupyterLab (the message says how to
            install them), or when a change of a control shows no new picture.
    """
    return compare({"this": ROOT}, n, warmup, log=log, **kwargs)["this"]


def table(results: dict) -> str:
    """The results as a plain-text table."""
    lines = [f"{'explorer':20s} {'control':20s} {'median':>7s} {'p90':>7s} {'n':>4s}"]
    for lesson, controls in results.items():
        for control, s in controls.items():
            lines.append(
                f"{lesson:20s} {control:20s} {s['median']:7.1f} {s['p90']:7.1f} {s['n']:4d}"
            )
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """One README sentence: median / p90 per explorer and control."""
    parts = []
    for lesson, controls in results.items():
        cells = ", ".join(
            f"{control} **{s['median']:.0f}** / {s['p90']:.0f}" for control, s in controls.items()
        )
        parts.append(f"{lesson}: {cells}")
    n = next(iter(next(iter(results.values())).values()))["n"]
    return (
        "End to end in JupyterLab with headless Chromium (from the browser's input event to "
        f"the new picture painted; {n} changes per control after warm-up; median / 90th "
        "percentile in ms): " + "; ".join(parts) + "."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=30, help="timed changes per control")
    parser.add_argument("--warmup", type=int, default=3, help="untimed changes first")
    parser.add_argument("--before", type=Path, help="another checkout, measured alongside")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--scale", type=float, default=1, help="devicePixelRatio of the page")
    args = parser.parse_args(argv)
    checkouts = {"before": args.before, "after": ROOT} if args.before else {"this": ROOT}
    out = compare(checkouts, args.n, args.warmup, device_scale_factor=args.scale)
    for label, results in out.items():
        print(f"\n{label} ({checkouts[label]})\n{table(results)}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
