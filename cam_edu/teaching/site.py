"""The static course website, from the executed notebooks, built offline (``make site``).

Sphinx with myst-nb and the Furo theme: the notebooks are rendered with their stored
outputs (never executed), the search is Sphinx's own index, and every asset is local.
Why these: myst-nb is the notebook engine of Jupyter Book 1, used directly with a plain
Sphinx (no extra layer, current releases); Furo bundles its CSS and JS and loads no web
font; Jupyter Book 2 (mystmd) downloads its site template at build time, which fails
offline.
:func:`stage` writes the sources into ``build/site-src/``:

- ``index.md``: the README's introduction, its two commands (the first section), learning
  path and pictures, links rewritten;
- ``lessons/``: the lessons, the explorer replaced by its stored picture, each with a link
  to its slides (built into ``slides/`` of the site), and the appendices
  (``notebooks/appendix_*.ipynb``, no slides) in a part of the contents of their own;
- ``exercises/``: the student versions, with the README's instructions for students;
- ``benchmarks.md`` (the README's section) and ``instructor.md`` (written by
  :func:`cam_edu.teaching.instructor.render` for the site: it links every lesson and deck);

then :func:`build` runs ``sphinx-build`` into ``build/site/``. The pages are then made
readable by everyone by :mod:`cam_edu.teaching.readable` (a Sphinx extension).

>>> readme_section("learning-path").splitlines()[0]
'## The learning path'
"""

from __future__ import annotations

import copy
import re
import shutil
import time
from pathlib import Path

import nbformat

from cam_edu.teaching import assets, instructor, slides
from cam_edu.teaching.notebooks import (
    NOTEBOOKS,
    REPO,
    appendix_paths,
    exercise_paths,
    freeze_widgets,
    lesson_paths,
)

SOURCE = REPO / "build" / "site-src"
OUT = REPO / "build" / "site"
CONF = REPO / "docs" / "site" / "conf.py"
STYLE = REPO / "docs" / "site" / "cam.css"
IMAGES = REPO / "docs" / "images"
README = REPO / "README.md"


def readme_section(name: str, readme: Path = README) -> str:
    """The README's text between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, flags=re.S)
    if match is None:
        raise ValueError(f"{readme} has no section marked <!-- {name}:start/end -->")
    return match.group(1).strip() + "\n"


def site_links(markdown: str) -> str:
    """Rewrite the README's repository paths into the site's pages and images.

    >>> site_links("[`01_a`](notebooks/01_a.ipynb), ![x](docs/images/x.png)")
    '[`01_a`](lessons/01_a.ipynb), ![x](images/x.png)'
    >>> site_links("[`ex01_a`](notebooks/exercises/ex01_a.ipynb)")
    '[`ex01_a`](exercises/ex01_a.ipynb)'
    """
    markdown = re.sub(r"\]\(notebooks/exercises/\)", "](exercises/index.md)", markdown)
    markdown = re.sub(r"\]\(notebooks/(exercises/ex[\w-]+\.ipynb)\)", r"](\1)", markdown)
    markdown = re.sub(
        r"\]\(notebooks/((?:\d\d|appendix)_[\w-]+\.ipynb)\)", r"](lessons/\1)", markdown
    )
    return markdown.replace("](docs/images/", "](images/")


def readme_heading(title: str, readme: Path = README) -> str:
    """The README's section ``## title``, up to the next ``##`` heading or marked section.

    >>> "make lab" in readme_heading("Two commands")
    True
    """
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |^<!-- |\Z)", text, re.S | re.M)
    if match is None:
        raise ValueError(f"{readme} has no section '## {title}'")
    return match.group(0).strip() + "\n"


def _toctree(entries: list[str], caption: str) -> str:
    return "\n".join(["```{toctree}", ":hidden:", f":caption: {caption}", "", *entries, "```"])


def home_page(root: Path = NOTEBOOKS) -> str:
    """The home page (markdown): the README's introduction, two commands, path, pictures."""
    readme = README.read_text(encoding="utf-8")
    title = readme.splitlines()[0]
    intro = readme.split("\n\n", 2)[1]
    parts = [
        title,
        intro,
        readme_heading("Two commands"),
        readme_section("learning-path"),
        readme_section("pictures"),
        readme_heading("Offline use"),
    ]
    course = [f"lessons/{p.stem}" for p in lesson_paths(root)]
    course += ["exercises/index", "benchmarks", "instructor"]
    toctrees = [_toctree(course, "Course")]
    if appendix_paths(root):
        toctrees.append(_toctree([f"lessons/{p.stem}" for p in appendix_paths(root)], "Appendix"))
    return site_links("\n\n".join(parts)) + "\n" + "\n\n".join(toctrees) + "\n"


def _exercises_index(root: Path = NOTEBOOKS) -> str:
    students = readme_section("exercises").split("## For instructors")[0]
    students = students.replace("## For students: the exercises", "# Exercises", 1)
    toctree = "\n".join(
        ["```{toctree}", ":maxdepth: 1", "", *(p.stem for p in exercise_paths(root))]
    )
    return f"{students}\n{toctree}\n```\n"


def _lesson(path: Path, deck: bool = True):
    nb = copy.deepcopy(nbformat.read(path, as_version=4))
    freeze_widgets(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # the lesson's exercise is one folder up on the site
            cell.source = cell.source.replace("](exercises/", "](../exercises/")
        # myst-nb does not read attachments: link the drawn diagrams
        if cell.cell_type == "markdown" and cell.pop("attachments", None):
            cell.source = re.sub(
                r"\(attachment:(\w+\.png)\)", r"(../images/diagrams/\1)", cell.source
            )
    if deck:
        link = f'<a href="../slides/{path.stem}.slides.html">Slides of this lesson</a>'
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(link))
    return nb


def stage(source: Path = SOURCE, root: Path = NOTEBOOKS, decks: bool = True) -> None:
    """Write the site's sources for the notebooks in ``root`` into ``source`` (emptied first).

    ``decks=False`` leaves the slide decks out (they take most of the time).
    """
    shutil.rmtree(source, ignore_errors=True)
    (source / "lessons").mkdir(parents=True)
    (source / "exercises").mkdir()
    shutil.copy2(CONF, source / "conf.py")
    shutil.copytree(IMAGES, source / "images")
    shutil.copy2(REPO / "benchmarks" / "results.png", source / "results.png")
    assets.copy_assets(source / "_static", packages=("mathjax",))
    shutil.copy2(STYLE, source / "_static" / STYLE.name)
    if decks:
        slides.build(lesson_paths(root), out=source / "_extra" / "slides")
    (source / "index.md").write_text(home_page(root), encoding="utf-8")
    benchmarks = readme_section("benchmarks").replace("## Benchmarks", "# Benchmarks", 1)
    picture = (
        "![Bar chart of every benchmark ratio (baseline time over candidate time, log scale),"
        " and a histogram of the explorer's redraw times against its 10 ms target](results.png)\n"
    )
    (source / "benchmarks.md").write_text(benchmarks + "\n" + picture, encoding="utf-8")
    page = instructor.render(lesson_paths(root), site=True)
    (source / "instructor.md").write_text(page, encoding="utf-8")
    (source / "exercises" / "index.md").write_text(_exercises_index(root), encoding="utf-8")
    for path in lesson_paths(root):
        nbformat.write(_lesson(path), source / "lessons" / path.name)
    for path in appendix_paths(root):
        nbformat.write(_lesson(path, deck=False), source / "lessons" / path.name)
    for path in exercise_paths(root):
        shutil.copy2(path, source / "exercises" / path.name)


def build(source: Path = SOURCE, out: Path = OUT) -> int:
    """Stage and run Sphinx (warnings are errors); return Sphinx's exit code."""
    from sphinx.cmd.build import build_main

    stage(source)
    shutil.rmtree(out, ignore_errors=True)
    return build_main(["-b", "html", "-W", "--keep-going", "-q", str(source), str(out)])


def pages(out: Path = OUT) -> list[Path]:
    """The site's HTML pages (not the slides, not Sphinx's search and index pages)."""
    skip = {"search.html", "genindex.html"}
    found = sorted(out.rglob("*.html"))
    return [p for p in found if p.name not in skip and "slides" not in p.parts]


def main() -> int:
    """Build the site, print its page count, check it loads nothing remote, time it."""
    start = time.perf_counter()
    code = build()
    if code:
        return code
    remote = assets.remote_assets_in(OUT)
    if remote:
        print(f"remote assets referenced: {remote}")
        return 1
    decks = sorted((OUT / "slides").glob("*.slides.html"))
    print(
        f"{OUT}: {len(pages())} pages and {len(decks)} slide decks, "
        f"no remote asset, built in {time.perf_counter() - start:.1f} s"
    )
    return 0
