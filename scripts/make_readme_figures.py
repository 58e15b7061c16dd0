"""Make the README's pictures from the lessons' own code (cam_edu), into docs/images/.

    .venv/bin/python scripts/make_readme_figures.py              # the three figures
    .venv/bin/python scripts/make_readme_figures.py --lab        # + JupyterLab screenshot

Figures (the MNIST GAP CNN of lessons 1-3, the shipped checkpoint ``mnist_gap``, on the
lessons' 1,000 held-out digits of the offline MNIST subset):

- ``explorer.png`` -- the picture the explorer widget shows (``cam_explorer(...).png()``)
  for a test digit, as in notebook 03;
- ``cams_mnist.png`` -- CAMs of the predicted class on ten test digits, with the CAM
  paper's 20 %-of-max boxes;
- ``all_classes.png`` -- the ten class maps of one digit;
- ``explorer_lab.png`` (with ``--lab``) -- a screenshot of the whole explorer (controls,
  caption, picture) after running notebook 03 in JupyterLab in headless Chromium; it
  uses the harness of ``tests/test_browser.py`` (``tests/lab_harness.py``) and needs
  Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images"


def mnist_model_and_digits(n: int = 200):
    """The lessons' MNIST GAP CNN and the first ``n`` test digits, as in notebook 03."""
    from cam_edu.course.checkpoints import load_checkpoint
    from cam_edu.course.data import load_mnist

    data = load_mnist(offline=True)
    model = load_checkpoint("mnist_gap")
    return model, data, data.x_test[:n], data.y_test[:n]


def explorer_png(model, x, y, out: Path, image: int = 0) -> Path:
    """The explorer's own picture for test digit ``image`` (PNG bytes of the widget)."""
    from cam_edu.widgets import cam_explorer

    explorer = cam_explorer(model, x, y)
    explorer.image.value = image
    path = out / "explorer.png"
    path.write_bytes(explorer.png())
    return path


def cams_png(model, x, y, out: Path, n: int = 10) -> Path:
    """CAMs of the predicted class on ``n`` digits (signed, each on its own scale), with
    20 %-of-max boxes."""
    import matplotlib.pyplot as plt

    from cam_edu.cam import compute_cam
    from cam_edu.localize import bbox_from_cam
    from cam_edu.viz import plot_cam_grid, upsample

    cams, logits = compute_cam(model, x[:n])
    predicted = logits.argmax(1)
    size = x.shape[1:3]
    boxes = [bbox_from_cam(upsample(m, size), 0.2) if m.max() > 0 else None for m in cams]
    fig = plot_cam_grid(
        x[:n],
        cams,
        titles=[f"true {y[i]}, pred {predicted[i]}" for i in range(n)],
        ncols=5,
        signed=True,
        boxes=boxes,
        suptitle="CAM of the predicted class on ten MNIST test digits, with 20 %-of-max boxes",
    )
    path = out / "cams_mnist.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def all_classes_png(model, x, y, out: Path, image: int = 0) -> Path:
    """The ten class maps of one digit on one signed scale, each titled with its probability."""
    import matplotlib.pyplot as plt

    from cam_edu.cam import cam_head, class_activation_maps
    from cam_edu.viz import plot_cam_grid

    head = cam_head(model)
    digit = x[image : image + 1]
    features = np.asarray(head.feature_model(digit, training=False))
    maps = class_activation_maps(features, head.kernel)[0]  # (7, 7, 10)
    probs = np.asarray(model(digit, training=False))[0]  # the model's softmax output

    fig = plot_cam_grid(
        np.repeat(x[image : image + 1], 10, axis=0),
        np.moveaxis(maps, -1, 0),
        titles=[f"class {c}: p={probs[c]:.2f}" for c in range(10)],
        ncols=5,
        signed=True,
        scale="common",
        label="raw CAM $M_c$ (mean + $b_c$ = logit)",
        suptitle=f"The CAMs of all ten classes for one test digit (label {y[image]})",
    )
    path = out / "all_classes.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def lab_screenshot(out: Path) -> Path:
    """Run notebook 03 in JupyterLab (headless Chromium) and screenshot the explorer."""
    sys.path.insert(0, str(ROOT / "tests"))
    import lab_harness as harness

    reason = harness.missing()
    if reason:
        raise SystemExit(f"--lab needs the browser harness: {reason}")
    from playwright.sync_api import sync_playwright

    path = out / "explorer_lab.png"
    with tempfile.TemporaryDirectory() as tmp, harness.Lab(Path(tmp)) as lab:
        lab.clear_outputs(harness.NOTEBOOK)
        with sync_playwright() as pw:
            browser = harness.launch_chromium(pw, harness.find_chromium())
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                harness.run_all(page, lab, harness.NOTEBOOK)
                picture = harness.explorer_picture(page)
                harness.wait_until_sharp(page, picture)
                harness.stable_pixels(picture)
                widget = page.locator(".jp-OutputArea-output:has(canvas.cam-picture)")
                widget.screenshot(path=str(path))
            finally:
                browser.close()
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (docs/images)")
    parser.add_argument("--lab", action="store_true", help="also screenshot JupyterLab")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    model, data, x, y = mnist_model_and_digits()
    written = [
        explorer_png(model, x, y, args.out),
        cams_png(model, x, y, args.out),
        all_classes_png(model, x, y, args.out),
    ]
    if args.lab:
        written.append(lab_screenshot(args.out))
    print(f"data: {data.source} ({len(data.y_train):,} training digits)")
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
