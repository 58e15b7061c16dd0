"""End to end: notebook 03's explorer in a real JupyterLab, driven by a real headless Chromium.

The test first trains (or loads) the notebook's cached model in a subprocess, so the timed
notebook run only loads it. It copies ``notebooks/`` to a temporary folder (outputs cleared,
so every widget on the page comes from this run's kernel), starts JupyterLab on 127.0.0.1
with a free port and a random token, opens ``03_cam_explorer_mnist.ipynb`` in a page with
a pixel ratio of 2 (a high-density screen), runs all cells from the Run menu, and moves the
explorer's controls with the mouse and keyboard. It checks that the picture is rendered at
the size it is shown times the pixel ratio (not stretched), and compares screenshots of it
pixel by pixel: a no-op must leave it unchanged, choosing another class must change the
heatmap, one ArrowLeft on the alpha slider must change the overlay but not the input image
or the raw map, another image keeps the chosen class, and another method repaints the
colorbar (Grad-CAM's min-max scale, not CAM's diverging one). In narrow windows (1100 and
800 px, the file browser open) the controls wrap under the picture, which keeps 600 px.
Teardown shuts the server and its kernel down. The notebook in the repository is never
written.

The start-up code is shared with the latency benchmark in ``tests/lab_harness.py``. Needs
Debian's ``chromium`` (``sudo apt-get install -y chromium``) and the ``playwright`` Python
package (a dev dependency); Playwright's own browser download is not used.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from lab_harness import (
    NOTEBOOK,
    REPO,
    Lab,
    changed,
    control,
    explorer_picture,
    launch_chromium,
    marked_pids,
    missing,
    pixels,
    prepare_model_cache,
    run_all,
    stable_pixels,
    wait_for_change,
    wait_until_sharp,
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def chromium() -> None:
    reason = missing()
    if reason:
        pytest.skip(f"the real-browser test is skipped: {reason}")


def test_explorer_in_jupyterlab(chromium, tmp_path):
    """Run notebook 03 in JupyterLab; the explorer's picture follows its controls."""
    from lab_harness import find_chromium
    from playwright.sync_api import sync_playwright

    original = REPO / "notebooks" / NOTEBOOK
    digest = _sha256(original)
    prepare_model_cache()
    with Lab(tmp_path) as lab, sync_playwright() as pw:
        lab.clear_outputs(NOTEBOOK)
        browser = launch_chromium(pw, find_chromium())
        try:
            # tall enough that focusing a control scrolls nothing: the pixels are compared
            page = browser.new_page(viewport={"width": 1400, "height": 1300}, device_scale_factor=2)
            run_all(page, lab, NOTEBOOK)
            picture = explorer_picture(page)
            caption = page.locator(".jp-OutputArea-output .widget-html-content", has_text="Showing")
            class_select = control(page, "dropdown", "class").locator("select")
            method_select = control(page, "dropdown", "method").locator("select")
            follow = control(page, "checkbox", "follow the prediction").locator("input")
            alpha_handle = control(page, "slider", "alpha").locator(".noUi-handle")
            image_handle = control(page, "slider", "image").locator(".noUi-handle")

            # Sharp: the kernel renders at the width the page shows, times the pixel ratio.
            wait_until_sharp(page, picture)
            first = stable_pixels(picture)
            h, w = first.shape[:2]
            assert h > 200 and w >= 1200, f"the explorer's picture is too small: {first.shape}"
            assert first.std() > 10, "the explorer's picture is blank"
            css, px = picture.evaluate("c => [c.getBoundingClientRect().width, c.width]")
            assert css >= 600, f"shown {css} CSS px wide, not at the width the page has"
            assert px == round(2 * css), f"{px} pixels shown {css} CSS px wide at pixel ratio 2"
            left, right = slice(0, int(0.25 * w)), slice(int(0.72 * w), w)  # input | raw, colorbar

            # No-ops: time passing, a click on the caption, re-selecting the shown class.
            page.wait_for_timeout(1000)
            caption.click()
            shown_index = class_select.evaluate("s => s.selectedIndex")
            class_select.select_option(index=shown_index)
            page.wait_for_timeout(1500)
            assert not changed(first, pixels(picture)).any(), "a no-op changed the picture"
            assert follow.is_checked()

            # Another class: the maps change, the input image does not; follow is unticked.
            other_index = (shown_index + 2) % class_select.evaluate("s => s.options.length")
            shown = class_select.evaluate(f"s => s.options[{other_index}].textContent").split()[0]
            class_select.select_option(index=other_index)
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
            assert not follow.is_checked(), "choosing a class did not untick 'follow'"

            # Alpha down by keyboard (one noUiSlider key step from the opaque map over a
            # digit's outline): the grey digit shows through the overlay, nothing else changes.
            alpha_handle.focus()
            page.keyboard.press("ArrowLeft")
            brighter = wait_for_change(picture, other)
            diff = changed(other, brighter)
            assert diff.any()
            assert not diff[:, left].any(), "the input image changed with alpha"
            assert not diff[:, right].any(), "the raw map changed with alpha"
            readout = control(page, "slider", "alpha").locator(".widget-readout")
            assert 0.9 <= float(readout.inner_text()) < 1.0, readout.inner_text()

            # Another image keeps the chosen class.
            image_handle.focus()
            page.keyboard.press("ArrowRight")
            next_image = wait_for_change(picture, brighter)
            page.wait_for_function(
                "([el, c]) => el.textContent.startsWith('Image 1:') "
                "&& el.textContent.includes('CAM of ' + c)",
                arg=[caption.element_handle(), shown],
                timeout=10_000,
            )
            assert class_select.evaluate("s => s.options[s.selectedIndex].textContent").startswith(
                shown
            )

            # Another method: Grad-CAM's min-max scale repaints the colorbar too.
            method_select.select_option(label="Grad-CAM")
            gradcam = wait_for_change(picture, next_image)
            diff = changed(next_image, gradcam)
            assert diff[:, int(0.9 * w) :].any(), "the colorbar did not follow the method"
            assert not diff[:, left].any(), "the input image changed with the method"

            # Narrow windows, the file browser open: the controls wrap under the picture,
            # which keeps 600 px (the output scrolls sideways if the notebook is narrower).
            for width in (1100, 800):
                page.set_viewport_size({"width": width, "height": 1000})
                if not page.locator("#filebrowser").is_visible():
                    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="filebrowser"]').click()
                page.locator("#filebrowser").wait_for(state="visible")
                page.wait_for_timeout(500)
                wait_until_sharp(page, picture)
                shown = picture.bounding_box()
                below = control(page, "slider", "threshold").bounding_box()
                assert below["y"] >= shown["y"] + shown["height"] - 1, (
                    f"at {width} px the controls are not under the picture: {shown}, {below}"
                )
                assert shown["width"] >= 599, f"at {width} px the picture is {shown['width']} px"
                overflow, reach = picture.evaluate(
                    "c => { const row = c.closest('.widget-box');"
                    " return [getComputedStyle(row).overflowX, row.scrollWidth]; }"
                )
                assert overflow == "auto" and reach >= 600, "a narrow notebook cannot scroll to it"
        finally:
            browser.close()
    assert _sha256(original) == digest, f"{original} was modified"
    assert not marked_pids(lab.marker), "JupyterLab or its kernel is still running"
