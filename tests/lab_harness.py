"""JupyterLab + headless Chromium, for the real-browser test, the latency benchmark and docs.

One place for the start-up code that ``tests/test_browser.py``,
``benchmarks/browser_latency.py`` and ``scripts/make_readme_figures.py --lab`` share:
find Debian's Chromium, start JupyterLab on 127.0.0.1 on a temporary copy of a notebook
folder (free port, random token, its own settings, runtime and data folders), open a
notebook, run all its cells from the Run menu, find the explorer on the page, compare
screenshots, and shut everything down again (server and kernels, by process id).

Scripts outside ``tests/`` import it after putting this folder on ``sys.path``. It needs
Debian's ``chromium`` and the ``playwright`` Python package (a dev dependency);
Playwright's own browser download is not used.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from browser_support import (  # noqa: F401 - re-exported for the tests and scripts
    INSTALL_HINT,
    REPO,
    Lab,
    find_chromium,
    launch_chromium,
    marked_pids,
)

NOTEBOOK = "03_cam_explorer_mnist.ipynb"


def missing() -> str | None:
    """Why the browser harness cannot run here (``None`` if it can), with how to fix it."""
    try:
        import jupyterlab  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed. {INSTALL_HINT}"
    if find_chromium() is None:
        return f"Chromium not found. {INSTALL_HINT}"
    return None


# ----------------------------------------------------------------------------- JupyterLab


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

    Prepare slow set-up beforehand (e.g. :func:`prepare_model_cache`), so that the
    notebook only loads its model; the limit leaves room for a slow CI machine anyway.
    """
    page.goto(lab.url(f"lab/workspaces/{Path(name).stem}/tree/{name}"))  # its own workspace
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
    stopped_since = None
    while True:
        _accept_dialogs(page)
        prompts = _prompts(page)
        done = [p.strip("[]:").strip().isdigit() for p in prompts]
        if prompts and all(done):
            return
        if all(p == "[ ]:" for p in prompts) and time.monotonic() - started > 15:
            _click_run_all(page)  # the first click came before the session was ready
            started = time.monotonic()
        # Run All stops at a cell that raised: some cells ran, none runs, the rest never will.
        stopped = any(done) and "[*]:" not in prompts and "| Idle" in status.inner_text()
        stopped_since = (stopped_since or time.monotonic()) if stopped else None
        if stopped_since and time.monotonic() - stopped_since > 5:
            errors = page.locator(".jp-OutputArea-output[data-mime-type*='stderr']")
            text = errors.last.inner_text()[-3000:] if errors.count() else "(no error output)"
            raise RuntimeError(f"running {name} stopped at a cell; prompts {prompts}; {text}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the notebook did not finish in {timeout:.0f} s; prompts {prompts}")
        page.wait_for_timeout(500)


PICTURE = ".jp-OutputArea-output :is(canvas.cam-picture, img.widget-image)"


def explorer_picture(page):
    """The explorer's picture on the page (its canvas; an ``<img>`` in versions before it)."""
    picture = page.locator(PICTURE)
    picture.first.wait_for(state="visible", timeout=30_000)
    assert picture.count() == 1, f"expected one explorer picture, found {picture.count()}"
    return picture.first


def wait_until_sharp(page, picture, timeout: float = 20) -> None:
    """Wait until the explorer's canvas has as many pixels as it is shown at (× pixel ratio).

    The kernel first renders at a default width, then again at the width the page reports.
    """
    page.wait_for_function(
        """c => c.tagName !== "CANVAS" || (c.getBoundingClientRect().width > 0
             && c.width === Math.round(c.getBoundingClientRect().width * devicePixelRatio))""",
        arg=picture.element_handle(),
        timeout=timeout * 1000,
    )


def control(page, kind: str, label: str):
    """The explorer's control labelled ``label``: a ``"slider"`` or a ``"dropdown"``."""
    return page.locator(f".widget-{kind}", has_text=label)


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


# ----------------------------------------------------------------------------- the model

PREPARE = """
from cam_edu.course.data import load_mnist
from cam_edu.course.models import mnist_gap_cnn, seed_everything

seed_everything(0)
mnist_gap_cnn(load_mnist())
"""


def prepare_model_cache(timeout: float = 1200, env=None) -> None:
    """Train (or just load) notebook 03's cached model, as its kernel will, before the browser.

    Runs the notebook's own two lines in a subprocess with the kernel's environment
    (``CAM_EDU_OFFLINE=1``, the same ``CAM_EDU_CACHE``, plus ``env``), so a timed notebook
    run only loads the weights. Raises ``RuntimeError`` with the exit code and the end of
    stderr if it fails or takes longer than ``timeout`` seconds.
    """
    full_env = dict(os.environ, CAM_EDU_OFFLINE="1", **(env or {}))
    try:
        result = subprocess.run(
            [sys.executable, "-c", PREPARE],
            cwd=REPO,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"training notebook 03's model took more than {timeout:.0f} s") from None
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-30:])
        raise RuntimeError(
            f"preparing notebook 03's model cache failed with exit code {result.returncode}; "
            f"stderr ends:\n{tail}"
        )
