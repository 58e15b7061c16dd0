"""Build the student exercise notebooks from the solution notebooks (one source of truth).

The instructor writes ``notebooks/solutions/exNN_*.ipynb``, runs them (so they hold
the outputs of a correct solution) and tags the cells:

- ``solution``: a code cell holding only imports and function definitions. In the
  student version each function keeps its ``def`` line(s) and docstring; the body
  becomes ``# YOUR CODE HERE`` and ``raise NotImplementedError``. Imports stay.
- ``self-check``: a code cell calling :mod:`cam_edu.exercises.checks` on the student's
  functions. Its stored output must be the checks' ``✓`` line(s).
- ``solution-only`` (optional): a cell left out of the student version.

In the student version the exercise cells (tag ``exercise``) and the self-check cells
are stored *unrun*: no outputs, no execution count, so nobody sees a ``✓`` before
writing a line. Every other cell is copied with its outputs. ``pytest --nbval`` on a
student notebook therefore compares the outputs of the other cells with a correct
solution's, runs the unrun cells without comparing their outputs, and fails where a
cell raises: a failing self-check raises
:class:`~cam_edu.exercises.checks.SelfCheckFailed`, whose message is its ``✗`` line
with the hint. The untouched student version fails exactly at the self-checks.

Commands (from the repository root; :mod:`.cli`)::

    python -m cam_edu.exercises build            # write notebooks/exercises/*.ipynb
    python -m cam_edu.exercises build --execute  # run the solutions first, then build
    python -m cam_edu.exercises build --force    # also replace edited copies (keeps a .bak)
    python -m cam_edu.exercises check            # exit 1 unless all are in sync

A student copy is *edited* when its cell types and sources no longer hash to the
value the builder recorded in its metadata (``metadata.cam_edu.work_sha256``);
outputs do not count (running a notebook is not editing it). ``build`` never
overwrites an edited copy without ``--force`` and writes atomically
(:mod:`cam_edu.exercises.safe_io`).

>>> print(stub_source('def f(x):\\n    \"\"\"Twice x.\"\"\"\\n    return 2 * x\\n'))
def f(x):
    \"\"\"Twice x.\"\"\"
    # YOUR CODE HERE
    raise NotImplementedError
"""

from __future__ import annotations

import ast
import copy
import io
import json
import tokenize
from pathlib import Path

import nbformat

from cam_edu.exercises.safe_io import WriteResult, atomic_write, sha256, write_protected

SOLUTION_TAG = "solution"
CHECK_TAG = "self-check"
SOLUTION_ONLY_TAG = "solution-only"
STUDENT_TAG = "exercise"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError")
PASS_MARK = "✓"
METADATA_KEY = "cam_edu"


class ExerciseError(ValueError):
    """A solution notebook breaks a rule of the builder; the message says which and how."""


# --------------------------------------------------------------------------- one cell


def _header_end(lines: list[str], node: ast.FunctionDef) -> int:
    """1-based line of the ``:`` that ends the ``def`` header of ``node``."""
    start = node.lineno
    text = "\n".join(lines[start - 1 :]) + "\n"
    depth, seen_def = 0, False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.NAME and tok.string == "def":
                seen_def = True
            elif tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
            elif tok.type == tokenize.OP and tok.string in ")]}":
                depth -= 1
            elif seen_def and depth == 0 and tok.type == tokenize.OP and tok.string == ":":
                return start + tok.start[0] - 1
    except tokenize.TokenError:  # pragma: no cover - the source parsed with ast already
        pass
    raise ExerciseError(f"could not find the end of the header of {node.name}()")


def _docstring_end(node: ast.FunctionDef) -> int | None:
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first.end_lineno
    return None


def stub_source(source: str, where: str = "a solution cell") -> str:
    """The student version of a solution cell: function bodies replaced by a stub.

    Each top-level function keeps its decorators, its ``def`` header (however many
    lines) and its docstring; the rest of its body becomes::

        # YOUR CODE HERE
        raise NotImplementedError

    Imports and comments outside the functions are kept.

    Args:
        source: the cell's code; it may hold only imports and function definitions,
            so that the student version runs without error up to the self-checks.
        where: how to name the cell in error messages.

    Raises:
        ExerciseError: for other top-level statements, a cell without functions, a
            function with only a docstring, or a body on the ``def`` line.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ExerciseError(f"{where} is not valid Python: {exc}") from None
    lines = source.splitlines()
    functions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.append(node)
        elif not isinstance(node, ast.Import | ast.ImportFrom):
            code = lines[node.lineno - 1].strip()
            raise ExerciseError(
                f"{where}, line {node.lineno} (`{code[:60]}`): a solution cell may hold only "
                "imports and function definitions, so that the student version runs up to "
                "the self-check. Move this statement into a function or into an untagged cell."
            )
    if not functions:
        raise ExerciseError(
            f"{where} defines no function. Tag as 'solution' only cells whose functions the "
            "student writes; the student version keeps each def line and docstring."
        )
    replacements = []
    for node in functions:
        header = _header_end(lines, node)
        if node.body[0].lineno == header:
            raise ExerciseError(
                f"{where}: the body of {node.name}() is on its def line; put it on its own "
                "lines so that the student version can keep the def line."
            )
        keep_until = _docstring_end(node) or header
        rest = node.body[1:] if _docstring_end(node) else node.body
        if not rest:
            raise ExerciseError(
                f"{where}: {node.name}() has only a docstring, so there is nothing for the "
                "student to write."
            )
        end = node.end_lineno
        while end < len(lines) and lines[end].strip() and lines[end][:1].isspace():
            end += 1  # indented comments right after the body belong to the function
        indent = " " * rest[0].col_offset
        replacements.append((keep_until, end, [indent + s for s in STUB]))
    out = list(lines)
    for keep_until, end, stub in reversed(replacements):
        out[keep_until:end] = stub
    return "\n".join(out).rstrip("\n")


def _bound_names(node: ast.Import | ast.ImportFrom) -> list[tuple[str, int]]:
    names = []
    for alias in node.names:
        bound = alias.asname or alias.name.split(".")[0]
        names.append((bound, getattr(alias, "lineno", node.lineno)))
    return names


def _used_names(sources: list[str]) -> set[str]:
    used = set()
    for src in sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        used.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    return used


def _mark_unused_imports(source: str, used: set[str]) -> str:
    """Append ``# noqa: F401`` to the import lines of names that nothing in ``used`` uses."""
    tree = ast.parse(source)
    lines = source.splitlines()
    flag = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name, lineno in _bound_names(node):
                if name not in used:
                    flag.add(lineno)
    for lineno in flag:
        if "noqa" not in lines[lineno - 1]:
            lines[lineno - 1] += "  # noqa: F401 (you will need it)"
    return "\n".join(lines)


# --------------------------------------------------------------------------- notebooks


def cell_tags(cell) -> list[str]:
    """The tags of a notebook cell (``[]`` if it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def _stream_text(cell) -> str:
    return "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


def validate_solution(nb, name: str) -> None:
    """Check the rules a solution notebook must follow; raise :class:`ExerciseError`.

    - at least one ``solution`` cell and one ``self-check`` cell, all code cells;
    - it was run: every code cell has an execution count and no cell holds an error;
    - every self-check prints only ``✓`` lines (the output nbval will expect);
    - every function the student writes is called by a self-check cell after it.
    """
    solutions = [i for i, c in enumerate(nb.cells) if SOLUTION_TAG in cell_tags(c)]
    checks = [i for i, c in enumerate(nb.cells) if CHECK_TAG in cell_tags(c)]
    if not solutions:
        raise ExerciseError(f"{name} has no cell tagged {SOLUTION_TAG!r}.")
    if not checks:
        raise ExerciseError(
            f"{name} has no cell tagged {CHECK_TAG!r}; every exercise needs a self-check."
        )
    for i in solutions + checks:
        if nb.cells[i].cell_type != "code":
            raise ExerciseError(f"{name}, cell {i}: tagged cells must be code cells.")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            raise ExerciseError(
                f"{name}, cell {i} was never run. Execute the solution notebook first "
                "(python -m cam_edu.exercises build --execute) so that it stores the outputs "
                "of a correct solution."
            )
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise ExerciseError(
                    f"{name}, cell {i} stores an error ({out.get('ename')}); the solution "
                    "must run cleanly."
                )
    for i in checks:
        text = _stream_text(nb.cells[i]).strip()
        bad = [line for line in text.splitlines() if not line.startswith(PASS_MARK)]
        if not text or bad:
            raise ExerciseError(
                f"{name}, self-check cell {i} must print only '{PASS_MARK} ...' lines with a "
                f"correct solution; it printed {text[:200]!r}."
            )
    for i in solutions:
        tree = ast.parse(nb.cells[i].source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                later = [j for j in checks if j > i]
                if not any(node.name in _used_names([nb.cells[j].source]) for j in later):
                    raise ExerciseError(
                        f"{name}: function {node.name}() (cell {i}) is not called by any "
                        "self-check cell after it, so a wrong answer would go unnoticed. "
                        "Pass it to a cam_edu.exercises.checks function in a cell tagged "
                        f"{CHECK_TAG!r}."
                    )


def work_fingerprint(nb) -> str:
    """SHA-256 of what a student edits: each cell's type and source, in order."""
    cells = [[c.cell_type, c.source] for c in nb.cells]
    return sha256(json.dumps(cells, ensure_ascii=False))


def student_notebook(solution_nb, source_name: str):
    """The student version of a solution notebook (a new notebook; the input is not changed).

    Args:
        solution_nb: the solution notebook (``nbformat`` v4, executed).
        source_name: the solution's path relative to ``notebooks/``, recorded in the
            student notebook's metadata.
    """
    validate_solution(solution_nb, source_name)
    nb = nbformat.v4.new_notebook()
    nb.nbformat, nb.nbformat_minor = solution_nb.nbformat, solution_nb.nbformat_minor
    nb.metadata = copy.deepcopy(
        {k: v for k, v in solution_nb.metadata.items() if k in ("kernelspec", "language_info")}
    )
    for i, cell in enumerate(solution_nb.cells):
        tags = cell_tags(cell)
        if SOLUTION_ONLY_TAG in tags:
            continue
        new = copy.deepcopy(cell)
        new.metadata.pop("execution", None)
        new.metadata.pop("ExecuteTime", None)
        if SOLUTION_TAG in tags:
            new.source = stub_source(cell.source, f"{source_name}, cell {i}")
            new.metadata["tags"] = [STUDENT_TAG if t == SOLUTION_TAG else t for t in tags]
        if SOLUTION_TAG in tags or CHECK_TAG in tags:
            new.outputs, new.execution_count = [], None  # stored unrun: see the module doc
        nb.cells.append(new)
    # Hiding the bodies can leave imports unused anywhere in the notebook (numpy in the
    # set-up cell, say); mark them so that the linter passes on the student version.
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    used = _used_names([c.source for c in code_cells])
    for cell in code_cells:
        try:
            cell.source = _mark_unused_imports(cell.source, used)
        except SyntaxError:  # a cell with IPython magics: leave it alone
            pass
    nb.metadata[METADATA_KEY] = {
        "generated_from": source_name,
        "note": "Generated by `python -m cam_edu.exercises build`; edit the solution instead.",
        "work_sha256": work_fingerprint(nb),
    }
    nbformat.validate(nb)
    return nb


def render(nb) -> str:
    """The notebook as the JSON text the builder writes (stable, ends with a newline)."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def is_untouched(data: bytes) -> bool:
    """Whether an existing student notebook is unedited builder output.

    ``False`` for anything not written by the builder (no recorded fingerprint, not
    a notebook) and for copies whose cells changed since the build.
    """
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:
        return False
    recorded = nb.metadata.get(METADATA_KEY, {}).get("work_sha256")
    return recorded is not None and recorded == work_fingerprint(nb)


# --------------------------------------------------------------------------- folders


def default_notebooks_dir() -> Path:
    """``./notebooks`` if it has ``solutions/``, else the course's own notebooks folder."""
    here = Path.cwd() / "notebooks"
    if (here / "solutions").is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "notebooks"


def solution_paths(solutions_dir: Path, names=None) -> list[Path]:
    """The solution notebooks, sorted; ``names`` filters by file name or prefix (``ex01``)."""
    paths = sorted(Path(solutions_dir).glob("*.ipynb"))
    if not paths:
        raise ExerciseError(f"no solution notebooks (*.ipynb) in {solutions_dir}.")
    if names:
        chosen = [p for p in paths if any(p.name == n or p.name.startswith(n) for n in names)]
        missing = [n for n in names if not any(p.name == n or p.name.startswith(n) for p in paths)]
        if missing:
            raise ExerciseError(
                f"no solution notebook matches {', '.join(missing)}; the solutions are: "
                f"{', '.join(p.name for p in paths)}."
            )
        paths = chosen
    return paths


def execute_solution(path: Path, timeout: int = 600) -> None:
    """Run a solution notebook in place (kernel ``python3``, cwd = its folder), atomically."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    ).execute()
    atomic_write(path, render(nb))


def build(
    notebooks_dir: Path | None = None, names=None, force: bool = False, execute: bool = False
) -> list[WriteResult]:
    """Write ``exercises/<name>`` for every ``solutions/<name>``; returns what happened to each.

    Unedited copies are replaced, edited ones are kept (``status == "kept"``) unless
    ``force``, which first saves them as ``<name>.bak``.
    """
    root = default_notebooks_dir() if notebooks_dir is None else Path(notebooks_dir)
    out_dir = root / "exercises"
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for path in solution_paths(root / "solutions", names):
        if execute:
            execute_solution(path)
        nb = student_notebook(nbformat.read(path, as_version=4), f"solutions/{path.name}")
        results.append(
            write_protected(out_dir / path.name, render(nb), untouched=is_untouched, force=force)
        )
    return results


def _first_difference(expected, found) -> str:
    if len(expected.cells) != len(found.cells):
        return f"it has {len(found.cells)} cells, the build gives {len(expected.cells)}"
    for i, (a, b) in enumerate(zip(expected.cells, found.cells, strict=True)):
        for key in ("cell_type", "source", "outputs"):
            if a.get(key) != b.get(key):
                return f"cell {i} differs in its {key}"
        if cell_tags(a) != cell_tags(b):
            return f"cell {i} differs in its tags"
    return "its metadata differs"


def check(notebooks_dir: Path | None = None) -> list[str]:
    """Problems that make the student notebooks differ from a fresh build; ``[]`` if in sync."""
    root = default_notebooks_dir() if notebooks_dir is None else Path(notebooks_dir)
    problems = []
    paths = solution_paths(root / "solutions")
    for path in paths:
        target = root / "exercises" / path.name
        try:
            nb = student_notebook(nbformat.read(path, as_version=4), f"solutions/{path.name}")
        except ExerciseError as exc:
            problems.append(str(exc))
            continue
        if not target.exists():
            problems.append(f"exercises/{path.name} is missing; run the build.")
            continue
        data = target.read_bytes()
        if json.loads(data) == json.loads(render(nb)):
            continue
        found = nbformat.reads(data.decode("utf-8"), as_version=4)
        if not is_untouched(data):
            problems.append(
                f"exercises/{path.name} was edited by hand ({_first_difference(nb, found)}); "
                "edit the solution instead, then rebuild with --force (keeps a .bak)."
            )
        else:
            problems.append(
                f"exercises/{path.name} is out of date ({_first_difference(nb, found)}); "
                "rebuild it."
            )
    names = {p.name for p in paths}
    for orphan in sorted((root / "exercises").glob("*.ipynb")):
        if orphan.name not in names:
            problems.append(
                f"exercises/{orphan.name} has no solution in solutions/; add one or delete it."
            )
    return problems
