"""Smoke test of benchmarks/faithfulness_costs.py: the rows it returns, at toy sizes, and
the number of images each method runs through the model, counted on the model calls."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "faithfulness_costs.py"


@pytest.fixture(scope="module")
def costs():
    spec = importlib.util.spec_from_file_location("faithfulness_costs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_are_ratios_to_the_forward_pass(costs, gap_model, digits):
    rows = costs.rows(gap_model, digits[:2], "toy", repeat=2, patch=8, stride=4, num_samples=10)
    assert [r["baseline"] for r in rows] == ["occlusion", "Score-CAM", "LIME"]
    for r in rows:
        assert r["ratio"] == pytest.approx(r["baseline_ms"] / r["candidate_ms"])
        assert r["ratio"] > 1  # each runs the model on many images, not one batch
    # the images each method really ran through the model (the benchmark counts the compiled
    # calls), per input image, against what the methods must do: the original (twice for
    # occlusion: once more beside its copies) + 6 x 6 patch positions (28 px, patch 8,
    # stride 4); + 64 masks, one per channel of the "features" layer; + 10 LIME samples
    counts = [r["extra"]["model_images_per_image"] for r in rows]
    assert counts == [2 + 6 * 6, 1 + 64, 1 + 10]
    assert np.isfinite([r["ratio"] for r in rows]).all()
