"""Prepare a classroom without a network: MNIST and the ResNet50 weights into the caches.

``make prefetch`` (``python -m cam_edu.teaching prefetch``), on a machine with a network,
calls the course's own loaders, :func:`cam_edu.course.data.load_mnist` with
``offline=False`` and :func:`cam_edu.course.imagenet.load_resnet50`, which download into
the Keras cache; then it verifies the cached files: MNIST's arrays (shapes, type, labels)
and the weights file's MD5 checksum as Keras publishes it. Copy the Keras cache to the
classroom machines; the lessons then run offline. ``--verify-only`` skips the downloads.

>>> verify_mnist("/nonexistent/mnist.npz")
Traceback (most recent call last):
...
FileNotFoundError: MNIST is not cached at /nonexistent/mnist.npz: run `make prefetch` online.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

MNIST_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}


def _missing(what: str, path: Path | str) -> FileNotFoundError:
    return FileNotFoundError(f"{what} is not cached at {path}: run `make prefetch` online.")


def verify_mnist(path: Path | str | None = None) -> Path:
    """Check the cached ``mnist.npz``: four arrays of the right shapes, uint8, labels 0-9."""
    from cam_edu.course.data import mnist_cache_path

    path = Path(path or mnist_cache_path())
    if not path.is_file():
        raise _missing("MNIST", path)
    try:
        with np.load(path) as arrays:
            found = {name: arrays[name] for name in MNIST_SHAPES if name in arrays}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"{path} is not a readable .npz file ({exc}); delete it and run `make prefetch` again."
        ) from exc
    for name, shape in MNIST_SHAPES.items():
        if name not in found or found[name].shape != shape or found[name].dtype != np.uint8:
            got = (found[name].shape, found[name].dtype) if name in found else "missing"
            raise ValueError(
                f"{path}: {name} should be uint8 {shape}, got {got}; delete it "
                "and run `make prefetch` again."
            )
    for name in ("y_train", "y_test"):
        if set(np.unique(found[name])) != set(range(10)):
            raise ValueError(
                f"{path}: {name} should hold the labels 0-9; delete it and run "
                "`make prefetch` again."
            )
    return path


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_resnet50(path: Path | str | None = None, md5: str | None = None) -> Path:
    """Check the cached ResNet50 weights against Keras's published MD5 (or ``md5``)."""
    from cam_edu.course.imagenet import WEIGHTS_MD5, weights_path

    md5 = WEIGHTS_MD5 if md5 is None else md5
    path = Path(path or weights_path())
    if not path.is_file():
        raise _missing("The ResNet50 ImageNet weights file", path)
    found = _md5(path)
    if found != md5:
        raise ValueError(
            f"{path} has MD5 {found}, not Keras's {md5}: the download was "
            "interrupted or the file is not the weights. Delete it and run "
            "`make prefetch` again."
        )
    return path


def download() -> list[str]:
    """Run the two loaders with the network; return the failures' messages (empty if none)."""
    from cam_edu.course.data import OFFLINE_ENV, load_mnist
    from cam_edu.course.imagenet import load_resnet50

    os.environ.pop(OFFLINE_ENV, None)  # prefetching is the one time the network is wanted
    failures = []
    for name, load in (("MNIST", lambda: load_mnist(offline=False)), ("ResNet50", load_resnet50)):
        try:
            load()
        except (ConnectionError, ValueError) as exc:
            failures.append(f"{name}: {exc}")
    return failures


def main(verify_only: bool = False) -> int:
    """Download (unless ``verify_only``), then verify; print what happened; exit code."""
    failures = [] if verify_only else download()
    for check in (verify_mnist, verify_resnet50):
        try:
            path = check()
        except (FileNotFoundError, ValueError) as exc:
            failures.append(str(exc))
        else:
            print(f"ok: {path} ({path.stat().st_size / 1e6:.1f} MB, verified)")
    if failures:
        print("prefetch failed (it needs a network the first time):\n- " + "\n- ".join(failures))
        return 1
    print("MNIST and the ResNet50 weights are cached and verified: the lessons run offline.")
    return 0
