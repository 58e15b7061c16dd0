"""What the cells of a submitted notebook define, read without running them.

A check that reads the student's code (no loops: :func:`.checks.harness.require_no_loops`)
reads, in the grader's replay, the source the notebook's cells give the name the check
cell passes. It must read what the notebook ran, or the grade and the notebook disagree:
so a name given another name's function (``f = f_loop``) is followed to that ``def``, a
``def`` inside an ``if`` counts, and what cannot be read statically is not read at all
(the check then fails, saying so, in the notebook as in the replay).

>>> import nbformat
>>> cell = nbformat.v4.new_code_cell("def f(x):\\n    return x\\ng = f\\nh = g()")
>>> definitions([cell])
{'f': 'def f(x):\\n    return x', 'g': 'def f(x):\\n    return x', 'h': None}
"""

from __future__ import annotations

import ast
import re
import textwrap

# Names with which any name may be bound to anything, in ways not read here: code run
# from a string, the namespace changed directly, magics other than those below.
DYNAMIC = frozenset(
    {"exec", "eval", "globals", "locals", "vars", "setattr", "__import__", "__main__"}
    | {"__dict__", "__builtins__", "builtins", "modules", "user_ns", "push"}
    | {"run_cell", "run_cell_magic", "run_line_magic"}
)
SAFE_MAGICS = frozenset(  # they bind no name
    {"matplotlib", "config", "load_ext", "autoreload", "pip", "who", "whos", "xmode", "precision"}
)
CODE_MAGICS = frozenset({"time", "timeit", "capture"})  # run code: what it binds is not read
_TIMEIT_OPTIONS = re.compile(r"^(?:\s*-(?:[nrp]\s*\d+|[tcqo])(?=\s))*\s*")
_BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith)


def definitions(cells) -> dict[str, str | None]:
    """What a check that reads code (no loops) reads in the replay: for each name the
    cells bind, the source of the function it names (``None``: it cannot be read).

    The cells are read in order, as Python runs them: a ``def`` without decorators (at
    the top level of a cell, or in an ``if``, ``for``, ``while``, ``try`` or ``with``
    block there) or ``name = lambda ...`` defines a name; ``name = other`` gives it
    ``other``'s function; any other binding (an import, a class, another value, code
    run by ``%time``) cannot be read. A definition in a block may not run, so it is read
    together with the one before it (a loop in either counts). If any statement may
    bind names unseen (:data:`DYNAMIC`: ``exec``, ``globals()``, most magics, even
    inside a function called later), nothing can be read.
    """
    found: dict[str, str | None] = {}
    dynamic = False
    for cell in cells:
        if cell.cell_type != "code":
            continue
        source = _python(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError:  # the cell did not run
            continue
        for node in tree.body:
            code = _magic_code(node)
            if code is None:
                dynamic = dynamic or _dynamic(node)
                _bind([node], source, found, in_block=False)
                continue
            try:  # what a magic's code defines has no source Python keeps: not read
                found.update(dict.fromkeys(set().union(*map(_stored, ast.parse(code).body))))
            except SyntaxError:
                dynamic = True
    return dict.fromkeys(found) if dynamic else found


def _python(source: str) -> str:
    """A cell's source as the plain Python IPython runs (magics become calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # IPython cannot read it either: the cell did not run
        return ""


def _bind(body, source: str, found: dict, in_block: bool) -> None:
    """Record in ``found`` what the statements ``body`` bind (see :func:`definitions`)."""

    def define(name: str, text: str | None) -> None:
        if in_block and name in found:
            text = None if text is None or found[name] is None else f"{found[name]}\n\n{text}"
        found[name] = text

    lines = source.splitlines()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            define(node.name, None if node.decorator_list else textwrap.dedent(text))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            text = None
            if isinstance(node.value, ast.Lambda):
                text = textwrap.dedent(ast.get_source_segment(source, node, padded=True))
            elif isinstance(node.value, ast.Name):
                text = found.get(node.value.id)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in _stored(target):
                    define(name, text if isinstance(target, ast.Name) else None)
        elif isinstance(node, _BLOCKS):
            found.update(dict.fromkeys(set().union(*map(_stored, _headers(node)))))
            for block in ("body", "orelse", "finalbody"):
                _bind(getattr(node, block, []), source, found, in_block=True)
            for handler in getattr(node, "handlers", []):
                _bind(handler.body, source, found, in_block=True)
        else:
            for name in _stored(node):
                define(name, None)


def _magic_code(node) -> str | None:
    """The code a magic statement runs in the notebook's namespace (``""`` for a magic
    that binds nothing), or ``None`` if ``node`` is no such magic."""
    call = node.value if isinstance(node, ast.Expr) else None
    kind = getattr(getattr(call, "func", None), "attr", None)
    if kind not in ("run_line_magic", "run_cell_magic") or not call.args:
        return None
    args = [a.value if isinstance(a, ast.Constant) else None for a in call.args]
    if not all(isinstance(a, str) for a in args):
        return None
    if args[0] in SAFE_MAGICS and kind == "run_line_magic":
        return ""
    if args[0] not in CODE_MAGICS:
        return None
    return args[-1] if kind == "run_cell_magic" else _TIMEIT_OPTIONS.sub("", args[-1])


def _dynamic(node) -> bool:
    """Whether the statement may bind names in a way :func:`definitions` does not read."""
    for part in ast.walk(node):
        if isinstance(part, ast.ImportFrom) and any(a.name == "*" for a in part.names):
            return True
        if getattr(part, "id", None) in DYNAMIC or getattr(part, "attr", None) in DYNAMIC:
            return True
    return False


def _headers(node) -> list:
    """The parts of a block statement that bind names besides its body: a loop's
    target, ``with ... as x``, ``except E as x``."""
    parts = [getattr(node, "target", None)]
    parts += [item.optional_vars for item in getattr(node, "items", [])]
    parts += [ast.Name(h.name, ast.Store()) for h in getattr(node, "handlers", []) if h.name]
    return [part for part in parts if part is not None]


def _stored(node) -> set[str]:
    """The names a statement binds or deletes in the cell's namespace (not inside the
    functions, classes or comprehensions it holds)."""
    names, todo = set(), [node]
    while todo:
        part = todo.pop()
        if isinstance(part, ast.Name) and isinstance(part.ctx, ast.Store | ast.Del):
            names.add(part.id)
        elif isinstance(part, ast.alias):
            names.add((part.asname or part.name).split(".")[0])
        elif isinstance(part, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(part.name)
            continue
        elif isinstance(part, ast.Lambda):
            continue
        if isinstance(part, ast.comprehension):
            todo.extend([part.iter, *part.ifs])
        else:
            todo.extend(ast.iter_child_nodes(part))
    return names
