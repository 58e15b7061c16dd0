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


def _closure(names: set[str]) -> set[str]:
    """The distributions ``names`` bring, recursively (as installed here)."""
    seen, todo = set(), list(names)
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


def _imported_top_level_modules(paths) -> dict[str, str]:
    found = {}
    for path in paths:
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


def _missing(paths, closure: set[str]) -> list[str]:
    providers = metadata.packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_level_modules(paths).items()):
        if module in sys.stdlib_module_names or module in ("cam_edu", "tensorflow"):
            continue  # TensorFlow: brought by the user, or by the extra "tensorflow" or "cpu"
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        if not dists & closure:
            missing.append(f"{module} (imported in {where}; from {sorted(dists) or '?'})")
    return missing


CORE = [p for p in ROOT.glob("cam_edu/*.py") if p.name != "widgets.py"]


def test_the_core_imports_only_what_a_plain_install_brings():
    """The library's modules import only the core's requirements (and TensorFlow, which a
    plain ``pip install cam_edu`` leaves to the user: see the README's "After the course")."""
    closure = _closure(_requirement_names("cam_edu"))
    assert not _missing(CORE, closure), "not installed by `pip install .`"


def test_every_other_module_imports_only_what_the_extras_bring():
    closure = _closure(_requirement_names("cam_edu", extras=True))
    others = [p for p in ROOT.glob("cam_edu/**/*.py") if p not in CORE]
    assert not _missing(others, closure), "not installed by any extra"


def test_the_core_names_no_tensorflow_distribution_and_the_extras_name_the_rest():
    """``tensorflow`` and ``tensorflow-cpu`` are two distributions of one import name; a core
    that required one would install it next to the other (see the README)."""
    core = _requirement_names("cam_edu")
    assert core == {"keras", "numpy", "scipy", "matplotlib"}, core
    extras = set(metadata.metadata("cam_edu").get_all("Provides-Extra"))
    assert {"explorer", "lime", "course", "instructor", "dev", "tensorflow", "cpu"} <= extras


def test_every_module_imports():
    for name in _modules():
        importlib.import_module(name)


def _course_imports() -> dict[str, set[str]]:
    """Which ``cam_edu.course`` modules each one imports (anywhere in it, lazily too)."""
    graph = {}
    for path in ROOT.glob("cam_edu/course/**/*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[name] = {m for m in found if m.startswith("cam_edu.course")}
    return graph


def test_the_course_package_has_no_import_cycle():
    graph = _course_imports()

    def reach(start: str, seen: set[str]) -> set[str]:
        for nxt in graph.get(start, ()):
            if nxt not in seen:
                seen.add(nxt)
                reach(nxt, seen)
        return seen

    cycles = [name for name in graph if name in reach(name, set())]
    assert not cycles, f"modules of cam_edu.course that import themselves through others: {cycles}"
