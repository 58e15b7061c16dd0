"""Shared fixtures: small seeded Keras models built once per test session, the website,
and what the exercises ask students to write."""

import ast
import socket
from pathlib import Path

import keras
import nbformat
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


# The formulas exercises ask students to derive (spaces removed): Grad-CAM++'s weight
# (ex06a, Task 4) and the map of class 0 of a sigmoid head (ex01, Task 1).
TASK_FORMULAS = (
    "g^2/(2g^2",
    "/(2g^2+",
    "g**2/(2*g**2",
    "2*g**2+",
    "sigmoid(-z)",
    "σ(-z)",
    "[-M,M]",
    "has-M",
)


def code_pieces(source: str) -> set[str]:
    """The calls and statements (20 characters or more, spaces removed) in the bodies of
    the functions a solution cell defines: the code a student must write."""
    tree = ast.parse(source)
    pieces = set()
    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        body = function.body[1:] if ast.get_docstring(function) else function.body
        for node in (n for statement in body for n in ast.walk(statement)):
            if isinstance(node, ast.Call | ast.stmt):
                text = "".join((ast.get_source_segment(source, node) or "").split())
                if len(text) >= 20:
                    pieces.add(text)
    return pieces


@pytest.fixture(scope="session")
def task_answers() -> dict[str, frozenset[str]]:
    """What each exercise asks its students to write, spaces removed: the code of its model
    answers that its student version does not show (a ``def`` line is shown), and
    :data:`TASK_FORMULAS` under ``"formulas"``. No hint, markdown cell or check docstring
    may contain any of it."""
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    found = {"formulas": frozenset(TASK_FORMULAS)}
    for path in sorted((notebooks / "solutions").glob("ex*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        student = nbformat.read(notebooks / "exercises" / path.name, as_version=4)
        shown = "".join("".join(c.source.split()) for c in student.cells if c.cell_type == "code")
        tagged = [c.source for c in solution.cells if "solution" in c.metadata.get("tags", [])]
        pieces = set().union(*map(code_pieces, tagged))
        found[path.stem] = frozenset(p for p in pieces if p not in shown)
    return found
