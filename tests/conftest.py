"""Shared fixtures: small seeded Keras models built once per test session."""

import socket

import keras
import numpy as np
import pytest

from cam_edu.course.models import build_gap_cnn


@pytest.fixture(scope="session")
def gap_model():
    """An untrained 10-class GAP CNN on 28x28x1 inputs (features 7x7x64)."""
    return build_gap_cnn(seed=1)


@pytest.fixture(scope="session")
def digits():
    """Eight seeded random 'images' in [0, 1], shape (8, 28, 28, 1)."""
    return np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)


@pytest.fixture(scope="session")
def nested_model():
    """A Sequential wrapping a functional conv base, then GAP -> Dense(5, softmax)."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="inner_conv1")(inp)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="inner_conv2")(x)
    base = keras.Model(inp, x, name="base")
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            base,
            keras.layers.GlobalAveragePooling2D(name="outer_gap"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(5, activation="softmax", name="outer_dense"),
        ],
        name="nested",
    )


@pytest.fixture()
def no_network(monkeypatch, tmp_path):
    """Every connection attempt fails at once, and the Keras cache is an empty folder.

    ``KERAS_HOME`` points at an empty folder (cam_edu reads it at each call), so a file
    cached on this machine cannot hide a download; ``CAM_EDU_OFFLINE`` is unset, so the
    code under test really tries the network. Returns the list of attempted connections.
    """
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("CAM_EDU_OFFLINE", raising=False)
    return attempts


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The course website with its slide decks, built once (``make site`` into a temp folder).

    Needs ``node_modules/`` (``npm ci``, which ``make test`` runs first):
    without it the build fails and says so.
    """
    from cam_edu.teaching import site

    root = tmp_path_factory.mktemp("site")
    source, out = root / "src", root / "html"
    assert site.build(source, out) == 0, "sphinx-build failed (its messages are above)"
    return out
