"""Instructor tooling (``cam_edu.teaching``): slide metadata, decks, website, page, prefetch.

The browser checks of the same outputs are in ``tests/test_site_browser.py``.
"""

from __future__ import annotations

import base64
import copy
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cam_edu.teaching import assets, instructor, markdown, notes, prefetch, site, slides
from cam_edu.teaching import notebooks as nbs
from cam_edu.teaching.deck import deck_notebook
from cam_edu.teaching.sizes import STYLE

REPO = Path(__file__).resolve().parents[1]
LESSONS = nbs.lesson_paths()


def _timed_code_cell(source: str, seconds: float, outputs=()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs))
    cell.metadata["execution"] = {
        "iopub.execute_input": "2026-01-01T10:00:00.000000Z",
        "shell.execute_reply": f"2026-01-01T10:00:{seconds:09.6f}Z",
    }
    return cell


def _stream(lines: int):
    return nbformat.v4.new_output("stream", text="".join(f"epoch {i}\n" for i in range(lines)))


def _without_teaching_metadata(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("slideshow", None)
        tags = [t for t in cell.metadata.get("tags", []) if t != nbs.COLLAPSE_TAG]
        cell.metadata.pop("tags", None)
        if tags:
            cell.metadata["tags"] = tags
    return nb


# ----------------------------------------------------------------------------- metadata


def test_rules_on_a_small_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\nIntro."),
        _timed_code_cell("import numpy as np\nimport keras", 4.0),
        nbformat.v4.new_markdown_cell("### Detail\nMore."),
        _timed_code_cell("history = train(model, x, y)", 30.0, [_stream(40)]),
        _timed_code_cell("ratio = speedup(f, g)\nprint(ratio)", 30.0, [_stream(2)]),
        _timed_code_cell("x = 1", 0.1),
        _timed_code_cell("\n".join(f"y{i} = {i}" for i in range(20)), 0.1),
        _timed_code_cell(
            "plt.show()", 0.2, [nbformat.v4.new_output("display_data", data={"image/png": ""})]
        ),
    ]
    assert nbs.annotate(nb) == len(nb.cells)
    kinds = [c.metadata.slideshow["slide_type"] for c in nb.cells]
    assert kinds == ["slide", "skip", "subslide", "skip", "-", "-", "-", "subslide"]
    assert [nbs.COLLAPSE_TAG in c.metadata.get("tags", []) for c in nb.cells] == [
        *[False] * 6,
        True,
        False,
    ]
    assert nbs.annotate(nb) == 0, "annotating twice changed something"
    assert [len(s.cells) for s in nbs.slides_of(nb)] == [2, 5, 1]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lessons_carry_current_slide_metadata_and_nothing_else_changed(path):
    nb = nbformat.read(path, as_version=4)
    assert all("slideshow" in c.metadata for c in nb.cells), (
        f"{path.name} lacks slide metadata: run `python -m cam_edu.teaching metadata`"
    )
    annotated = copy.deepcopy(nb)
    assert nbs.annotate(annotated) == 0, (
        f"{path.name}'s slide metadata is stale: run `python -m cam_edu.teaching metadata`"
    )
    stripped = _without_teaching_metadata(nb)
    assert nbs.annotate(stripped) > 0
    for a, b in zip(stripped.cells, nb.cells, strict=True):
        assert (a.source, a.get("outputs")) == (b.source, b.get("outputs"))


def test_freeze_widgets_shows_the_stored_explorer_picture():
    import PIL.Image

    nb = nbformat.read(REPO / "notebooks" / "03_cam_explorer_mnist.ipynb", as_version=4)
    assert nbs.freeze_widgets(nb) == 1
    assert "widgets" not in nb.metadata
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any(nbs.WIDGET_MIME in o.get("data", {}) for o in outputs)
    pictures = [o for o in outputs if o.get("data", {}).get("text/plain") == "<explorer>"]
    assert len(pictures) == 1
    image = PIL.Image.open(io.BytesIO(base64.b64decode(pictures[0].data["image/png"])))
    assert image.width > 300 and np.asarray(image.convert("L")).std() > 10
    alt = pictures[0].metadata["image/png"]["alt"]
    assert len(alt.split()) >= 4
    assert any(o.get("data", {}).get("text/markdown") == nbs.LIVE_LINE for o in outputs)
    assert any(o.get("data", {}).get("text/markdown") == f"Shown: {alt}" for o in outputs)


def test_a_frozen_explorer_picture_says_what_it_shows(gap_model, digits):
    """The alt text of the stored picture is the live explorer's: image, class, method, scale."""
    from ipywidgets.embed import embed_data

    from cam_edu.widgets import cam_explorer

    explorer = cam_explorer(gap_model, digits, class_names=list("abcdefghij"))
    explorer.method_menu.value = "gradcam"
    explorer.klass.value = 7
    saved = embed_data(views=[explorer.picture], drop_defaults=False)["manager_state"]
    model = saved["state"][explorer.picture.model_id]  # as the notebook's widget state holds it
    nb = nbformat.v4.new_notebook()
    view = {"model_id": "m1", "version_major": 2, "version_minor": 0}
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "explorer",
            outputs=[nbformat.v4.new_output("display_data", data={nbs.WIDGET_MIME: view})],
        )
    )
    nb.metadata["widgets"] = {nbs.WIDGET_STATE_MIME: {"state": {"m1": model}}}
    assert nbs.freeze_widgets(nb) == 1
    (picture,) = [o for o in nb.cells[0].outputs if "image/png" in o.get("data", {})]
    alt = picture.metadata["image/png"]["alt"]
    assert alt == explorer.description
    assert "Grad-CAM map of image 0 for class h" in alt and "min-max scale from" in alt


# ----------------------------------------------------------------------------- instructor page


def test_instructor_page_is_current():
    assert instructor.main(check=True) == 0, "run `python -m cam_edu.teaching instructor`"


def test_instructor_page_follows_the_measured_times(tmp_path):
    nb = nbformat.read(LESSONS[0], as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[-1].metadata["execution"]["shell.execute_reply"] = "2099-01-01T00:00:00Z"  # very slow
    path = tmp_path / LESSONS[0].name
    nbformat.write(nb, path)
    before, after = instructor.render([LESSONS[0]]), instructor.render([path])
    assert before != after
    total = sum(nbs.cell_seconds(c) for c in code)
    assert f"ran in **{total:.0f} s**" in after
    assert f"| {len(code)} | {nbs.cell_seconds(code[-1]):.1f} |" in after  # listed as slow
    for text in ("make prefetch", "python -m cam_edu.exercises grade SUBMISSIONS/"):
        assert text in after


# ----------------------------------------------------------------------------- decks


@pytest.fixture(scope="module")
def decks():
    """Every lesson as its deck: (lesson, notebook of the deck, its slides)."""
    return [(path, *slides.lesson_deck(path)) for path in LESSONS]


def _normal(text: str) -> str:
    return " ".join(text.split())


def _notes_of(deck) -> list[str]:
    return [c.source for c in deck.cells if c.metadata["slideshow"]["slide_type"] == "notes"]


def _deck_slides(deck) -> list[list]:
    """The deck notebook's cells grouped by slide (each group ends with its notes)."""
    groups: list[list] = []
    for cell in deck.cells:
        if cell.metadata["slideshow"]["slide_type"] in ("slide", "subslide") or not groups:
            groups.append([])
        groups[-1].append(cell)
    return groups


def test_every_part_of_a_lesson_is_in_its_deck_once(decks):
    for path, _, deck_slides in decks:
        nb = nbformat.read(path, as_version=4)
        shown: dict[int, list] = {}
        for piece in (p for s in deck_slides for p in s.pieces):
            shown.setdefault(piece.origin, []).append(piece)
        for i, cell in enumerate(nb.cells):
            skipped = cell.metadata["slideshow"]["slide_type"] == "skip"
            assert skipped != (i in shown), f"{path.name} cell {i}: skipped or shown, not both"
            if skipped:
                continue
            pieces = shown[i]
            if cell.cell_type == "markdown":  # the same words, each once (opening reordered)
                words = sorted(" ".join(p.source for p in pieces).split())
                shown_text = slides.EXERCISE_LINK.sub(r"\1", cell.source)  # a deck links nothing
                assert words == sorted(shown_text.split()), f"{path.name} cell {i}"
                continue
            code = "\n".join(p.source for p in pieces if p.output is None and p.source)
            if nbs.COLLAPSE_TAG not in cell.metadata.get("tags", []):
                assert code == cell.source, f"{path.name} cell {i}: code lost"
            for k, output in enumerate(cell.outputs):
                parts = [p for p in pieces if p.output == k]
                if len(parts) > 1:  # a long printout, cut between lines
                    assert "".join(p.text for p in parts) == output.text
                else:
                    assert len(parts) == 1, f"{path.name} cell {i}: output {k} shown {parts}"


def test_decks_keep_the_topics_and_estimate_every_slide_within_the_screen(decks):
    style = STYLE
    for path, _, deck_slides in decks:
        heights = [s.height(style) for s in deck_slides]
        assert max(heights) <= style.inner_height, f"{path.name}: {max(heights):.0f} px"
        nb = nbformat.read(path, as_version=4)
        topics = [c for c in nb.cells if c.metadata["slideshow"]["slide_type"] == "slide"]
        assert [s.kind for s in deck_slides].count("slide") == len(topics)
        assert deck_slides[0].kind == "slide"


def test_title_slide_is_title_time_and_objectives_and_a_diagram_starts_a_slide(decks):
    for path, deck, deck_slides in decks:
        title = _normal(" ".join(c.source for c in _deck_slides(deck)[0][:-1]))
        nb = nbformat.read(path, as_version=4)
        assert title.startswith(_normal(nb.cells[0].source.splitlines()[0]))
        assert "**Time:**" in title and "You will learn" in title
        assert "attachment:" not in title and "<img" not in title, "a picture on the title slide"
        for slide in deck_slides:  # a diagram starts a slide, after its heading or lead-in
            for k, piece in enumerate(slide.pieces):
                if piece.source and markdown.IMAGE_ONLY.match(piece.source):
                    before = slide.pieces[:k]
                    assert all(p.keep_with_next for p in before), f"{path.name}: {before}"


def test_deck_notes_add_up_to_the_lesson_estimate(decks):
    for path, deck, deck_slides in decks:
        nb = nbformat.read(path, as_version=4)
        notes = _notes_of(deck)
        assert len(notes) == len(deck_slides)
        said = [float(re.match(r"\*\*About ([\d.]+) min", n).group(1)) for n in notes]
        lesson = nbs.class_minutes(nb)
        assert sum(said) == pytest.approx(lesson, abs=0.05 * len(said))
        shown = [
            nbs.cell_seconds(c) or 0.0
            for c in nb.cells
            if c.cell_type == "code" and c.metadata["slideshow"]["slide_type"] != "skip"
        ]
        ran = [float(x) for n in notes for x in re.findall(r"([\d.]+) s measured", n)]
        assert sum(ran) == pytest.approx(sum(shown), abs=0.05 * len(ran) + 0.01)


def test_speaker_notes_are_whole_sentences_of_their_slide(decks):
    for path, deck, _ in decks:
        for cells in _deck_slides(deck):
            markdown = "\n\n".join(c.source for c in cells[:-1] if c.cell_type == "markdown")
            paragraphs = notes.prose(markdown)
            for sentence in re.findall(r"^- (.+)$", cells[-1].source, flags=re.MULTILINE):
                assert sentence in _normal(markdown), f"{path.name}: {sentence!r} not on it"
                whole = [
                    p
                    for p in paragraphs
                    if p == sentence or (p.startswith(sentence + " ") and sentence[-1] in ".!?:")
                ]
                assert whole, f"{path.name}: {sentence!r} is not a whole sentence"


def test_notes_never_splice_wrapped_lines():
    """A paragraph's lines that start with $, a digit, - or * stay in their sentence."""
    source = (
        "## Scores\n\nThe score of class\n$c$ is the sum over\n49 positions of the map,\n"
        "-0.3 at the corner, taken\n*before* pooling: all one sentence. Second one.\n\n"
        "$$S_c = \\sum_k w_k^c F_k$$\n\n- a list item.\n- another one."
    )
    assert notes.first_sentences(source, limit=1000) == [
        "The score of class $c$ is the sum over 49 positions of the map, -0.3 at the corner, "
        "taken *before* pooling: all one sentence.",
        "a list item.",
        "another one.",
    ]


def test_sentences_do_not_end_at_an_abbreviation_or_a_decimal_point():
    text = (
        "Zhou et al. (Sec. 3.1, Table 1) cut VGG, e.g. its last layers, i.e. the top.\n"
        'Compare Fig. 2 vs. Eq. 3, cf. the paper. It scored 0.5. He said "stop." '
        "(A remark.) 4 of 49 cells."
    )
    assert markdown.sentences(text) == [
        "Zhou et al. (Sec. 3.1, Table 1) cut VGG, e.g. its last layers, i.e. the top.",
        "Compare Fig. 2 vs. Eq. 3, cf. the paper.",
        "It scored 0.5.",
        'He said "stop."',
        "(A remark.)",
        "4 of 49 cells.",
    ]


def test_speaker_notes_never_stop_at_an_abbreviation(decks):
    """The lessons cite "Sun et al. (...)", "Adebayo et al. (...)": each is said whole."""
    names = "|".join(re.escape(a) for a in markdown.ABBREVIATIONS)
    stops = re.compile(rf"(?:^|\s)(?:{names})$")
    said = [
        (path.name, line)
        for path, deck, _ in decks
        for note in _notes_of(deck)
        for line in re.findall(r"^- (.+)$", note, flags=re.MULTILINE)
    ]
    assert [(name, line) for name, line in said if stops.search(line)] == []
    cited = [line for _, line in said if re.match(r"\w+ et al\. \(", line)]
    assert len(cited) >= 3 and all(len(line) > 40 for line in cited), cited


def test_a_long_cell_is_cut_between_slides_by_rule():
    """Code and its long printout: code first, the printout cut between lines, nothing lost."""
    cell = _timed_code_cell(
        "\n".join(f"x{i} = {i}" for i in range(12)),
        0.5,
        [_stream(60), nbformat.v4.new_output("display_data", data={"text/plain": "done"})],
    )
    cell.metadata["slideshow"] = {"slide_type": "-"}
    heading = nbformat.v4.new_markdown_cell("## Long\n\n" + "Words and more words. " * 40)
    heading.metadata["slideshow"] = {"slide_type": "slide"}
    nb = nbformat.v4.new_notebook(cells=[heading, cell])
    deck_nb, deck_slides = deck_notebook(nb, notes=notes.Notes())
    assert [s.kind for s in deck_slides][:2] == ["slide", "subslide"]
    assert all(s.height() <= STYLE.inner_height for s in deck_slides)
    printed = "".join(o.get("text", "") for c in deck_nb.cells for o in c.get("outputs", []))
    assert printed == cell.outputs[0].text
    codes = [c for c in deck_nb.cells if c.cell_type == "code"]
    assert nbs.COLLAPSE_TAG not in codes[0].metadata["tags"] and codes[0].source == cell.source
    assert all(nbs.COLLAPSE_TAG in c.metadata["tags"] for c in codes[1:])
    continued = [c.source for c in deck_nb.cells if "Long (continued)" in c.source]
    assert deck_slides[-1].continued and continued


def test_remote_asset_check_catches_nbconvert_defaults():
    """The stock template loads reveal.js, require.js and MathJax from CDNs; ours does not."""
    from nbconvert import SlidesExporter

    nb = nbformat.read(LESSONS[2], as_version=4)
    stock, _ = SlidesExporter().from_notebook_node(nb)
    assert len(assets.remote_assets(stock)) >= 3
    ours, _ = slides.deck_html(LESSONS[2])
    assert assets.remote_assets(ours) == []


def _local_references(html: str) -> set[str]:
    refs = re.findall(r"""(?:src|href)=["']([^"'#?]+)""", html)
    refs += re.findall(r'"([\w./-]+\.js)"', html)  # the modules require.js loads
    return {r for r in refs if not r.startswith(("http:", "https:", "data:", "mailto:"))}


def test_make_slides_writes_a_deck_that_needs_no_network(tmp_path, capsys):
    assert slides.main(["03"], out=tmp_path) == 0
    report = capsys.readouterr().out
    decks = list(tmp_path.glob("*.slides.html"))
    assert [d.name for d in decks] == ["03_cam_explorer_mnist.slides.html"]
    html = decks[0].read_text()
    count = len(slides.lesson_deck(LESSONS[2])[1])
    assert f"{count} slides" in report
    assert html.count('<aside class="notes">') == count
    missing = [r for r in _local_references(html) if not (tmp_path / r).exists()]
    assert not missing, f"the deck references files that are not there: {missing}"
    assert assets.remote_assets_in(tmp_path) == {}


# ----------------------------------------------------------------------------- website


def test_site_has_every_page_and_loads_nothing_remote(built_site):
    expected = [
        "index.html",
        "benchmarks.html",
        "instructor.html",
        "search.html",
        "exercises/index.html",
        *(f"lessons/{p.stem}.html" for p in LESSONS),
        *(f"exercises/{p.stem}.html" for p in nbs.exercise_paths()),
        *(f"slides/{p.stem}.slides.html" for p in LESSONS),
    ]
    assert [p for p in expected if not (built_site / p).is_file()] == []
    assert (built_site / "searchindex.js").is_file()
    assert assets.remote_assets_in(built_site) == {}
    home = (built_site / "index.html").read_text()
    for path in LESSONS:
        assert f'href="lessons/{path.stem}.html"' in home
    lesson3 = (built_site / "lessons" / "03_cam_explorer_mnist.html").read_text()
    assert "open this notebook in JupyterLab" in lesson3
    assert "widget-view" not in lesson3


def test_site_puts_every_appendix_in_an_appendix_part_without_slides(tmp_path):
    root = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns("solutions"))
    appendix = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Appendix: the beam's physics\n\nModes.")]
    )
    nbformat.write(appendix, root / "appendix_zz_placeholder.ipynb")
    site.stage(tmp_path / "src", root=root, decks=False)
    home = (tmp_path / "src" / "index.md").read_text()
    course, extra = home.split(":caption: Course")[1].split(":caption: Appendix")
    assert "lessons/appendix_zz_placeholder" in extra
    assert "appendix" not in course
    staged = nbformat.read(tmp_path / "src" / "lessons" / "appendix_zz_placeholder.ipynb", 4)
    assert "slides" not in " ".join(c.source for c in staged.cells)
    lesson = nbformat.read(tmp_path / "src" / "lessons" / LESSONS[0].name, 4)
    assert "Slides of this lesson" in lesson.cells[1].source
    assert nbs.appendix_paths() == [] or all(
        p.name.startswith("appendix_") for p in nbs.appendix_paths()
    )


def test_site_home_starts_with_the_two_commands_and_instructors_get_every_deck():
    home = site.home_page()
    first = home.split("\n## ", 2)[1]
    assert first.startswith("Two commands") and "make lab" in first and "make test" in first
    page = instructor.render(site=True)
    for path in LESSONS:
        assert f"](lessons/{path.stem}.ipynb)" in page
        assert f'href="slides/{path.stem}.slides.html"' in page
    assert f"## {instructor.EDITING}" in page, "the part the page refers to is on it"
    assert "in the README" not in page


# ----------------------------------------------------------------------------- prefetch


def _fake_mnist(path: Path, labels: int = 10) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        name: (
            rng.integers(0, labels, shape) if name.startswith("y") else rng.integers(0, 256, shape)
        ).astype(np.uint8)
        for name, shape in prefetch.MNIST_SHAPES.items()
    }
    np.savez(path, **arrays)
    return path


def test_prefetch_verifies_a_cache(tmp_path):
    good = _fake_mnist(tmp_path / "mnist.npz")
    assert prefetch.verify_mnist(good) == good
    with pytest.raises(ValueError, match="y_train should hold the labels 0-9"):
        prefetch.verify_mnist(_fake_mnist(tmp_path / "nine.npz", labels=9))
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a readable .npz"):
        prefetch.verify_mnist(tmp_path / "cut.npz")
    weights = tmp_path / "weights.h5"
    weights.write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="MD5"):
        prefetch.verify_resnet50(weights)  # Keras's published checksum
    assert prefetch.verify_resnet50(weights, md5=prefetch._md5(weights)) == weights
    with pytest.raises(FileNotFoundError, match="make prefetch"):
        prefetch.verify_resnet50(tmp_path / "absent.h5")


def test_prefetch_without_network_says_so(tmp_path):
    """No network (a proxy that refuses), empty cache: both loaders fail, exit code 1."""
    env = dict(
        os.environ,
        KERAS_HOME=str(tmp_path),
        CAM_EDU_OFFLINE="1",  # prefetch must ignore it
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
    )
    result = subprocess.run(
        [sys.executable, "-m", "cam_edu.teaching", "prefetch"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "prefetch failed (it needs a network the first time)" in out
    assert "MNIST: Could not download MNIST" in out
    assert "ResNet50: The ImageNet weights of ResNet50 are not in the Keras cache" in out
    assert "CAM_EDU_OFFLINE is set" not in out, "prefetch did not try the network"
    assert str(tmp_path / "datasets" / "mnist.npz") in out
