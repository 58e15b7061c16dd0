"""One reveal.js deck per lesson, from the executed notebooks, with no network (``make slides``).

Each deck is ``jupyter nbconvert --to slides`` of a copy of the lesson with the explorer
replaced by its stored picture, cut into slides that fit 1280 × 720
(:mod:`cam_edu.teaching.layout`), each with its speaker notes (:mod:`cam_edu.teaching.notes`).
The template (``templates/cam_reveal``) is nbconvert's own with linear navigation, the
pictures' descriptions and the deck's style sheet, minus its Mermaid import. reveal.js,
require.js, jQuery and MathJax are served from copies of the npm packages next to the decks
(:mod:`cam_edu.teaching.assets`), never from a CDN. Code and printouts wider than a slide
scroll sideways, in boxes that take the keyboard focus (:func:`focusable_scrolling`).

>>> SLIDE_OPTIONS["SlidesExporter.reveal_url_prefix"]  # a folder next to the decks
'reveal.js'
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from traitlets.config import Config

from cam_edu.teaching import assets
from cam_edu.teaching.deck import deck_notebook
from cam_edu.teaching.notebooks import (
    COLLAPSE_TAG,
    REPO,
    freeze_widgets,
    lesson_paths,
    shows_widget,
    title,
)
from cam_edu.teaching.notes import Notes
from cam_edu.teaching.sizes import STYLE

OUT = REPO / "build" / "slides"
TEMPLATES = Path(__file__).resolve().parent / "templates"
SLIDE_OPTIONS = {
    "SlidesExporter.reveal_url_prefix": "reveal.js",
    "SlidesExporter.reveal_theme": assets.REVEAL_THEME,
    "SlidesExporter.reveal_scroll": False,
    "SlidesExporter.reveal_number": "c/t",
    "SlidesExporter.exclude_input_prompt": True,
    "SlidesExporter.exclude_output_prompt": True,
    "SlidesExporter.require_js_url": "requirejs/require.js",
    "SlidesExporter.jquery_url": "jquery/dist/jquery.min.js",
    "SlidesExporter.mathjax_url": f"mathjax/MathJax.js?config={assets.MATHJAX_CONFIG}",
    "SlidesExporter.template_name": "cam_reveal",
    "SlidesExporter.extra_template_basedirs": [str(TEMPLATES)],
    "TagRemovePreprocessor.enabled": True,
    "TagRemovePreprocessor.remove_input_tags": [COLLAPSE_TAG],
}


@dataclass
class Deck:
    path: Path
    slides: int


def exporter():
    """nbconvert's ``SlidesExporter`` configured for local assets (:data:`SLIDE_OPTIONS`)."""
    from nbconvert import SlidesExporter

    config = Config()
    for key, value in SLIDE_OPTIONS.items():
        section, name = key.split(".")
        config[section][name] = value
    return SlidesExporter(config=config)


EXERCISE_LINK = re.compile(r"\[([^\]]+)\]\(exercises/[^)]+\)")


def focusable_scrolling(html: str) -> str:
    """Let the keyboard reach what may scroll sideways: code, printouts, tables.

    >>> focusable_scrolling('<div class="jp-RenderedText"><pre>x</pre></div>')
    '<div class="jp-RenderedText"><pre tabindex="0">x</pre></div>'
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, features="html.parser")
    for element in soup.select("pre, .jp-RenderedHTMLCommon table"):
        element["tabindex"] = "0"
    return str(soup)


def lesson_deck(notebook: Path):
    """The lesson cut into the deck's slides with their notes: the notebook, and the slides.

    The explorer is replaced by its stored picture; an exercise's name loses its link (a
    deck is shown, not browsed).
    """
    nb = nbformat.read(notebook, as_version=4)
    live = {i for i, cell in enumerate(nb.cells) if shows_widget(cell)}
    freeze_widgets(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = EXERCISE_LINK.sub(r"\1", cell.source)
    deck, slides = deck_notebook(nb, notes=Notes(live))
    deck.metadata["title"] = title(nb)
    return deck, slides


def deck_html(notebook: Path) -> tuple[str, int]:
    """The deck of one lesson as HTML, and its number of (sub-)slides."""
    deck, slides = lesson_deck(notebook)
    resources = {
        "metadata": {"name": notebook.stem},
        "cam_style": STYLE.css_values(),
    }
    html, _ = exporter().from_notebook_node(deck, resources=resources)
    return focusable_scrolling(html), len(slides)


def build_deck(notebook: Path, out: Path = OUT) -> Deck:
    """Write ``out/<lesson>.slides.html``; the assets must already be in ``out``."""
    html, slides = deck_html(notebook)
    path = out / f"{notebook.stem}.slides.html"
    path.write_text(html, encoding="utf-8")
    return Deck(path, slides)


def build(notebooks: list[Path] | None = None, out: Path = OUT) -> list[Deck]:
    """Build the decks of ``notebooks`` (default: every lesson) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    assets.copy_assets(out)
    return [build_deck(path, out) for path in notebooks or lesson_paths()]


def main(names: list[str] | None = None, out: Path = OUT) -> int:
    """Build the decks, print their slide counts and the build time."""
    start = time.perf_counter()
    chosen = [p for p in lesson_paths() if not names or any(n in p.name for n in names)]
    decks = build(chosen, out)
    for deck in decks:
        print(f"{deck.path}: {deck.slides} slides")
    remote = assets.remote_assets_in(out)
    if remote:
        print(f"remote assets referenced: {remote}")
        return 1
    print(
        f"{len(decks)} decks, {sum(d.slides for d in decks)} slides, no remote asset, "
        f"built in {time.perf_counter() - start:.1f} s"
    )
    return 0
