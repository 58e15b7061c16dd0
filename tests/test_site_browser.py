"""The course website, the static slides and RISE, in a real headless Chromium.

The website (built once per session into a temporary folder, with its slide decks) is
served on 127.0.0.1. Every request that would leave 127.0.0.1 is blocked and recorded,
and must not happen; neither may a console error.

- The site: a link from the home page to every lesson; every page crawled and every
  ``href`` and ``src`` checked (files exist, anchors exist, images decoded); MathJax
  renders; the search finds a word; the home page's first section gives the two commands;
  the instructor page links every lesson and its deck.
- Every page, at desktop width and at phone width in dark mode: no critical or serious
  axe-core violation; every figure has a real description and opens full size; tables,
  code and printouts fit the column or scroll sideways inside a box the keyboard
  reaches; printouts never wrap.
- Every deck: the right arrow from the first slide visits every slide in order, and so
  do Space and Page Down (a presenter's clicker); no slide, its answers opened, is taller
  or wider than the 1280 x 720 screen; every slide has speaker notes and every picture a
  real description; no critical or serious axe-core violation on any slide (all laid out
  at once by reveal.js's print view).
- RISE presents a lesson in JupyterLab.

Screenshots of a slide, of a lesson page and of a page at phone width are written to a
temporary folder, or, with ``CAM_EDU_UPDATE_FIGURES=1``, to ``docs/images/`` for the
README.
"""

from __future__ import annotations

import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
from browser_support import REPO, Lab, axe_violations, launch_chromium, require_chromium, serve

from cam_edu.teaching import notebooks as nbs
from cam_edu.teaching import readable, slides
from cam_edu.teaching.sizes import STYLE

LESSONS = nbs.lesson_paths()
# nbconvert's deck loads reveal.js with require.js (AMD), so there is no global ``Reveal``.
REVEAL = "require('reveal.js/dist/reveal.js')"
READY = f"() => window.require && require.defined('reveal.js/dist/reveal.js') && {REVEAL}.isReady()"
# Resolves once MathJax (if the page has it) has typeset everything queued.
TYPESET = "() => window.MathJax ? new Promise(r => MathJax.Hub.Queue(() => r(true))) : true"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# What a picture's alt text must not be: a path, or a placeholder for a missing description.
NOT_A_DESCRIPTION = re.compile(
    rf"^\S*$|\.(png|jpe?g|svg)$|{readable.MISSING_ALT}|No description has been provided"
)


def _undescribed(alts: list[str]) -> list[str]:
    return [a for a in alts if NOT_A_DESCRIPTION.search(a) or len(a.split()) < 4]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as pw:
        launched = launch_chromium(pw, executable)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def base(built_site):
    with serve(built_site) as url:
        yield url


def _figures(tmp_path: Path) -> Path:
    return REPO / "docs" / "images" if os.environ.get("CAM_EDU_UPDATE_FIGURES") else tmp_path


def _check_screenshot(path: Path) -> None:
    import PIL.Image

    pixels = np.asarray(PIL.Image.open(path).convert("L"))
    assert pixels.shape[0] > 300 and pixels.std() > 10, f"{path} is blank"


class Watched:
    """A page whose remote requests are blocked and recorded, and whose errors are kept."""

    def __init__(self, browser, base: str, **options):
        self.remote: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(**{"viewport": DESKTOP, **options})
        self.page = self.context.new_page()
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

    def close(self) -> None:
        self.context.close()


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

# What a reader of the page meets: figures (description, full-size link) and what may be
# wider than the column (it must fit, or scroll sideways in a box the keyboard reaches).
READING = """() => {
  const article = document.querySelector('article');
  const width = article.clientWidth + 1;
  const figures = Array.from(article.querySelectorAll('img')).map(img => {
    const link = img.closest('a');
    return [img.getAttribute('alt') || '', img.getAttribute('src'),
            link ? link.getAttribute('href') : null];
  });
  const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  const unreachable = [];
  for (const el of article.querySelectorAll('pre, table, .math-wrapper, .output, img')) {
    const overflows = el.scrollWidth > el.clientWidth + 1 && scrolls(el);
    if (!overflows && el.getBoundingClientRect().width <= width) continue;
    let box = overflows ? el : el.parentElement;
    while (box !== article && !scrolls(box)) box = box.parentElement;
    const edges = box.getBoundingClientRect();  // the box itself stays on the screen
    if (box === article || box.getAttribute('tabindex') !== '0'
        || edges.left < -1 || edges.right > window.innerWidth + 1) {
      unreachable.push(el.tagName + ' ' + el.className + ': ' + el.textContent.slice(0, 60));
    }
  }
  const wrapping = Array.from(article.querySelectorAll('.cell_output pre'))
    .filter(p => getComputedStyle(p).whiteSpace !== 'pre').length;
  const page = document.documentElement.scrollWidth - window.innerWidth;
  return {figures, unreachable, wrapping, page};
}"""


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _site_pages(built_site: Path) -> list[str]:
    found = sorted(built_site.rglob("*.html"))
    return [str(p.relative_to(built_site)) for p in found if "slides" not in p.parts]


def test_site_links_images_search_and_math(browser, base, tmp_path):
    w = Watched(browser, base)
    page = w.page
    try:
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

        # The home page's first section says how to start the course and check it.
        page.goto(f"{base}/index.html")
        first = page.locator("article section section").first.inner_text()
        assert "make lab" in first and "make test" in first, first[:300]
        # The instructor page links every lesson and its deck.
        page.goto(f"{base}/instructor.html")
        hrefs = page.eval_on_selector_all("article a", "as => as.map(a => a.getAttribute('href'))")
        for path in LESSONS:
            assert f"lessons/{path.stem}.html" in hrefs
            assert f"slides/{path.stem}.slides.html" in hrefs

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
        w.close()


@pytest.mark.parametrize(
    "device", [{}, {"viewport": PHONE, "color_scheme": "dark"}], ids=["desktop", "phone-dark"]
)
def test_every_page_reads_well_for_everyone(browser, base, built_site, device, tmp_path):
    w = Watched(browser, base, **device)
    page = w.page
    problems = []
    try:
        for name in _site_pages(built_site):
            page.goto(f"{base}/{name}")
            page.wait_for_load_state("load")
            page.evaluate(TYPESET)
            problems += [f"{name}: {v}" for v in axe_violations(page)]
            found = page.evaluate(READING)
            alts = [alt for alt, _, _ in found["figures"]]
            bad = _undescribed(alts)
            if bad:
                problems.append(f"{name}: {len(bad)} figure(s) without a description: {bad[0]!r}")
            problems += [
                f"{name}: figure {src} does not open full size"
                for _, src, href in found["figures"]
                if href != src
            ]
            problems += [f"{name}: cut, not scrollable: {e}" for e in found["unreachable"]]
            if found["wrapping"]:
                problems.append(f"{name}: {found['wrapping']} printouts wrap their lines")
            if found["page"] > 0:
                problems.append(f"{name}: the page scrolls sideways by {found['page']} px")
        if device:  # on a phone, a figure opens full size, larger than the column shows it
            page.goto(f"{base}/lessons/{LESSONS[0].stem}.html")
            page.evaluate(TYPESET)
            figure = page.locator("article .cell_output a.cam-full-size img").first
            figure.evaluate("img => img.scrollIntoView({block: 'center', behavior: 'instant'})")
            shown = figure.bounding_box()["width"]
            shot = _figures(tmp_path) / "site_phone.png"
            page.screenshot(path=str(shot))
            _check_screenshot(shot)
            figure.click()
            page.wait_for_load_state("load")
            assert page.url.endswith((".png", ".jpg", ".jpeg")), page.url
            assert page.evaluate("document.images[0].naturalWidth") > shown
        w.assert_clean()
    finally:
        w.close()
    assert problems == [], "\n".join(problems[:40])


# The deck's slides in order, each as [h, v]; what the keys visit; each slide's size.
ORDER = f"""() => {REVEAL}.getSlides()
  .map(s => {{ const i = {REVEAL}.getIndices(s); return [i.h, i.v]; }})"""
RECORD = f"""() => {{
  window.visited = [];
  {REVEAL}.on('slidechanged', e => window.visited.push([e.indexh, e.indexv]));
}}"""
RESTART = f"() => {{ {REVEAL}.slide(0, 0); window.visited = []; }}"
SIZES = f"""() => {{
  const R = {REVEAL};
  document.querySelectorAll('details').forEach(d => d.open = true);
  return R.getSlides().map(s => {{
    const i = R.getIndices(s);
    R.slide(i.h, i.v);
    const pictures = Array.from(s.querySelectorAll('img')).map(i => i.getAttribute('alt') || '');
    const wrapping = Array.from(s.querySelectorAll('pre'))
      .filter(p => getComputedStyle(p).whiteSpace !== 'pre').length;
    const cut = Array.from(s.querySelectorAll('pre')).filter(p => p.scrollWidth > p.clientWidth + 1
      && (getComputedStyle(p).overflowX !== 'auto' || p.getAttribute('tabindex') !== '0')).length;
    return {{h: i.h, v: i.v, height: s.scrollHeight, width: s.scrollWidth, pictures, wrapping, cut,
             notes: R.getSlideNotes(s) || ''}};
  }});
}}"""


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem[:2])
def test_deck_fits_the_screen_and_every_key_walks_it(browser, base, lesson, tmp_path):
    w = Watched(browser, base, viewport={"width": STYLE.width, "height": STYLE.height})
    page = w.page
    try:
        url = f"{base}/slides/{lesson.stem}.slides.html"
        page.goto(f"{url}?transition=none")
        page.wait_for_function(READY, timeout=30_000)
        page.evaluate(TYPESET)
        order = page.evaluate(ORDER)
        assert len(order) == len(slides.lesson_deck(lesson)[1])
        page.evaluate(RECORD)
        for key in ("ArrowRight", "Space", "PageDown"):
            page.evaluate(RESTART)
            for _ in range(len(order)):  # one press more than needed: it stays on the last
                page.keyboard.press(key)
            visited = page.evaluate("window.visited")
            assert [[0, 0], *visited] == order, f"{key} visits {visited[:12]} ..."

        sizes = page.evaluate(SIZES)
        if lesson == LESSONS[0]:
            first = next(s for s in sizes if s["pictures"] and s["h"] > 0)
            page.goto(f"{url}?transition=none#/{first['h']}/{first['v']}")
            page.wait_for_function(READY, timeout=30_000)
            page.evaluate(TYPESET)
            shot = _figures(tmp_path) / "slides_lesson.png"
            page.screenshot(path=str(shot))
            _check_screenshot(shot)

        width, height = STYLE.width, STYLE.height
        too_big = [(s["h"], s["v"], s["width"], s["height"]) for s in sizes]
        too_big = [t for t in too_big if t[2] > width or t[3] > height]
        assert too_big == [], f"slides larger than {width} x {height} (h, v, w, h): {too_big}"
        assert all("About" in s["notes"] and "min" in s["notes"] for s in sizes)
        alts = [alt for s in sizes for alt in s["pictures"]]
        bad = _undescribed(alts)
        assert alts and not bad, f"{len(bad)} of {len(alts)} pictures undescribed: {bad[:1]}"
        assert sum(s["wrapping"] + s["cut"] for s in sizes) == 0, "code or printouts cut"

        page.goto(f"{url}?print-pdf")  # every slide laid out at once, for axe-core
        page.wait_for_function(READY, timeout=30_000)
        assert axe_violations(page) == []
        w.assert_clean()
    finally:
        w.close()


def test_rise_presents_a_lesson_in_jupyterlab(browser, tmp_path):
    pytest.importorskip("jupyterlab_rise", reason="jupyterlab-rise is a dev dependency")
    name = "03_cam_explorer_mnist.ipynb"
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    top = sum(c.metadata.slideshow["slide_type"] == "slide" for c in nb.cells)
    with Lab(tmp_path) as lab:
        page = browser.new_page(viewport=DESKTOP)
        try:
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
            page.close()
