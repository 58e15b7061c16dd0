"""The static course website, from the executed notebooks, built offline (``make site``).

Sphinx with myst-nb and the Furo theme: the notebooks are rendered with their stored
outputs (never executed), the search is Sphinx's own index, and every asset is local.
Why these: myst-nb is the notebook engine of Jupyter Book 1, used directly with a plain
Sphinx (no extra layer, current releases); Furo bundles its CSS and JS and loads no web
font; Jupyter Book 2 (mystmd) downloads its site template at build time, which fails
offline.
:func:`stage` writes the sources into ``build/site-src/``:

- ``index.md``: the README's introduction, learning path and pictures, links rewritten;
- ``lessons/``: the lessons, the explorer replaced by its stored picture, each with a link
  to its slides (built into ``slides/`` of the site);
- ``exercises/``: the student versions, with the README's instructions for students;
- ``benchmarks.md`` (the README's section) and ``instructor.md`` (``docs/instructor.md``);

then :func:`build` runs ``sphinx-build`` into ``build/site/``.

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

from cam_edu.teaching import assets, slides
from cam_edu.teaching.notebooks import (
    REPO,
    exercise_paths,
    freeze_widgets,
    lesson_paths,
)

SOURCE = REPO / "build" / "site-src"
OUT = REPO / "build" / "site"
CONF = REPO / "docs" / "site" / "conf.py"
IMAGES = REPO / "docs" / "images"
INSTRUCTOR = REPO / "docs" / "instructor.md"
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
    markdown = re.sub(r"\]\(notebooks/(\d\d_[\w-]+\.ipynb)\)", r"](lessons/\1)", markdown)
    return markdown.replace("](docs/images/", "](images/")


def _home() -> str:
    readme = README.read_text(encoding="utf-8")
    title = readme.splitlines()[0]
    intro = readme.split("\n\n", 2)[1]
    offline = readme[readme.index("## Offline use") :]
    toctree = "\n".join(
        [
            "```{toctree}",
            ":hidden:",
            ":caption: Course",
            "",
            *(f"lessons/{p.stem}" for p in lesson_paths()),
            "exercises/index",
            "benchmarks",
            "instructor",
            "```",
        ]
    )
    parts = [title, intro, readme_section("learning-path"), readme_section("pictures"), offline]
    return site_links("\n\n".join(parts)) + "\n" + toctree + "\n"


def _exercises_index() -> str:
    students = readme_section("exercises").split("## For instructors")[0]
    students = students.replace("## For students: the exercises", "# Exercises", 1)
    toctree = "\n".join(["```{toctree}", ":maxdepth: 1", "", *(p.stem for p in exercise_paths())])
    return f"{students}\n{toctree}\n```\n"


def _lesson(path: Path):
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
    link = nbformat.v4.new_markdown_cell(
        f'<a href="../slides/{path.stem}.slides.html">Slides of this lesson</a>'
    )
    nb.cells.insert(1, link)
    return nb


def stage(source: Path = SOURCE) -> None:
    """Write the site's sources into ``source`` (emptied first)."""
    shutil.rmtree(source, ignore_errors=True)
    (source / "lessons").mkdir(parents=True)
    (source / "exercises").mkdir()
    shutil.copy2(CONF, source / "conf.py")
    shutil.copytree(IMAGES, source / "images")
    shutil.copy2(REPO / "benchmarks" / "results.png", source / "results.png")
    assets.copy_assets(source / "_static", packages=("mathjax",))
    slides.build(out=source / "_extra" / "slides")
    (source / "index.md").write_text(_home(), encoding="utf-8")
    benchmarks = readme_section("benchmarks").replace("## Benchmarks", "# Benchmarks", 1)
    picture = "![Benchmark ratios, plotted](results.png)\n"
    (source / "benchmarks.md").write_text(benchmarks + "\n" + picture, encoding="utf-8")
    shutil.copy2(INSTRUCTOR, source / "instructor.md")
    (source / "exercises" / "index.md").write_text(_exercises_index(), encoding="utf-8")
    for path in lesson_paths():
        nbformat.write(_lesson(path), source / "lessons" / path.name)
    for path in exercise_paths():
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
