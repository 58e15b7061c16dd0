"""Instructor tooling (``cam_edu.teaching``): slide metadata, decks, website, page, prefetch.

The browser checks of the same outputs are in ``tests/test_site_browser.py``.
"""

from __future__ import annotations

import base64
import copy
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from cam_edu.teaching import assets, instructor, prefetch, slides
from cam_edu.teaching import notebooks as nbs

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


def test_speaker_notes_on_every_slide_with_measured_times():
    nb = nbformat.read(LESSONS[0], as_version=4)
    count = len(nbs.slides_of(nb))
    assert nbs.with_speaker_notes(nb) == count
    notes = [c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") == "notes"]
    assert len(notes) == count
    for slide in nbs.slides_of(nb):  # each slide ends with its notes cell
        assert nb.cells[slide.cells[-1]] in notes
    assert all(n.source.startswith("**About ") for n in notes)
    shown_seconds = [
        nbs.cell_seconds(c) for c in nb.cells if c.cell_type == "code" and not nbs.skip_reason(c)
    ]
    reported = [float(x) for n in notes for x in re.findall(r"([\d.]+) s measured", n.source)]
    assert sum(reported) == pytest.approx(sum(shown_seconds), abs=0.05 * len(reported))


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
    assert len(pictures[0].metadata["image/png"]["alt"].split()) >= 4
    assert any(o.get("data", {}).get("text/markdown") == nbs.LIVE_LINE for o in outputs)


def test_a_frozen_explorer_picture_says_what_it_shows(gap_model, digits):
    """The alt text of the stored picture is the live explorer's: image, class, method, scale."""
    from ipywidgets.widgets.widget import _remove_buffers

    from cam_edu.widgets import cam_explorer

    explorer = cam_explorer(gap_model, digits, class_names=list("abcdefghij"))
    explorer.method_menu.value = "gradcam"
    explorer.klass.value = 7
    state, paths, buffers = _remove_buffers(explorer.picture.get_state())
    model = {
        "model_name": "AnyModel",
        "state": state,
        "buffers": [
            {"path": p, "encoding": "base64", "data": base64.b64encode(b).decode()}
            for p, b in zip(paths, buffers, strict=True)
        ],
    }
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


# ----------------------------------------------------------------------------- slides


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
    nb = nbformat.read(LESSONS[2], as_version=4)
    count = len(nbs.slides_of(nb))
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
