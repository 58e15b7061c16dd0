"""A Sphinx extension that makes every page of the course website readable by everyone.

Sphinx, myst-nb and Furo leave a few things that axe-core reports, or that readers trip
over. After each page is rendered (``html-page-context``, after Furo's own handler), it:

- gives every picture a notebook shows its description: the ``alt`` that
  :func:`cam_edu.viz.show` stores in the output's metadata (myst-nb reads only a
  cell-level ``alt``), found by the picture's file name, which myst-nb makes from the
  SHA-256 of its bytes. A picture without one says :data:`MISSING_ALT`, never its path;
- wraps every picture in a link to itself, so that it opens full size (on a phone too);
- lets the keyboard reach what may scroll sideways (code, printouts, tables, formulas);
- names myst-nb's "Show code cell source" toggles by their visible text;
- gives Furo's sidebar captions a heading level.

The site's style sheet (``docs/site/cam.css``) does the rest: printouts never wrap
mid-word, pictures show they open.

>>> print(polish('<img alt="a.png" src="a.png"/><pre>x</pre>', {"a": "A bee."}))
<a class="cam-full-size" href="a.png"><img alt="A bee." src="a.png"/></a><pre tabindex="0">x</pre>
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path, PurePosixPath

import nbformat

MISSING_ALT = "A figure without a description"
SCROLLING = "pre, div.table-wrapper, div.math-wrapper, div.output.text_html"
_PATH_LIKE = re.compile(r"^\S*$|\.(?:png|jpe?g|gif|svg)$", re.IGNORECASE)  # no sentence


def picture_descriptions(notebook: Path) -> dict[str, str]:
    """The description of each picture the notebook's outputs show, by its bytes' SHA-256."""
    found = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            for mime in ("image/png", "image/jpeg"):
                data = output.get("data", {}).get(mime)
                alt = output.get("metadata", {}).get(mime, {}).get("alt")
                if data and alt:
                    found[hashlib.sha256(base64.b64decode(data)).hexdigest()] = alt
    return found


def polish(body: str, descriptions: dict[str, str]) -> str:
    """The page's HTML ``body`` with the changes listed in the module's docstring."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, features="html.parser")
    for img in soup.select("img[src]"):
        described = descriptions.get(PurePosixPath(img["src"]).stem)
        if described:
            img["alt"] = described
        elif not img.get("alt") or _PATH_LIKE.search(img["alt"]):
            img["alt"] = MISSING_ALT
        if img.find_parent("a") is None:
            img.wrap(soup.new_tag("a", attrs={"class": "cam-full-size", "href": img["src"]}))
    for element in soup.select(SCROLLING):
        element["tabindex"] = "0"
    for summary in soup.select("summary[aria-label]"):
        del summary["aria-label"]  # its visible text names it
    return str(soup)


def _page(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    if "body" in context:
        source = Path(app.env.doc2path(pagename))
        found = picture_descriptions(source) if source.suffix == ".ipynb" else {}
        context["body"] = polish(context["body"], found)
    tree = context.get("furo_navigation_tree")
    if tree:
        context["furo_navigation_tree"] = tree.replace(
            'class="caption" role="heading"', 'class="caption" role="heading" aria-level="2"'
        )


def setup(app) -> dict:
    app.connect("html-page-context", _page, priority=900)  # after Furo's (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
