"""The package as a whole: its public entry points, its imports and its dependencies."""

import ast
import importlib
import importlib.metadata as metadata
import pkgutil
import re
import sys
from pathlib import Path

import cam_edu

ROOT = Path(__file__).resolve().parents[1]
PRIVATE_KERAS = re.compile(r"keras\.src|\._keras_history|\._inbound_nodes|_KERAS_DIR")


def _modules() -> list[str]:
    names = (m.name for m in pkgutil.walk_packages(cam_edu.__path__, "cam_edu."))
    return sorted(name for name in names if not name.endswith("__main__"))


def test_entry_points_are_exported_at_the_top_level():
    for name in cam_edu.__all__:
        assert callable(getattr(cam_edu, name)), name
    for name in ("compute_cam", "grad_cam", "grad_cam_plus_plus", "cam_explorer", "cam_head"):
        assert name in cam_edu.__all__


def test_every_package_docstring_lists_its_modules():
    for name in _modules():
        parent, last = name.rsplit(".", 1)
        doc = importlib.import_module(parent).__doc__ or ""
        assert f":mod:`{name}`" in doc or f":mod:`.{last}`" in doc, (
            f"{name} is missing from the docstring of {parent}"
        )


def test_only_public_keras_api_is_used():
    offenders = []
    for path in [*ROOT.glob("cam_edu/**/*.py"), *ROOT.glob("tests/*.py"), *ROOT.glob("*/*.py")]:
        if path.name == "test_package.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PRIVATE_KERAS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "private Keras API:\n" + "\n".join(offenders)


def _requirement_names(dist: str, extras: bool = False) -> set[str]:
    names = set()
    for req in metadata.requires(dist) or []:
        if "extra ==" in req and not extras:
            continue
        names.add(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def _runtime_closure() -> set[str]:
    """The distributions a plain ``pip install .`` brings: cam_edu's runtime requirements
    and theirs, recursively (as installed here)."""
    seen, todo = set(), list(_requirement_names("cam_edu"))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += _requirement_names(name)
        except metadata.PackageNotFoundError:
            continue
    return seen


def _imported_top_level_modules() -> dict[str, str]:
    found = {}
    for path in ROOT.glob("cam_edu/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_a_plain_install_imports_every_module():
    """Every module-level or lazy import of cam_edu is a runtime dependency (or comes with
    one), so ``pip install .`` without the dev extra can import all of cam_edu."""
    closure = _runtime_closure()
    providers = metadata.packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_level_modules().items()):
        if module in sys.stdlib_module_names or module == "cam_edu":
            continue
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        if not dists & closure:
            missing.append(f"{module} (imported in {where}; from {sorted(dists) or '?'})")
    assert not missing, "not installed by `pip install .`: " + ", ".join(missing)


def test_every_module_imports():
    for name in _modules():
        importlib.import_module(name)
