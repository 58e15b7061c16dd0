"""End to end: notebook 03's explorer in a real JupyterLab, driven by a real headless Chromium.

The test first trains (or loads) the notebook's cached model in a subprocess, so the timed
notebook run only loads it. It copies ``notebooks/`` to a temporary folder (outputs cleared,
so every widget on the page comes from this run's kernel), starts JupyterLab on 127.0.0.1
with a free port and a random token, opens ``03_cam_explorer_mnist.ipynb``, runs all cells
from the Run menu, and moves the explorer's controls with the mouse and keyboard. It compares
screenshots of the explorer's picture pixel by pixel: a no-op must leave it unchanged,
choosing another class must change the heatmap, and one ArrowRight on the alpha slider
must change the overlay but not the input image or the raw map. Teardown shuts the server
and its kernel down. The notebook in the repository is never written.

Needs Debian's ``chromium`` (``sudo apt-get install -y chromium``) and the ``playwright``
Python package (a dev dependency); Playwright's own browser download is not used.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from browser_support import REPO, Lab, launch_chromium, marked_pids, require_chromium

NOTEBOOK = "03_cam_explorer_mnist.ipynb"

# ----------------------------------------------------------------------------- the page


def _accept_dialogs(page) -> None:
    """Accept JupyterLab's 'Select Kernel' dialog, which sometimes appears on opening."""
    button = page.locator(".jp-Dialog .jp-mod-accept")
    if button.count():
        button.first.click()


def _prompts(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-Notebook .jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())"
    )


def _click_run_all(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def run_all(page, lab: Lab, name: str, timeout: float = 400) -> None:
    """Open notebook ``name``, run all cells from the Run menu, wait until all have run.

    The model cache is prepared beforehand (:func:`prepare_model_cache`), so the
    notebook only loads its model; the limit leaves room for a slow CI machine anyway.
    """
    page.goto(lab.url(f"lab/tree/{name}"))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=60_000)
    deadline = time.monotonic() + 60
    status = page.locator("#jp-main-statusbar")
    while "| Idle" not in status.inner_text():  # the kernel has started
        _accept_dialogs(page)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the kernel did not start; status bar: {status.inner_text()!r}")
        page.wait_for_timeout(300)
    _click_run_all(page)
    deadline, started = time.monotonic() + timeout, time.monotonic()
    while True:
        _accept_dialogs(page)
        prompts = _prompts(page)
        if prompts and all(p.strip("[]:").strip().isdigit() for p in prompts):
            return
        if all(p == "[ ]:" for p in prompts) and time.monotonic() - started > 15:
            _click_run_all(page)  # the first click came before the session was ready
            started = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the notebook did not finish in {timeout:.0f} s; prompts {prompts}")
        page.wait_for_timeout(500)


def explorer_picture(page):
    """The explorer's picture (an ipywidgets Image) on the page."""
    picture = page.locator(".jp-OutputArea-output img.widget-image")
    picture.first.wait_for(state="visible", timeout=30_000)
    assert picture.count() == 1, f"expected one explorer picture, found {picture.count()}"
    return picture.first


def pixels(element) -> np.ndarray:
    """A screenshot of ``element`` as an RGB array ``(H, W, 3)``."""
    import PIL.Image

    return np.asarray(PIL.Image.open(io.BytesIO(element.screenshot())).convert("RGB"))


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask ``(H, W)`` of the pixels that differ in any channel."""
    assert a.shape == b.shape, f"screenshots differ in size: {a.shape} vs {b.shape}"
    return np.any(a != b, axis=-1)


def stable_pixels(element, timeout: float = 20) -> np.ndarray:
    """Screenshots of ``element`` until two consecutive ones are identical; return it.

    The first picture may still be loading or being re-rendered when it becomes visible;
    a baseline taken then would make every later comparison meaningless.
    """
    deadline = time.monotonic() + timeout
    previous = pixels(element)
    while True:
        time.sleep(0.5)
        now = pixels(element)
        if now.shape == previous.shape and not changed(previous, now).any():
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"the explorer's picture kept changing for {timeout:.0f} s")
        previous = now


def wait_for_change(element, before: np.ndarray, timeout: float = 20) -> np.ndarray:
    """Screenshots of ``element`` until one differs from ``before``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        now = pixels(element)
        if now.shape != before.shape or changed(before, now).any():
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"the explorer's picture did not change within {timeout:.0f} s")
        time.sleep(0.25)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- the test


PREPARE = """
from cam_edu.course.data import load_mnist
from cam_edu.course.models import mnist_gap_cnn, seed_everything

seed_everything(0)
mnist_gap_cnn(load_mnist())
"""


def prepare_model_cache(timeout: float = 1200) -> None:
    """Train (or just load) notebook 03's cached model, as its kernel will, before the browser.

    Runs the notebook's own two lines in a subprocess with the kernel's environment
    (``CAM_EDU_OFFLINE=1``, the same ``CAM_EDU_CACHE``), so the timed notebook run only
    loads the weights. A failure reports the exit code and the end of stderr.
    """
    env = dict(os.environ, CAM_EDU_OFFLINE="1")
    try:
        result = subprocess.run(
            [sys.executable, "-c", PREPARE],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"training notebook 03's model took more than {timeout:.0f} s")
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-30:])
        pytest.fail(
            f"preparing notebook 03's model cache failed with exit code {result.returncode}; "
            f"stderr ends:\n{tail}"
        )


@pytest.fixture(scope="module")
def chromium() -> str:
    executable = require_chromium()
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed (dev extras).")
    return executable


def test_explorer_in_jupyterlab(chromium, tmp_path):
    """Run notebook 03 in JupyterLab; the explorer's picture follows its controls."""
    from playwright.sync_api import sync_playwright

    original = REPO / "notebooks" / NOTEBOOK
    digest = _sha256(original)
    prepare_model_cache()
    with Lab(tmp_path) as lab, sync_playwright() as pw:
        lab.clear_outputs(NOTEBOOK)
        browser = launch_chromium(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            run_all(page, lab, NOTEBOOK)
            picture = explorer_picture(page)
            caption = page.locator(".jp-OutputArea-output .widget-html-content", has_text="Showing")
            class_select = page.locator(".widget-dropdown", has_text="class").locator("select")
            alpha_handle = page.locator(".widget-slider", has_text="alpha").locator(".noUi-handle")

            first = stable_pixels(picture)
            h, w = first.shape[:2]
            assert h > 100 and w > 300, f"the explorer's picture is too small: {first.shape}"
            assert first.std() > 10, "the explorer's picture is blank"
            left, right = slice(0, int(0.28 * w)), slice(int(0.72 * w), w)

            # No-ops: time passing, a click on the caption, re-selecting the shown class.
            page.wait_for_timeout(1000)
            caption.click()
            class_select.select_option(index=0)
            page.wait_for_timeout(1500)
            assert not changed(first, pixels(picture)).any(), "a no-op changed the picture"

            # Another class: the maps change, the input image does not.
            shown = class_select.evaluate("s => s.options[2].textContent").split()[0]
            class_select.select_option(index=2)
            other = wait_for_change(picture, first)
            diff = changed(first, other)
            assert diff.mean() > 0.01, f"only {diff.mean():.2%} of the pixels changed"
            assert not diff[:, left].any(), "the input image changed with the class"
            assert diff[:, right].any(), "the raw map did not change with the class"
            page.wait_for_function(
                "([el, c]) => el.textContent.includes('CAM of ' + c)",
                arg=[caption.element_handle(), shown],
                timeout=10_000,
            )

            # Alpha up by keyboard (one noUiSlider key step): the overlay changes, nothing else.
            alpha_handle.focus()
            page.keyboard.press("ArrowRight")
            brighter = wait_for_change(picture, other)
            diff = changed(other, brighter)
            assert diff.any()
            assert not diff[:, left].any(), "the input image changed with alpha"
            assert not diff[:, right].any(), "the raw map changed with alpha"
            readout = page.locator(".widget-slider", has_text="alpha").locator(".widget-readout")
            assert 0.5 < float(readout.inner_text()) <= 0.6, readout.inner_text()
        finally:
            browser.close()
    assert _sha256(original) == digest, f"{original} was modified"
    assert not marked_pids(lab.marker), "JupyterLab or its kernel is still running"
