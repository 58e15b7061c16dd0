"""The course website, the static slides and RISE, in a real headless Chromium.

The website (built once per session into a temporary folder, with its slide decks) is
served on 127.0.0.1. Every request that would leave 127.0.0.1 is blocked and recorded,
and must not happen; neither may a console error. The tests follow a link from the home
page to every lesson, crawl every page and check every ``href`` and ``src`` (files exist,
anchors exist, images decoded), check that MathJax renders and the search finds a word;
step through every slide of lesson 1's deck with the keyboard, checking the slide counter
and the speaker notes; and open a lesson with RISE in JupyterLab.

Screenshots of a slide and of a lesson page are written to a temporary folder, or, with
``CAM_EDU_UPDATE_FIGURES=1``, to ``docs/images/`` for the README.
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
from browser_support import REPO, Lab, launch_chromium, require_chromium, serve

from cam_edu.teaching import notebooks as nbs

LESSONS = nbs.lesson_paths()
DECK = LESSONS[0]
# nbconvert's deck loads reveal.js with require.js (AMD), so there is no global ``Reveal``.
REVEAL = "require('reveal.js/dist/reveal.js')"
COUNTER = "document.querySelector('.slide-number').textContent.replace(/\\s+/g, '')"


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


def _figures(tmp_path: Path) -> Path:
    return REPO / "docs" / "images" if os.environ.get("CAM_EDU_UPDATE_FIGURES") else tmp_path


def _check_screenshot(path: Path) -> None:
    import PIL.Image

    pixels = np.asarray(PIL.Image.open(path).convert("L"))
    assert pixels.shape[0] > 300 and pixels.std() > 10, f"{path} is blank"


class Watched:
    """A page whose remote requests are blocked and recorded, and whose errors are kept."""

    def __init__(self, browser, base: str):
        self.remote: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.page.url}: {e}"))
        self.base = base

    def _console(self, message) -> None:
        # Chromium asks every server for /favicon.ico by itself; no page links to it.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            self.errors.append(f"{self.page.url}: {message.text}")

    def _route(self, route) -> None:
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.remote.append(route.request.url)
            route.abort()

    def assert_clean(self) -> None:
        assert self.remote == [], f"requests that would need a network: {self.remote}"
        assert self.errors == [], f"console errors: {self.errors}"


REFERENCES = """() => {
  const refs = [];
  for (const el of document.querySelectorAll('[href], [src]')) {
    for (const name of ['href', 'src']) {
      const value = el.getAttribute(name);
      if (value) refs.push([el.tagName, new URL(value, document.baseURI).href]);
    }
  }
  const ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id);
  const broken = Array.from(document.images)
    .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
  return {refs, ids, broken};
}"""


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_site_links_images_search_and_math(built_site, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    with serve(built_site) as base, sync_playwright() as pw:
        browser = launch_chromium(pw, chromium)
        try:
            w = Watched(browser, base)
            page = w.page
            # From the home page, follow the link to every lesson.
            for path in LESSONS:
                page.goto(f"{base}/index.html")
                page.locator(f'article a[href="lessons/{path.stem}.html"]').first.click()
                page.wait_for_load_state("load")
                number = int(path.name[:2])
                assert page.locator("h1").first.inner_text().startswith(f"Lesson {number}")

            # Crawl every page of the site; check every href and src.
            todo, seen, anchors, ids, checked = [f"{base}/index.html"], set(), [], {}, {}
            external = set()
            while todo:
                url = todo.pop()
                if url in seen:
                    continue
                seen.add(url)
                response = page.goto(url)
                assert response is not None and response.ok, f"{url}: {response}"
                page.wait_for_load_state("load")
                found = page.evaluate(REFERENCES)
                assert found["broken"] == [], f"{url}: images that did not load {found['broken']}"
                ids[url] = set(found["ids"])
                for _, ref in found["refs"]:
                    target, _, fragment = ref.partition("#")
                    if not target.startswith(base):
                        external.add(target)
                        continue
                    if fragment:
                        anchors.append((url, target, fragment))
                    if target.endswith(".html") and "/slides/" not in target:
                        todo.append(target)
                    elif target not in checked:
                        checked[target] = _status(target)
            bad = {url: code for url, code in checked.items() if code != 200}
            assert bad == {}, f"broken links: {bad}"
            missing = [(u, t, f) for u, t, f in anchors if t in ids and f not in ids[t]]
            assert missing == [], f"links to anchors that do not exist: {missing[:10]}"
            pages = {u.removeprefix(base + "/") for u in seen}
            for path in LESSONS:
                assert f"lessons/{path.stem}.html" in pages
            for path in nbs.exercise_paths():
                assert f"exercises/{path.stem}.html" in pages
            assert {"benchmarks.html", "instructor.html"} <= pages
            assert all(u.startswith(("http://", "https://", "mailto:")) for u in external)

            # MathJax (local copy) typesets the formulas of lesson 2.
            page.goto(f"{base}/lessons/02_gap_vectorized_mnist.html")
            page.wait_for_selector(".MathJax_CHTML", state="attached", timeout=30_000)
            # The search finds the lessons that talk about Grad-CAM.
            page.goto(f"{base}/search.html?q=gradient")
            page.wait_for_selector("#search-results ul.search li", timeout=30_000)
            assert page.locator("#search-results ul.search li").count() >= 2

            page.goto(f"{base}/lessons/03_cam_explorer_mnist.html")
            page.get_by_text("open this notebook in JupyterLab").scroll_into_view_if_needed()
            shot = _figures(tmp_path) / "site_lesson.png"
            page.screenshot(path=str(shot))
            _check_screenshot(shot)
            w.assert_clean()
        finally:
            browser.close()


def test_slides_step_through_with_keyboard(built_site, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    nb = nbformat.read(DECK, as_version=4)
    total = len(nbs.slides_of(nb))
    with serve(built_site) as base, sync_playwright() as pw:
        browser = launch_chromium(pw, chromium)
        try:
            w = Watched(browser, base)
            page = w.page
            page.goto(f"{base}/slides/{DECK.stem}.slides.html")
            page.wait_for_function(
                f"() => window.require && require.defined('reveal.js/dist/reveal.js') "
                f"&& {REVEAL}.isReady()",
                timeout=30_000,
            )
            assert page.evaluate(f"{REVEAL}.getTotalSlides()") == total
            page.wait_for_selector(".MathJax_CHTML", state="attached", timeout=30_000)
            shot = None
            for i in range(1, total + 1):
                page.wait_for_function(
                    f"t => {COUNTER} === t",
                    arg=f"{i}/{total}",
                    timeout=10_000,
                )
                notes = page.evaluate(f"{REVEAL}.getSlideNotes()") or ""
                assert "About" in notes and "min" in notes, f"slide {i}: notes {notes!r}"
                if shot is None and page.evaluate(
                    f"!!{REVEAL}.getCurrentSlide().querySelector('img')"
                ):
                    page.wait_for_timeout(1500)  # the slide transition ends
                    shot = _figures(tmp_path) / "slides_lesson.png"
                    page.screenshot(path=str(shot))
                page.keyboard.press("n")  # next slide, sub-slides included
            page.wait_for_timeout(500)  # one press too many must not move past the end
            assert page.evaluate(COUNTER) == f"{total}/{total}"
            assert page.evaluate(f"{REVEAL}.isLastSlide()")
            assert shot is not None, "no slide with a picture"
            _check_screenshot(shot)
            w.assert_clean()
        finally:
            browser.close()


def test_rise_presents_a_lesson_in_jupyterlab(chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    pytest.importorskip("jupyterlab_rise", reason="jupyterlab-rise is a dev dependency")
    name = "03_cam_explorer_mnist.ipynb"
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    top = sum(c.metadata.slideshow["slide_type"] == "slide" for c in nb.cells)
    with Lab(tmp_path) as lab, sync_playwright() as pw:
        browser = launch_chromium(pw, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(lab.url(f"rise/{urllib.parse.quote(name)}"))
            sections = page.locator(".reveal .slides > section")
            page.wait_for_function(
                "n => document.querySelectorAll('.reveal .slides > section').length >= n",
                arg=top,
                timeout=90_000,
            )
            assert sections.count() == top
            assert "Lesson 3" in sections.first.inner_text()
            assert errors == [], errors
        finally:
            browser.close()
