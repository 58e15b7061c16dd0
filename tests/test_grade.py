"""The grader on a synthetic class built from the real exercise notebooks ex01 and ex06a.

One module-scoped run grades a class of twelve (eleven kernels, three at a time, a 90 s
limit); the other tests read its output. The honest cases: correct, untouched (with a
forged ✓ saved in its check cell), partly right, wrong, crashing, endless loop, not JSON,
an edited check cell, a deleted check cell, a redefined check function, plus ignored
files. The hostile ones: ``mallory`` answers right and tries every attack on the machine
(other submissions, the instructor's files, the network, the grader, memory, a fork
bomb, writing to the course and the submissions, a process left running), each of which
would also turn her answers wrong if it worked; ``oscar`` answers wrong and patches
``numpy``, the checks and their records so that his notebook prints ✓ everywhere.
"""

import ast
import asyncio
import csv
import hashlib
import os
import socket
import threading
import uuid
from pathlib import Path
from textwrap import indent

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from cam_edu import exercises
from cam_edu.exercises import ExerciseError, sandbox
from cam_edu.exercises.checks import (
    SelfCheckFailed,
    check_gradcampp_question,
    check_gradcampp_weights,
    check_sigmoid_head_cams,
    check_sigmoid_head_probabilities,
    check_sigmoid_question,
    harness,
)
from cam_edu.exercises.definitions import definitions
from cam_edu.exercises.grade import find_submissions, load_exercises, parse_name
from cam_edu.exercises.judge import (
    PRINTED_PASS,
    Check,
    Exercise,
    Isolation,
    Submission,
    grade_submission,
    judge,
    run_notebook,
    tampering,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EX01, EX06A = "ex01_sigmoid_head_cam", "ex06a_gradcam_plus_plus"
CAMS, PROBS, QUESTION = (
    "check_sigmoid_head_cams",
    "check_sigmoid_head_probabilities",
    "check_sigmoid_question",
)
EX06A_CHECKS = (
    "check_activations_and_gradients",
    "check_gradcam_weights",
    "check_gradcam_map",
    "check_grad_cam",
    "check_gradcampp_weights",
    "check_gradcampp_question",
)
TIMEOUT = 90
MEMORY_MB = 3072
NO_SANDBOX = sandbox.unavailable()
needs_sandbox = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no sandbox: {NO_SANDBOX}")

CAMS_ONE_MINUS = (
    "def sigmoid_head_cams(features, kernel, bias):\n"
    '    m = np.einsum("nhwk,k->nhw", features, kernel[:, 0])\n'
    "    return np.stack([1 - m, m], axis=-1)\n"
)
PROBS_SOFTMAX = (
    "def sigmoid_head_probabilities(features, kernel, bias):\n"
    "    z = features.mean(axis=(1, 2)) @ kernel[:, 0] + bias[0]\n"
    "    e = np.exp(np.stack([-z, z], axis=1))\n"
    "    return e / e.sum(axis=1, keepdims=True)\n"
)
ANSWER_P1 = 'def negative_region_effect():\n    return "raises", 0.1192\n'
CAMS_HANG = (
    "def sigmoid_head_cams(features, kernel, bias):\n    while True:\n        time.sleep(0.1)\n"
)
PP_NO_RELU = (
    "def gradcampp_weights(activations, grads):\n"
    "    g2, g3 = grads**2, grads**3\n"
    "    total = activations.sum(axis=(1, 2), keepdims=True)\n"
    "    den = 2 * g2 + total * g3\n"
    "    a = np.where(den != 0, g2 / np.where(den != 0, den, 1.0), 0.0)\n"
    "    return (a * grads).sum(axis=(1, 2))\n"
)

# Oscar makes every comparison in his kernel pass and forges the probabilities' record.
PATCHES = """
import numpy as np
from IPython.display import display

import cam_edu.exercises.checks.lesson01 as lesson01
from cam_edu.exercises.checks import harness, questions, record

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), bool)
harness.compare = lesson01.compare = lambda *args, **kwargs: None
questions._judge = lambda *args, **kwargs: None
honest_emit = record.Recorder.emit


def forged_emit(self):
    if self.title != "sigmoid_head_probabilities":
        return honest_emit(self)
    case = "random features (2, 7, 7, 16), kernel (16, 1), bias (1,)"
    value = {"array": "AAAA", "shape": [10**9]}
    call = {"label": self.title, "case": case, "outcome": {"kind": "value", "value": value}}
    display({record.MIME: {"title": self.title, "calls": [call]}}, raw=True)


record.Recorder.emit = forged_emit
"""

# Mallory answers right; every attack that works is recorded, leaves evidence outside and
# turns her answers wrong.
ATTACKS = """
import mmap
import os
import site
import socket
import subprocess
import sys
from pathlib import Path

from cam_edu.exercises.checks import harness

BREACHES = []
TOKEN = {token!r}


def attempt(name, action):
    try:
        action()
    except Exception:
        return
    BREACHES.append(name)
    for place in ("/tmp", {outside!r}):
        try:
            Path(place, f"breach_{{TOKEN}}_{{len(BREACHES)}}").write_text(name)
        except Exception:
            pass


def grader_processes():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"pytest" in Path("/proc", pid, "cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    if not found:
        raise LookupError("no grader process in sight")
    for pid in found:
        os.kill(pid, 0)


def fork_bomb():
    children = []
    try:
        for _ in range(400):
            children.append(subprocess.Popen(["sleep", "30"]))
    finally:
        for child in children:
            child.kill()


attempt("read another submission", lambda: Path({other!r}).read_bytes())
attempt("list the submissions", lambda: os.listdir({submissions!r}))
attempt("read the instructor's file", lambda: Path({secret!r}).read_bytes())
attempt("read the solutions", lambda: Path({solutions!r}).read_bytes())
attempt("write into the submissions", lambda: Path({submissions!r}, "x.ipynb").write_text("x"))
attempt("write into the home", lambda: Path({home!r}, f".cam_edu_{{TOKEN}}").write_text("x"))
attempt("change the checks", lambda: open(harness.__file__, "a").close())
attempt("install a .pth", lambda: Path(site.getsitepackages()[0], "x.pth").write_text("x"))
attempt("reach the grader's port", lambda: socket.create_connection(("127.0.0.1", {port}), 2))
attempt("reach the internet", lambda: socket.create_connection(("1.1.1.1", 53), 2))
attempt("signal the grader", grader_processes)
attempt("reserve 8 GB", lambda: mmap.mmap(-1, 8 * 2**30))
attempt("start 400 processes", fork_bomb)
sleeper = [sys.executable, "-c", "import time; time.sleep(600)", TOKEN]
subprocess.Popen(sleeper, start_new_session=True)
print("breaches:", BREACHES)
"""


def solution_sources(name: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / "solutions" / f"{name}.ipynb", as_version=4)
    return [c.source for c in nb.cells if "solution" in c.metadata.get("tags", [])]


def student_nb(name: str, *sources: str):
    """The built exercise with its exercise cells replaced by ``sources`` (None: untouched)."""
    nb = nbformat.read(NOTEBOOKS / "exercises" / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    for cell, source in zip(cells, sources, strict=False):
        if source is not None:
            cell.source = source
    return nb


def check_cell(nb):
    return next(c for c in nb.cells if "self-check" in c.metadata.get("tags", []))


def save(path: Path, nb) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb), encoding="utf-8")


def poisoned(source: str) -> str:
    """A right answer that turns wrong if any of Mallory's attacks worked."""
    name = source.split("def ", 1)[1].split("(", 1)[0]
    return (
        source
        + f"\n\n_right_{name} = {name}\n\n\n"
        + f"def {name}(*args):\n"
        + f"    return _right_{name}(*args) if not BREACHES else None\n"
    )


def make_class(root: Path, hostile: dict | None) -> None:
    cams, probs, answer = solution_sources(EX01)
    gradcam = solution_sources(EX06A)
    save(root / "alice" / f"{EX01}.ipynb", student_nb(EX01, cams, probs, answer))
    save(root / "alice" / f"{EX06A}.ipynb", student_nb(EX06A, *gradcam))
    save(root / "alice" / ".ipynb_checkpoints" / f"{EX01}-checkpoint.ipynb", student_nb(EX01))
    (root / "alice" / "notes.txt").write_text("my notes")

    blank = student_nb(EX01)  # a ✓ saved in the file must not count
    check_cell(blank).outputs = [new_output("stream", name="stdout", text="✓ forged\n")]
    save(root / f"bob_{EX01}.ipynb", blank)
    save(root / "carol" / "ex01.ipynb", student_nb(EX01, cams, probs, answer))
    save(root / "carol" / "ex06a.ipynb", student_nb(EX06A, *gradcam[:3], PP_NO_RELU, gradcam[4]))
    save(root / f"dave_{EX01}.ipynb", student_nb(EX01, CAMS_ONE_MINUS, probs, answer))
    broken = "import cam_edu.not_a_module\n\n" + answer
    save(root / f"erin_{EX01}.ipynb", student_nb(EX01, cams, probs, broken))
    save(root / f"frank_{EX01}.ipynb", student_nb(EX01, "import time\n\n\n" + CAMS_HANG))
    text = nbformat.writes(student_nb(EX01, cams, probs, answer))
    (root / f"grace_{EX01}.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    edited = student_nb(EX01, cams, probs, answer)
    check_cell(edited).source = "check_sigmoid_head_cams(lambda f, w, b: 0)"
    save(root / f"heidi_{EX01}.ipynb", edited)
    deleted = student_nb(EX01, cams, probs, answer)
    deleted.cells.remove(check_cell(deleted))
    save(root / f"ivan_{EX01}.ipynb", deleted)
    fake = 'def check_sigmoid_head_cams(fn):\n    print("✓ sigmoid_head_cams: all 4 cases")\n'
    save(root / f"judy_{EX01}.ipynb", student_nb(EX01, cams + "\n\n" + fake, probs, answer))

    oscar = student_nb(EX01, CAMS_ONE_MINUS, PROBS_SOFTMAX, ANSWER_P1)
    oscar.cells.insert(2, new_code_cell(PATCHES))
    save(root / f"oscar_{EX01}.ipynb", oscar)
    if hostile is not None:
        mallory = student_nb(EX01, *map(poisoned, (cams, probs, answer)))
        mallory.cells.insert(2, new_code_cell(ATTACKS.format(**hostile)))
        save(root / f"mallory_{EX01}.ipynb", mallory)


def fingerprint(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    } | {p.relative_to(root).as_posix() + "/": "dir" for p in root.rglob("*") if p.is_dir()}


class Listener:
    """A TCP port on the grader's machine that records every connection made to it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections, self.running = [], True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, address = self.server.accept()
            except TimeoutError:
                continue
            self.connections.append(address)
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def processes_with(token: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path("/proc", pid, "cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("course")
    submissions = base / "submissions"
    instructor = base / "instructor"
    instructor.mkdir()
    (instructor / "secret.txt").write_text("the exam's answers")
    listener = Listener()
    token = uuid.uuid4().hex
    hostile = None
    if NO_SANDBOX is None:
        hostile = {
            "token": token,
            "outside": str(instructor),
            "other": str(submissions / "alice" / f"{EX01}.ipynb"),
            "submissions": str(submissions),
            "secret": str(instructor / "secret.txt"),
            "solutions": str(NOTEBOOKS / "solutions" / f"{EX01}.ipynb"),
            "home": str(Path.home()),
            "port": listener.port,
        }
    make_class(submissions, hostile)
    course_files = {p: p.read_bytes() for p in (Path(harness.__file__),)}
    before = fingerprint(submissions)
    args = ["--notebooks", str(NOTEBOOKS), "grade", str(submissions), "--timeout", str(TIMEOUT)]
    args += ["--jobs", "3", "--memory", str(MEMORY_MB)]
    if NO_SANDBOX is not None:
        args.append("--no-sandbox")
    try:
        code = exercises.main(args)
    finally:
        listener.close()
    out = base / "grades"  # the default: next to the submissions
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {
        "code": code,
        "rows": rows,
        "summary": (out / "summary.md").read_text(encoding="utf-8"),
        "before": before,
        "after": fingerprint(submissions),
        "instructor": sorted(p.name for p in instructor.iterdir()),
        "connections": listener.connections,
        "left_running": processes_with(token),
        "home_file": (Path.home() / f".cam_edu_{token}").exists(),
        "host_tmp": sorted(Path("/tmp").glob(f"breach_{token}_*")),
        "course_changed": [p for p, data in course_files.items() if p.read_bytes() != data],
    }


def failure_line(check, names: tuple[str, ...], *sources: str) -> str:
    """The ✗ line a check gives for the functions ``names`` defined by ``sources``, run here."""
    import numpy as np

    namespace = {"np": np}
    for source in sources:
        exec(source, namespace)
    with pytest.raises(SelfCheckFailed) as failure:
        check(*[namespace[n] for n in names])
    return str(failure.value)


def test_grades_csv_has_one_exact_row_per_student_and_check(graded):
    assert graded["code"] == 0
    cams, probs, answer = solution_sources(EX01)
    stubs = [c.source for c in student_nb(EX01).cells if "exercise" in c.metadata.get("tags", [])]
    header, *rows = graded["rows"]
    assert header == ["student", "exercise", "check", "passed", "hint"]
    by_student = {}
    for student, exercise, check, passed, hint in rows:
        by_student.setdefault(student, []).append((exercise, check, passed, hint))
    missing = [(EX06A, name, "0", "no notebook submitted") for name in EX06A_CHECKS]
    not_trusted = "; not run, its results would not be trusted"

    def ex01(*results):
        return [(EX01, name, *r) for name, r in zip((CAMS, PROBS, QUESTION), results, strict=True)]

    ok = ("1", "")
    stub_line = failure_line(check_sigmoid_head_cams, ("sigmoid_head_cams",), stubs[0])
    stub_probs = failure_line(
        check_sigmoid_head_probabilities, ("sigmoid_head_probabilities",), stubs[1]
    )
    question_stub = "✗ the negative region: it is not written yet"
    hang = (  # the endless loop runs when the check calls the function
        "0",
        f"not finished: stopped at the time limit of {TIMEOUT:g} s in cell [4] "
        "(`check_sigmoid_head_cams(sigmoid_head_cams)`)",
    )
    one_minus = failure_line(check_sigmoid_head_cams, ("sigmoid_head_cams",), CAMS_ONE_MINUS)
    demo = "from cam_edu.exercises.checks import gradcampp_demo\n"
    demo += "demo_activations, demo_grads = gradcampp_demo()\n"
    carol = (demo, PP_NO_RELU, solution_sources(EX06A)[4])
    PP, PPQ = ("gradcampp_weights",), ("gradcampp_weight_of_a_channel_against",)
    expected = {
        "alice": ex01(ok, ok, ok) + [(EX06A, name, *ok) for name in EX06A_CHECKS],
        "bob": ex01(("0", stub_line), ("0", stub_probs), ("0", None)),
        "carol": ex01(ok, ok, ok)  # her Grad-CAM++ weights, and so her answer's number, wrong
        + [(EX06A, name, *ok) for name in EX06A_CHECKS[:4]]
        + [
            (EX06A, EX06A_CHECKS[4], "0", failure_line(check_gradcampp_weights, PP, PP_NO_RELU)),
            (EX06A, EX06A_CHECKS[5], "0", failure_line(check_gradcampp_question, PPQ, *carol)),
        ],
        "dave": ex01(
            ("0", one_minus),
            ok,  # the probabilities use the class-1 map only, which is right
            ok,
        ),
        "erin": ex01(
            ok,
            ok,
            (
                "0",
                "the check cell raised NameError: name 'negative_region_effect' is not "
                "defined; before it, cell [7] (`import cam_edu.not_a_module`) raised "
                "ModuleNotFoundError: No module named 'cam_edu.not_a_module'",
            ),
        ),
        "frank": ex01(hang, hang, hang),
        "heidi": ex01(
            *[("0", f"TAMPERED: the self-check cell calling {CAMS} was edited" + not_trusted)] * 3
        ),
        "ivan": ex01(
            ("0", "the self-check cell `check_sigmoid_head_cams(sigmoid_head_cams)` was deleted"),
            ok,
            ok,
        ),
        "judy": ex01(
            *[
                (
                    "0",
                    "TAMPERED: the cell `def sigmoid_head_cams(features, kernel, bias):` "
                    f"redefines {CAMS}" + not_trusted,
                )
            ]
            * 3
        ),
        "oscar": ex01(
            ("0", one_minus + PRINTED_PASS),
            (
                "0",
                "the check's record in the notebook is not one a check writes (a recorded "
                "array has an impossible shape)" + PRINTED_PASS,
            ),
            (
                "0",
                failure_line(check_sigmoid_question, ("negative_region_effect",), ANSWER_P1)
                + PRINTED_PASS,
            ),
        ),
    }
    if NO_SANDBOX is None:
        expected["mallory"] = ex01(ok, ok, ok)
    bob_question = by_student["bob"][2]
    assert bob_question[:3] == (EX01, QUESTION, "0") and bob_question[3].startswith(question_stub)
    expected["bob"][2] = bob_question
    grace = by_student.pop("grace")
    assert [r[:3] for r in grace[:3]] == [r[:3] for r in ex01(("0",), ("0",), ("0",))]
    for row in grace[:3]:
        assert row[3].startswith("not a valid notebook (NotJSONError: ")
        assert row[3].endswith("); nothing was run") and "\n" not in row[3]
    assert grace[3:] == missing
    for student in expected:
        if len(expected[student]) == 3:
            expected[student] += missing
    assert by_student == expected


def test_a_numpy_patcher_gets_the_grades_of_his_wrong_answers(graded):
    """Oscar's notebook printed ✓ three times; the grader's replay judged his real values,
    with the hints an honest student with the same mistakes gets, and flags him."""
    oscar = [r for r in graded["rows"][1:] if r[0] == "oscar" and r[1] == EX01]
    assert [r[3] for r in oscar] == ["0", "0", "0"]
    assert all(r[4].endswith(PRINTED_PASS) for r in oscar)
    assert "- oscar, ex01_sigmoid_head_cam: ✗ sigmoid_head_cams:" in graded["summary"]


@needs_sandbox
def test_no_attack_of_a_hostile_notebook_works_and_its_right_answers_count(graded):
    mallory = [r for r in graded["rows"][1:] if r[0] == "mallory" and r[1] == EX01]
    assert [(r[3], r[4]) for r in mallory] == [("1", "")] * 3  # no attack turned them wrong
    assert graded["connections"] == []  # nothing reached the grader's machine
    assert graded["left_running"] == []  # the process meant to outlive grading is gone
    assert graded["instructor"] == ["secret.txt"] and not graded["home_file"]
    assert graded["host_tmp"] == [] and graded["course_changed"] == []


def test_summary_totals_per_student_and_per_check(graded):
    summary = graded["summary"]
    hostile = NO_SANDBOX is None
    n = 12 if hostile else 11
    assert f"{n} students, 2 exercises, 9 checks; time limit {TIMEOUT} s per notebook" in summary
    if hostile:
        assert "Each notebook ran in a sandbox of its own (bubblewrap): no network" in summary
        assert f"{MEMORY_MB} MB of memory per process" in summary
    assert f"| student | passed | checks | {EX01} | {EX06A} |" in summary
    assert "| alice | 9 | 9 | 3/3 | 6/6 |" in summary
    assert "| carol | 7 | 9 | 3/3 | 4/6 |" in summary
    for student in ("dave", "erin", "ivan"):
        assert f"| {student} | 2 | 9 | 2/3 | 0/6 |" in summary
    for student in ("bob", "frank", "grace", "heidi", "judy", "oscar"):
        assert f"| {student} | 0 | 9 | 0/3 | 0/6 |" in summary
    for check, passed in ((CAMS, 3), (PROBS, 5), (QUESTION, 4)):
        assert f"| {EX01} | {check} | {passed + hostile} | {n} |" in summary
    for check in EX06A_CHECKS:
        passed = 1 if check in EX06A_CHECKS[4:] else 2
        assert f"| {EX06A} | {check} | {passed} | {n} |" in summary
    look_at = summary.split("## Notebooks to look at")[1].split("## Files not graded")[0]
    flagged = sorted({line.split(",")[0] for line in look_at.strip().splitlines()})
    assert flagged == ["- erin", "- frank", "- grace", "- heidi", "- ivan", "- judy", "- oscar"]
    assert "- alice/notes.txt: not a notebook named" in summary
    assert "checkpoint" not in summary


def test_no_submission_file_is_changed_or_added(graded):
    assert graded["after"] == graded["before"]
    files = 15 + (NO_SANDBOX is None)
    assert len(graded["before"]) == files + 3  # the files and 3 folders, all still there


# --------------------------------------------------------------------------- the sandbox

PROBE = """
import os, resource, socket
from pathlib import Path

print("uid", os.getuid())
print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
print("home", sorted(os.listdir({home!r})) if os.path.isdir({home!r}) else [])
for name in ("AS", "NPROC", "CPU", "FSIZE"):
    print(name, resource.getrlimit(getattr(resource, "RLIMIT_" + name)))
try:
    socket.create_connection(("127.0.0.1", {port}), 2)
    print("network connected")
except OSError as exc:
    print("network", type(exc).__name__)
for folder in ("/tmp", "/usr", {course!r}):
    try:
        Path(folder, "probe.txt").write_text("x")
        print("write", folder, "ok")
    except OSError as exc:
        print("write", folder, type(exc).__name__)
print("visible", os.path.exists({secret!r}), os.path.exists({solutions!r}))
"""


@needs_sandbox
def test_the_sandbox_has_no_network_a_read_only_system_and_limits(tmp_path):
    """A notebook without TensorFlow, so that it runs in seconds."""
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    home = Path.home()
    listener = Listener()
    source = PROBE.format(
        port=listener.port,
        home=str(home),
        course=str(Path(harness.__file__).parent),
        secret=str(secret),
        solutions=str(NOTEBOOKS / "solutions"),
    )
    nb = nbformat.v4.new_notebook(cells=[new_code_cell(source)])
    limits = sandbox.Limits(memory_mb=1024, processes=64, cpu_seconds=60)
    try:
        run = asyncio.run(run_notebook(nb, 60, "python3", Isolation(True, limits)))
    finally:
        listener.close()
    printed = "".join(o.get("text", "") for o in run.nb.cells[0].outputs)
    assert run.stopped is None, run.stopped
    lines = {}
    for line in printed.splitlines():
        key, value = line.split(" ", 1)
        lines.setdefault(key, []).append(value)
    assert lines["uid"] == ["65534"]  # nobody
    pids = ast.literal_eval(
        lines["pids"][0]
    )  # a process namespace of its own: its first process is 1
    assert pids[0] == 1 and os.getpid() not in pids and len(pids) < 10, pids
    shown = {p.relative_to(home).parts[0] for p in sandbox.readable_paths() if home in p.parents}
    assert (
        set(ast.literal_eval(lines["home"][0])) <= shown
    )  # only what Python itself needs, read-only
    assert lines["AS"] == [f"({2**30}, {2**30})"] and lines["NPROC"] == ["(64, 64)"]
    assert lines["CPU"] == ["(60, 60)"] and lines["FSIZE"] == [f"({2**28}, {2**28})"]
    assert "connected" not in lines["network"][0] and listener.connections == []
    course = Path(harness.__file__).parent
    assert lines["write"] == ["/tmp ok", "/usr OSError", f"{course} OSError"]
    assert lines["visible"] == ["False False"]


def test_a_course_installed_under_tmp_stays_visible_over_the_sandboxs_ram_disk(monkeypatch):
    """bwrap mounts in order: the course, its Python and data are bound after /tmp's RAM
    disk, or a clone under /tmp (a CI checkout, `mktemp -d`) would be hidden by it."""
    course = Path("/tmp/clone/cam_edu")
    monkeypatch.setattr(sandbox, "readable_paths", lambda: [Path("/usr"), course])
    args = sandbox.command(["python"], sandbox.Limits(), {})
    ram_disk = args.index("--tmpfs")
    assert args[ram_disk + 1] == "/tmp"
    assert args.index(str(course)) > ram_disk
    assert args[args.index(str(course)) - 1] == "--ro-bind"


def test_grading_refuses_without_a_sandbox_unless_told(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap is not installed")
    klass = tmp_path / "class"
    save(klass / "alice" / "ex01.ipynb", student_nb(EX01))
    with pytest.raises(ExerciseError, match="no sandbox .* bubblewrap is not installed"):
        exercises.grade(klass, NOTEBOOKS / "exercises", tmp_path / "out")
    args = ["--notebooks", str(NOTEBOOKS), "grade", str(klass), "--out", str(tmp_path / "out")]
    assert exercises.main(args) == 2
    assert "pass --no-sandbox to grade anyway" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_grading_refuses_submissions_the_sandbox_would_show(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "unavailable", lambda: None)
    monkeypatch.setattr(sandbox, "readable_paths", lambda: [tmp_path])
    klass = tmp_path / "class"
    save(klass / "alice" / "ex01.ipynb", student_nb(EX01))
    with pytest.raises(ExerciseError, match="every sandbox shows to the students' code"):
        exercises.grade(klass, NOTEBOOKS / "exercises", tmp_path.parent / "out")


# --------------------------------------------------------------------------- fast parts


def test_parse_name_needs_a_known_exercise_number_as_a_word():
    numbers = {"ex01", "ex03", "ex06a"}
    assert parse_name("alice_ex01_gap_loop", numbers) == ("alice", "ex01")
    assert parse_name("ex03_cam_identity", numbers) == ("", "ex03")
    assert parse_name("bob_ex06a_gradcam_plus_plus", numbers) == ("bob", "ex06a")
    assert parse_name("bob_ex06b_sanity_check", numbers) is None
    assert parse_name("bob_ex01", numbers) == ("bob", "ex01")
    assert parse_name("rex01_x", numbers) is None
    assert parse_name("alice_ex02", numbers) is None
    assert parse_name("alice_ex011", numbers) is None


def test_several_notebooks_for_one_exercise_and_unknown_files(tmp_path):
    exs = load_exercises(NOTEBOOKS / "exercises")
    for name in ("alice/ex01.ipynb", "alice/ex01_gap_loop-Copy1.ipynb", "bob.ipynb", "x/y.csv"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    found, ignored = find_submissions(tmp_path, exs)
    assert [(s.student, s.exercise.number, len(s.paths)) for s in found] == [("alice", "ex01", 2)]
    assert [i.split(":")[0] for i in ignored] == ["bob.ipynb", "x/y.csv"]


@pytest.mark.parametrize(
    "source,flag",
    [
        ("from cam_edu.exercises.checks import check_sigmoid_head_cams", None),
        ("import cam_edu.exercises.checks", None),
        ("check_sigmoid_head_cams(sigmoid_head_cams)\nx = 1", None),
        (
            "from cam_edu.exercises.checks import check_occlusion as check_sigmoid_head_cams",
            "redefines",
        ),
        ("from mine import check_sigmoid_head_cams", "redefines"),
        ("check_sigmoid_head_cams = print", "redefines"),
        ("def check_sigmoid_head_cams(f):\n    pass", "redefines"),
    ],
)
def test_tampering_spots_a_redefined_check(source, flag):
    ex = load_exercises(NOTEBOOKS / "exercises")["ex01"]
    nb = student_nb(EX01)
    nb.cells[3].source = source
    found = tampering(nb, ex)
    first_line = source.splitlines()[0][:50]
    assert (found is None) if flag is None else (flag in found and first_line in found), found


# --------------------------------------------------------------------------- reading the code

EINSUM = (
    "def {}(features, weights, class_index):\n"
    '    return np.einsum("nhwk,kn->nhw", features, weights[:, class_index])\n'
)
LOOPED = (
    "def {}(features, weights, class_index):\n"
    "    return np.stack([features[n] @ weights[:, c] for n, c in enumerate(class_index)])\n"
)
LOOP_LINE = "uses a Python loop or comprehension"
UNREAD_LINE = "its code could not be read"
# How a student may hand cam_per_image to its check, and the check's verdict: ✓, or the
# mistake its ✗ line names. The last one makes every later definition unreadable.
HANDED = [
    (
        "another name for a def with a loop",
        [LOOPED.format("by_loop"), "cam_per_image = by_loop"],
        LOOP_LINE,
    ),
    (
        "a def with a loop inside an if",
        ["if True:\n" + indent(LOOPED.format("cam_per_image"), "    ")],
        LOOP_LINE,
    ),
    (
        "another name for a def without loop",
        [EINSUM.format("by_einsum"), "cam_per_image = by_einsum"],
        "✓",
    ),
    ("a lambda", ["cam_per_image = lambda f, w, c: np.einsum('nhwk,kn->nhw', f, w[:, c])"], "✓"),
    (
        "a loop-free def in a branch that does not run",
        [
            LOOPED.format("cam_per_image"),
            "if False:\n" + indent(EINSUM.format("cam_per_image"), "    "),
        ],
        LOOP_LINE,
    ),
    (
        "a function made by another function",
        [
            "def make():\n" + indent(EINSUM.format("inner"), "    ") + "    return inner",
            "cam_per_image = make()",
        ],
        UNREAD_LINE,
    ),
    (
        "a def replaced by exec",
        [EINSUM.format("cam_per_image"), f"exec({LOOPED.format('cam_per_image')!r})"],
        UNREAD_LINE,
    ),
]


def test_the_no_loop_check_reads_the_same_code_in_the_notebook_and_in_the_grade():
    """One notebook (ex02's check, a quick kernel without TensorFlow), graded for real: for
    every way of handing the function over, the grade is what the notebook printed."""
    check = Check("check_cam_per_image", "check_cam_per_image(cam_per_image)")
    cells = [
        new_code_cell(
            "import numpy as np\n\nfrom cam_edu.exercises.checks import check_cam_per_image"
        )
    ]
    at = []
    for _, sources, _ in HANDED:
        cells += [new_code_cell(source) for source in sources]
        at.append(len(cells))
        cells.append(new_code_cell(check.source))
    nb = nbformat.v4.new_notebook(cells=cells)
    run = asyncio.run(run_notebook(nb, 120, "python3", Isolation(sandboxed=False)))
    assert run.stopped is None and set(at) <= run.ran, run.stopped
    for (what, _, expected), index in zip(HANDED, at, strict=True):
        outputs = run.nb.cells[index].outputs
        error = next((o for o in outputs if o.output_type == "error"), None)
        printed = error.evalue if error else "".join(o.get("text", "") for o in outputs).strip()
        graded, hint = judge(run, index, check)
        assert printed.startswith("✓" if expected == "✓" else "✗") and expected in printed, what
        assert (graded, hint) == ((True, "") if expected == "✓" else (False, printed)), what


@pytest.mark.parametrize(
    "cells,expected",
    [
        (
            ["def g(x):\n    return x", "%timeit -n 3 g([1])", "%matplotlib inline"],
            "def g(x):\n    return x",
        ),
        (["def g(x):\n    return x", "def h(x):\n    return [v for v in x]", "%time g = h"], None),
        (["%%time\ndef g(x):\n    return x"], None),
        (["def s():\n    globals()['g'] = print", "def g(x):\n    return x", "s()"], None),
        (["from helpers import g"], None),
        (["@functools.cache\ndef g(x):\n    return x"], None),
        (["def h(x):\n    return x", "g, k = h, h"], None),
        (["def g(x):\n    return x", "for g in [1]:\n    pass"], None),
        (["def g(x):\n    return x", "xs = [g for g in range(3)]"], "def g(x):\n    return x"),
        (["def g(x):\n    return x", "def g(:\n    pass"], "def g(x):\n    return x"),
    ],
    ids=[
        "timeit and matplotlib bind nothing",
        "a name bound by a magic",
        "a def in a cell magic",
        "globals() in a helper",
        "an import",
        "a decorator",
        "a tuple assignment",
        "a loop variable",
        "a comprehension's variable",
        "a cell that does not parse",
    ],
)
def test_definitions_read_only_what_python_keeps_the_source_of(cells, expected):
    assert definitions([new_code_cell(c) for c in cells]).get("g") == expected


def test_grade_refuses_bad_input_and_an_output_folder_inside_the_submissions(tmp_path, capsys):
    built = NOTEBOOKS / "exercises"
    klass = tmp_path / "class"
    save(klass / "alice" / "ex01.ipynb", student_nb(EX01))
    before = fingerprint(klass)
    with pytest.raises(ExerciseError, match="inside the submissions"):
        exercises.grade(klass, built, klass / "alice" / "grades")
    args = ["--notebooks", str(NOTEBOOKS), "grade", str(klass), "--out", str(klass)]
    assert exercises.main(args) == 2
    assert "grades never go next to a student's work" in capsys.readouterr().err
    assert fingerprint(klass) == before
    with pytest.raises(ExerciseError, match="no submission found"):
        exercises.grade(klass / "alice", built, tmp_path / "out", sandboxed=False)
    with pytest.raises(ExerciseError, match="is not a folder; expected the class's"):
        exercises.grade(tmp_path / "nope", built)
    with pytest.raises(ExerciseError, match="timeout must be > 0"):
        exercises.grade(klass, built, timeout=0)
    with pytest.raises(ExerciseError, match="memory >= 512 MB"):
        exercises.grade(klass, built, memory_mb=100)
    with pytest.raises(ExerciseError, match="no exercise notebooks"):
        exercises.grade(klass, tmp_path / "nope", sandboxed=False)
    save(tmp_path / "plain" / "ex01_gap_loop.ipynb", nbformat.v4.new_notebook())
    with pytest.raises(ExerciseError, match="has no cell tagged 'self-check'"):
        exercises.grade(klass, tmp_path / "plain", sandboxed=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class", "plain"]  # nothing written


def test_unreadable_and_duplicate_submissions_fail_without_running(tmp_path):
    ex = load_exercises(NOTEBOOKS / "exercises")["ex01"]
    bad = tmp_path / "ann_ex01.ipynb"  # JSON, but no metadata and a cell without source
    bad.write_text('{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5}')
    copy = tmp_path / "ann_ex01_gap_loop.ipynb"
    save(copy, student_nb(EX01))
    for paths, hint in [
        ((bad,), "not a valid notebook (ValidationError: "),
        ((bad, copy), "several notebooks for this exercise: ann_ex01.ipynb, ann_ex01_gap_loop"),
    ]:
        rows = asyncio.run(grade_submission(Submission("ann", ex, paths), timeout=1))
        assert [(r.student, r.exercise, r.check, r.passed) for r in rows] == [
            ("ann", EX01, name, False) for name in (CAMS, PROBS, QUESTION)
        ]
        assert all(r.hint.startswith(hint) for r in rows), rows[0].hint


@pytest.mark.parametrize("sandboxed", [True, False], ids=["sandbox", "no sandbox"])
def test_a_kernel_that_dies_gives_a_failed_row_naming_the_cell(tmp_path, sandboxed):
    """A tiny notebook without TensorFlow, so that its kernel is quick to start."""
    if sandboxed and NO_SANDBOX is not None:
        pytest.skip(f"no sandbox: {NO_SANDBOX}")
    ex = Exercise("ex99_demo", "ex99", (Check("check_x", "check_x(f)"),))
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("def f():\n    return 1"),
            nbformat.v4.new_code_cell("import os\n\nos._exit(1)  # as a segfault would"),
            nbformat.v4.new_code_cell("check_x(f)"),
        ]
    )
    save(tmp_path / "kim_ex99.ipynb", nb)
    submission = Submission("kim", ex, (tmp_path / "kim_ex99.ipynb",))
    rows = asyncio.run(grade_submission(submission, 60, isolation=Isolation(sandboxed)))
    hint = "not finished: the kernel died in cell [2] (`import os`)"
    assert rows == [("kim", "ex99_demo", "check_x", False, hint)]
