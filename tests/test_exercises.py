"""The exercise builder: stubs, edit protection, sync, and nbval in both directions."""

import doctest
import inspect
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cam_edu import exercises
from cam_edu.exercises import ExerciseError, checks, stub_source

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError"

# --------------------------------------------------------------------------- stub_source


def test_stub_keeps_def_and_docstring_and_hides_the_body():
    src = (
        'def f(x):\n    """Twice x.\n\n    More.\n    """\n    y = 2 * x  # secret\n    return y\n'
    )
    assert stub_source(src) == 'def f(x):\n    """Twice x.\n\n    More.\n    """\n' + STUB


def test_stub_keeps_imports_comments_decorators_and_a_multiline_signature():
    src = (
        "import numpy as np\n\n# a helper comment\n\n"
        "@staticmethod\n"
        "def f(\n    x: dict = {'a': (1, 2)},\n    y=[1],\n) -> dict:\n"
        "    # step 1: the answer\n    return {**x}\n\n\n"
        "def g():\n    return 1\n"
    )
    assert stub_source(src) == (
        "import numpy as np\n\n# a helper comment\n\n"
        "@staticmethod\n"
        "def f(\n    x: dict = {'a': (1, 2)},\n    y=[1],\n) -> dict:\n" + STUB + "\n\n\n"
        "def g():\n" + STUB
    )


def test_stub_hides_nested_functions_and_trailing_indented_comments():
    src = "def f(x):\n    def inner():\n        return x\n    return inner()\n    # old idea\n"
    assert stub_source(src) == "def f(x):\n" + STUB


def test_stub_uses_the_body_indentation():
    src = "def f(x):\n  return x\n"
    assert stub_source(src) == "def f(x):\n  # YOUR CODE HERE\n  raise NotImplementedError"


@pytest.mark.parametrize(
    "src,message",
    [
        ("x = 1\ndef f():\n    return x\n", "only imports and function definitions"),
        ("import numpy as np\n", "defines no function"),
        ("def f(x): return x\n", "on its def line"),
        ('def f():\n    """Only a docstring."""\n', "only a docstring"),
        ("def f(:\n", "not valid Python"),
    ],
)
def test_stub_rejects_cells_whose_student_version_would_fail_early(src, message):
    with pytest.raises(ExerciseError, match=message):
        stub_source(src, "cell 3")


# --------------------------------------------------------------------------- small notebooks


def solution_nb(check_output="✓ f: all 1 cases agree with cam_edu.\n", with_check=True):
    """A tiny executed solution notebook: setup, solution, self-check."""
    setup = new_code_cell("import numpy as np\n\nfrom math import tau", execution_count=1)
    setup.outputs = []
    sol = new_code_cell(
        'import json\n\n\ndef f(x):\n    """Doc."""\n    return np.asarray(x) * tau\n',
        execution_count=2,
        metadata={"tags": ["solution"]},
    )
    cells = [new_markdown_cell("# Ex"), setup, sol]
    if with_check:
        check = new_code_cell(
            "print_check(f)", execution_count=3, metadata={"tags": ["self-check"]}
        )
        check.outputs = [new_output("stream", name="stdout", text=check_output)]
        cells.append(check)
    extra = new_code_cell("answer = 42", execution_count=4, metadata={"tags": ["solution-only"]})
    cells.append(extra)
    return new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )


def test_student_notebook_stubs_tags_copies_outputs_and_records_a_fingerprint():
    nb = exercises.student_notebook(solution_nb(), "solutions/ex99.ipynb")
    sources = [c.source for c in nb.cells]
    assert len(nb.cells) == 4  # the solution-only cell is gone
    assert sources[2].startswith("import json  # noqa: F401")  # unused once the body is hidden
    assert "return" not in sources[2] and "raise NotImplementedError" in sources[2]
    noqa = "  # noqa: F401 (you will need it)"
    assert sources[1] == f"import numpy as np{noqa}\n\nfrom math import tau{noqa}"
    assert nb.cells[2].metadata["tags"] == ["exercise"]
    # exercise and self-check cells are stored unrun: no ✓ before a line is written, and
    # nbval runs them without comparing outputs; the other cells keep the solution's run
    for cell in nb.cells[2:4]:
        assert cell.outputs == [] and cell.execution_count is None
    assert nb.cells[1].execution_count == 1
    meta = nb.metadata["cam_edu"]
    assert meta["generated_from"] == "solutions/ex99.ipynb"
    assert meta["work_sha256"] == exercises.work_fingerprint(nb)


@pytest.mark.parametrize(
    "break_it,message",
    [
        (lambda nb: nb.cells.pop(3), "no cell tagged 'self-check'"),
        (lambda nb: nb.cells[3].update(source="print('x')"), "not called by any self-check"),
        (lambda nb: nb.cells[3].outputs[0].update(text="✗ wrong\n"), "must print only"),
        (lambda nb: nb.cells[1].update(execution_count=None), "never run"),
        (
            lambda nb: nb.cells[1].outputs.append(new_output("error", ename="E", evalue="")),
            "stores an error",
        ),
        (lambda nb: nb.cells[2].metadata.update(tags=[]), "no cell tagged 'solution'"),
    ],
)
def test_invalid_solution_notebooks_are_refused(break_it, message):
    nb = solution_nb()
    break_it(nb)
    with pytest.raises(ExerciseError, match=message):
        exercises.student_notebook(nb, "solutions/ex99.ipynb")


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_nb(), tmp_path / "solutions" / "ex99_demo.ipynb")
    return tmp_path


def statuses(results):
    return [r.status for r in results]


def test_build_never_overwrites_student_work_without_force(course, capsys):
    target = course / "exercises" / "ex99_demo.ipynb"
    assert statuses(exercises.build(course)) == ["created"]
    assert statuses(exercises.build(course)) == ["unchanged"]
    assert exercises.check(course) == []

    # running the notebook changes outputs only: not an edit, a rebuild may replace it
    nb = nbformat.read(target, as_version=4)
    nb.cells[3].outputs = [new_output("error", ename="SelfCheckFailed", evalue="✗ f: ...")]
    nb.cells[3].execution_count = 1
    nbformat.write(nb, target)
    assert any("out of date" in p for p in exercises.check(course))
    assert statuses(exercises.build(course)) == ["updated"]

    # the student writes code: kept, byte for byte, and the command exits 1
    nb = nbformat.read(target, as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("raise NotImplementedError", "return x")
    nbformat.write(nb, target)
    edited = target.read_bytes()
    assert statuses(exercises.build(course)) == ["kept"]
    assert target.read_bytes() == edited
    assert exercises.main(["--notebooks", str(course), "build"]) == 1
    assert "NOT overwritten" in capsys.readouterr().err
    assert target.read_bytes() == edited
    assert any("edited by hand" in p for p in exercises.check(course))

    # --force replaces it and keeps the student's version next to it
    assert exercises.main(["--notebooks", str(course), "build", "--force"]) == 0
    assert (course / "exercises" / "ex99_demo.ipynb.bak").read_bytes() == edited
    assert exercises.check(course) == []


@pytest.mark.parametrize(
    "content",
    [b"not json at all", b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'],
)
def test_files_of_unknown_origin_count_as_edited(course, content):
    (course / "exercises").mkdir()
    target = course / "exercises" / "ex99_demo.ipynb"
    target.write_bytes(content)
    assert statuses(exercises.build(course)) == ["kept"]
    assert target.read_bytes() == content


def test_check_reports_missing_and_orphan_notebooks(course):
    (course / "exercises").mkdir()
    (course / "exercises" / "ex98_old.ipynb").write_text("{}")
    problems = exercises.check(course)
    assert any("ex99_demo.ipynb is missing" in p for p in problems)
    assert any("ex98_old.ipynb has no solution" in p for p in problems)
    assert exercises.main(["--notebooks", str(course), "check"]) == 1


def test_build_by_name_and_unknown_names(course):
    assert statuses(exercises.build(course, names=["ex99"])) == ["created"]
    with pytest.raises(ExerciseError, match="no solution notebook matches ex01"):
        exercises.build(course, names=["ex01"])


# --------------------------------------------------------------------------- the real course

SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("ex*.ipynb"))
LESSONS = ("01", "02", "03", "04", "05", "06", "07")


def test_every_lesson_has_an_exercise_numbered_after_it_with_a_student_version():
    names = [p.stem for p in SOLUTIONS]
    for lesson in LESSONS:
        assert any(re.match(rf"ex{lesson}[a-z]?_", n) for n in names), f"lesson {lesson}: {names}"
    for name in names:
        assert re.match(r"ex0[1-7][a-z]?_[a-z0-9_]+$", name), name
        lesson = name[2:4]
        nb = nbformat.read(NOTEBOOKS / "solutions" / f"{name}.ipynb", as_version=4)
        assert f"lesson {int(lesson)}" in nb.cells[0].source, (name, "names its lesson")
    for path in SOLUTIONS:
        assert (NOTEBOOKS / "exercises" / path.name).exists()


def test_every_exercise_asks_an_open_question_with_a_checked_answer_and_a_model_answer():
    """A question's answer is a function the student writes (a choice or a number), checked
    like code; the model answer is in the solution only (a solution-only markdown cell)."""
    for path in SOLUTIONS:
        solution = nbformat.read(path, as_version=4)
        model_answers = [
            c
            for c in solution.cells
            if c.cell_type == "markdown"
            and "solution-only" in c.metadata.get("tags", [])
            and "Model answer" in c.source
        ]
        assert model_answers, f"{path.name} has no model answer"
        student = (NOTEBOOKS / "exercises" / path.name).read_text(encoding="utf-8")
        assert "Model answer" not in student, path.name
        assert "## Question" in "".join(c.source for c in solution.cells), path.name


def _spaceless(text: str) -> str:
    return "".join(text.split())


def test_no_markdown_or_check_docstring_shows_what_a_task_asks_for(task_answers):
    """Not in the exercises' markdown, nor in what ``check_x?`` shows (the docstrings of
    the checks and their modules): the model answers' code, the formulas a task asks to
    derive, or a right answer's ✓ (only a stand-in name or a generic demo may show one)."""
    assert all(task_answers[path.stem] for path in SOLUTIONS), "a model answer with no code"
    wanted = set().union(*task_answers.values())
    texts = {}
    for path in SOLUTIONS:
        student = nbformat.read(NOTEBOOKS / "exercises" / path.name, as_version=4)
        texts[path.name] = "".join(c.source for c in student.cells if c.cell_type == "markdown")
    modules = [checks, *(getattr(checks, f"lesson{n}") for n in LESSONS)]
    texts |= {m.__name__: m.__doc__ for m in modules}
    texts |= {f"{name}?": inspect.getdoc(getattr(checks, name)) or "" for name in checks.__all__}
    shown = {where: sorted(p for p in wanted if p in _spaceless(t)) for where, t in texts.items()}
    assert {where: pieces for where, pieces in shown.items() if pieces} == {}
    generic = ("check_number(", "check_choice_and_number(")
    for where, text in texts.items():
        for example in doctest.DocTestParser().get_examples(text):
            if example.want.startswith("✓") and not example.source.startswith(generic):
                assert example.options.get(doctest.SKIP), (where, example.source)


def test_student_versions_are_in_sync_with_the_solutions():
    assert exercises.check(NOTEBOOKS) == []
    result = subprocess.run(
        [sys.executable, "-m", "cam_edu.exercises", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def find_ruff() -> str | None:
    """ruff next to this Python (the venv's bin/ or Scripts/), else ruff on the PATH."""
    here = Path(sys.executable).parent
    for name in ("ruff", "ruff.exe"):
        if (here / name).is_file():
            return str(here / name)
    return shutil.which("ruff")


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join((text or "").strip().splitlines()[-lines:])


def test_student_versions_pass_the_linter():
    ruff = find_ruff()
    if ruff is None:
        pytest.skip("ruff is not installed in this environment (pip install -e '.[dev]')")
    for args in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(ruff), *args, "notebooks/exercises", "notebooks/solutions"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (
            f"ruff {' '.join(args)} exited with {result.returncode}:\n"
            f"{_tail(result.stdout)}\n{_tail(result.stderr)}"
        )


def _collected(*args):
    env = {k: v for k, v in os.environ.items() if k != "CAM_EDU_EXERCISES"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--collect-only", "-q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, (
        f"pytest --collect-only {' '.join(args)} exited with {result.returncode}:\n"
        f"{_tail(result.stdout)}\n{_tail(result.stderr)}"
    )
    return result.stdout


def test_default_run_skips_student_versions_but_a_named_path_collects_them():
    default = _collected("notebooks")
    first = SOLUTIONS[0].name
    assert f"notebooks/solutions/{first}::Cell" in default
    assert "notebooks/exercises/" not in default
    named = _collected(f"notebooks/exercises/{first}")
    assert f"notebooks/exercises/{first}::Cell 0" in named
    folder = _collected("notebooks/exercises/")
    assert all(f"notebooks/exercises/{p.name}::Cell 0" in folder for p in SOLUTIONS)


def _self_check_cells(path: Path) -> set[int]:
    """nbval numbers the code cells only."""
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    return {i for i, c in enumerate(code) if "self-check" in c.metadata.get("tags", [])}


def _nbval(args: list[str], report: Path, timeout: int = 900, cwd: Path = ROOT):
    """Run ``pytest --nbval *args`` from ``cwd``; return the cells that failed and passed:
    ``{notebook classname: {code cell number: failure text}}``.

    The classname is the notebook's path relative to ``cwd``, with dots for slashes, so
    the notebooks must be inside ``cwd``."""
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "--nbval",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                *args,
            ],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        pytest.fail(
            f"the nbval run did not finish in {exc.timeout:.0f} s; its output ended with:\n"
            f"{_tail(out)}\n{_tail(err)}"
        )
    # nbval fails on the exercises' self-checks by design (exit code 1); anything else, or
    # no report, means pytest itself broke
    if result.returncode not in (0, 1) or not report.is_file():
        pytest.fail(
            f"the nbval run exited with code {result.returncode} and "
            f"{'wrote' if report.is_file() else 'did not write'} {report.name}; stdout ends:\n"
            f"{_tail(result.stdout)}\nstderr ends:\n{_tail(result.stderr)}"
        )
    try:
        root = ET.parse(report).getroot()
    except ET.ParseError as exc:
        pytest.fail(
            f"{report.name} of the nbval run (exit code {result.returncode}) is not valid XML "
            f"({exc}); stderr ends:\n{_tail(result.stderr)}"
        )
    failed, passed = {}, {}
    for case in root.iter("testcase"):
        notebook, cell = case.get("classname", ""), case.get("name", "")
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        bucket = failed if failure is not None else passed
        text = "" if failure is None else (failure.get("message", "") + (failure.text or ""))
        bucket.setdefault(notebook, {})[int(cell.split()[-1])] = text
    return failed, passed


def test_nbval_solutions_pass_and_untouched_exercises_fail_exactly_at_the_self_checks(tmp_path):
    """One pytest run over both folders, as a student would type it (explicit paths)."""
    students = [f"notebooks/exercises/{p.name}" for p in SOLUTIONS]
    solutions = [f"notebooks/solutions/{p.name}" for p in SOLUTIONS]
    sanitize = ["--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
    failed, passed = _nbval([*sanitize, *students, *solutions], tmp_path / "nbval.xml")
    for path in SOLUTIONS:
        key = f"notebooks.solutions.{path.name}"
        assert key not in failed, f"solution {path.name} fails nbval: {failed.get(key)}"
        assert passed.get(key), f"solution {path.name} was not run"
        key = f"notebooks.exercises.{path.name}"
        checks = _self_check_cells(path)
        assert set(failed.get(key, {})) == checks, (
            f"{path.name}: nbval failed at code cells {sorted(failed.get(key, {}))}, "
            f"the self-checks are {sorted(checks)}"
        )
        for cell, text in failed[key].items():
            assert text.startswith("✗") and "not written yet" in text, (path.name, cell, text[:500])
            assert f"(cell [{cell + 1}] `check_" in text, text[:500]  # as Jupyter numbers it
        assert set(passed[key]) == set(range(len(passed[key]) + len(checks))) - checks


def test_student_notebooks_store_exercise_and_check_cells_unrun():
    for path in SOLUTIONS:
        solution = nbformat.read(path, as_version=4)
        student = nbformat.read(NOTEBOOKS / "exercises" / path.name, as_version=4)
        kept = [c for c in solution.cells if "solution-only" not in c.metadata.get("tags", [])]
        for theirs, ours in zip(kept, student.cells, strict=True):
            if ours.cell_type != "code":
                continue
            tags = ours.metadata.get("tags", [])
            if "exercise" in tags or "self-check" in tags:
                assert ours.outputs == [] and ours.execution_count is None, (path.name, tags)
            else:
                assert ours.outputs == theirs.outputs, (path.name, ours.source[:60])
        assert any("self-check" in c.metadata.get("tags", []) for c in student.cells)


def _ex01_with(*sources: str):
    """The student's ex01 with ``sources`` in its exercise cells, in order."""
    nb = nbformat.read(NOTEBOOKS / "exercises" / SOLUTIONS[0].name, as_version=4)
    cells = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    for cell, source in zip(cells, sources, strict=True):
        cell.source = source
    return nb


def test_nbval_passes_a_right_student_notebook_and_fails_a_wrong_one_with_its_hint(tmp_path):
    """As a student types it, on their saved notebook: unrun, or run and saved."""
    from nbclient import NotebookClient

    solution = nbformat.read(SOLUTIONS[0], as_version=4)
    right = [c.source for c in solution.cells if "solution" in c.metadata.get("tags", [])]
    wrong = (
        "def sigmoid_head_cams(features, kernel, bias):\n"
        '    m = np.einsum("nhwk,k->nhw", features, kernel[:, 0])\n'
        "    return np.stack([1 - m, m], axis=-1)\n"
    )
    nbformat.write(_ex01_with(*right), tmp_path / "right_unrun.ipynb")
    saved = _ex01_with(*right)
    NotebookClient(saved, kernel_name="python3", timeout=300).execute()  # raises if a cell does
    nbformat.write(saved, tmp_path / "right_saved.ipynb")
    nbformat.write(_ex01_with(wrong, *right[1:]), tmp_path / "wrong.ipynb")
    names = ["right_unrun.ipynb", "right_saved.ipynb", "wrong.ipynb"]
    shutil.copy(NOTEBOOKS / "conftest.py", tmp_path)  # as in the course's notebooks folder
    failed, passed = _nbval(names, tmp_path / "nbval.xml", 600, cwd=tmp_path)

    def cells(results, name):
        return results.get(name, {})

    checks = sorted(_self_check_cells(SOLUTIONS[0]))
    code_cells = set(range(sum(c.cell_type == "code" for c in saved.cells)))
    for name in names[:2]:
        assert cells(failed, name) == {}, (name, cells(failed, name))
        assert set(cells(passed, name)) == code_cells and len(code_cells) > len(checks)
    # the class-0 map is wrong; the probabilities (from the class-1 map) and the answer are right
    assert set(cells(failed, "wrong.ipynb")) == {checks[0]}
    assert set(cells(passed, "wrong.ipynb")) == code_cells - {checks[0]}
    text = cells(failed, "wrong.ipynb")[checks[0]]
    assert text.startswith("✗ sigmoid_head_cams:"), text[:300]  # the ✗ line first
    assert "1 - p is a statement about probabilities" in text
    assert f"(cell [{checks[0] + 1}] `check_sigmoid_head_cams(sigmoid_head_cams)`" in text
    assert "Traceback" not in text
