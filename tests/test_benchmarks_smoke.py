"""Smoke test of benchmarks/run_benchmarks.py: its functions, with toy sizes, in seconds.

The benchmark itself (``make benchmark``) is not a test; this checks that its parts
measure what they say, that ``--tiny`` writes the JSON and the plot, and that
``--update-readme`` only touches the text between the markers.
"""

import importlib.util
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run_benchmarks.py"


@pytest.fixture(scope="module")
def bench():
    """The benchmark script and its two sibling modules (cases, report), as one namespace."""
    spec = importlib.util.spec_from_file_location("run_benchmarks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_benchmarks"] = module
    spec.loader.exec_module(module)  # puts benchmarks/ on sys.path for its siblings
    import cases
    import report

    yield SimpleNamespace(**{**vars(cases), **vars(report), **vars(module)})
    sys.modules.pop("run_benchmarks", None)


def test_compare_orders_a_slow_and_a_fast_function(bench):
    slow, fast = bench.compare(lambda: time.sleep(0.004), lambda: None, repeat=3)
    assert slow.median > 0.003
    assert slow.median / fast.median > 10
    assert len(slow.samples) == len(fast.samples) == 3


def test_gap_and_cam_rows_check_agreement(bench):
    f = bench._features(2, 7, 7, 8)
    w = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    gap = bench.bench_gap(f, "toy", repeat=2)
    cam = bench.bench_cam(f, w, "toy", repeat=2)
    for row in (gap, cam):
        assert row.ratio == pytest.approx(row.baseline_ms / row.candidate_ms)
        assert float(row.check.split(": ")[-1]) < 1e-5  # loop and vectorized agree
    assert "all 3 classes" in cam.candidate


def test_tf_keras_vis_missing_is_reported_not_raised(bench, gap_model, digits, monkeypatch):
    monkeypatch.setitem(sys.modules, "tf_keras_vis", None)  # import fails
    result = bench.bench_tf_keras_vis(gap_model, digits[:2], "toy", repeat=2)
    assert result["status"] == "not installed"
    assert "pip install tf-keras-vis" in result["error"]
    assert bench.tf_keras_vis_row(result) is None


def test_update_readme_replaces_only_the_marked_section(bench, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{bench.START}\nold numbers\n{bench.END}\n\n## After\n")
    bench.update_readme(readme, "## Benchmarks\n\nnew numbers\n")
    text = readme.read_text()
    assert "old numbers" not in text and "new numbers" in text
    assert text.startswith("# Title\n\n") and text.endswith(f"{bench.END}\n\n## After\n")
    bench.update_readme(readme, "again")
    assert readme.read_text().count(bench.START) == 1 and "new numbers" not in readme.read_text()
    readme.write_text("no markers here\n")
    with pytest.raises(ValueError, match="benchmarks:start"):
        bench.update_readme(readme, "x")


def test_tiny_run_writes_json_plot_and_readme(bench, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{bench.START}\n{bench.END}\n")
    assert (
        bench.main(["--tiny", "--out", str(tmp_path), "--update-readme", "--readme", str(readme)])
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    groups = {row["group"] for row in results["rows"]}
    assert {"loop vs vectorized", "Grad-CAM vs CAM", "batched vs per-image"} <= groups
    assert all(row["ratio"] > 0 for row in results["rows"])
    redraw = results["redraw"]
    assert redraw["samples"] > 0 and redraw["median_ms"] <= redraw["p90_ms"] <= redraw["max_ms"]
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = readme.read_text()
    assert "| comparison |" in text and "make benchmark" in text
    assert all(row["label"] in text for row in results["rows"])
