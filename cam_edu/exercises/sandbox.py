"""A sandbox per submission: Linux namespaces through bubblewrap (``bwrap``).

:func:`command` wraps the grader's runner (:mod:`.runner`) in ``bwrap`` so that the
student's code, and everything it starts:

- has **no network** (a network namespace of its own with only a loopback interface,
  which the kernel's messages use);
- sees **the system read-only** and only what a kernel needs: ``/usr`` and the
  libraries, a few files of ``/etc``, the Python installation, the course's package
  and its ``data/`` folder. The instructor's home, the submissions, the grades, the
  solutions and other students' kernels are not there at all;
- writes only to its **own temporary folder** (``/tmp``, a RAM disk of at most
  ``tmp_mb``, its home and working folder included, and a 64 MB ``/dev/shm``); they
  vanish with the sandbox;
- is user ``nobody`` in namespaces of its own (user, process ids, IPC, host
  name, cgroup), without capabilities and without creating user namespaces again;
- has **limits**, set by the runner, soft and hard: ``memory_mb`` of address space
  per process, ``processes`` processes and threads, CPU seconds per process, files
  of at most 256 MB, nice 10;
- **ends completely**: the runner is process 1's only child in a process namespace of
  its own; when it ends, or the grader kills the sandbox at its deadline, the kernel
  and any process left behind die with it.

Run by root, the grader first makes the sandbox's user a real unprivileged one (the
kernel exempts root from the process limit, whatever the namespace): in a mount namespace
of its own it binds the folders above to a stage the user ``nobody`` can reach
(``unshare``, ``mount``), then starts ``bwrap`` as ``nobody`` (``setpriv``).

It does not stop a student's code from using its share of CPU and memory up to those
limits, from reading the parts of the system listed above, or from returning values
that it computed by calling ``cam_edu``'s own implementations.

:func:`unavailable` says why no sandbox can be made here (no ``bwrap``, not Linux, no
user namespaces); the grader then refuses to run unless told ``--no-sandbox``.

>>> limits = Limits(memory_mb=2048, processes=64, cpu_seconds=300)
>>> argv = command(["python", "-m", "cam_edu.exercises.runner"], limits, {})
>>> argv[0].endswith("bwrap"), "--unshare-all" in argv, "--share-net" in argv
(True, True, False)
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

ETC = (
    "alternatives",
    "fonts",
    "group",
    "host.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "passwd",
)
"""The files of ``/etc`` a kernel reads (libraries, fonts, user names, time zone)."""

SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
NOBODY = 65534
STAGE = (
    'set -e; while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done; shift; '
    f'exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups -- "$@"'
)
"""Run by root: bind each ``SOURCE STAGE`` pair given before ``--``, then become nobody."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use (see the module documentation)."""

    memory_mb: int = 4096
    processes: int = 256
    cpu_seconds: int = 900
    tmp_mb: int = 512
    threads: int = 2

    def runner_args(self) -> list[str]:
        return [
            f"--memory-mb={self.memory_mb}",
            f"--processes={self.processes}",
            f"--cpu-seconds={self.cpu_seconds}",
        ]


def readable_paths() -> list[Path]:
    """The folders of Python and of the course the sandbox shows, read-only: the Python
    installation, the virtual environment, the ``cam_edu`` package and its data."""
    import cam_edu
    from cam_edu.course.checkpoints import DATA_DIR

    paths = [
        Path(p).resolve()
        for p in {sys.base_prefix, sys.prefix, sys.exec_prefix, sysconfig.get_paths()["purelib"]}
    ]
    paths += [Path(cam_edu.__file__).resolve().parent, DATA_DIR.resolve()]
    kept = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if path.exists() and not any(path.is_relative_to(k) for k in kept):
            kept.append(path)
    return kept


def _system_args() -> list[str]:
    args = []
    for name in SYSTEM:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def environment(limits: Limits) -> dict[str, str]:
    """The whole environment inside the sandbox (nothing of the grader's is passed on)."""
    threads = str(limits.threads)
    return {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CAM_EDU_OFFLINE": "1",
        "KERAS_HOME": "/tmp/keras",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "IPYTHONDIR": "/tmp/ipython",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
    }


def command(runner: list[str], limits: Limits, sources: dict[Path, Path]) -> list[str]:
    """The ``bwrap`` command line that runs ``runner`` (an argv) in a new sandbox.

    ``sources`` maps each of :func:`readable_paths` to where ``bwrap`` finds it (itself,
    or its stage when run by root; missing ones are shown from themselves).
    """
    bwrap = shutil.which("bwrap") or "bwrap"
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        *_system_args(),
    ]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmp_mb * 2**20)]
    args += ["--tmpfs", "/tmp", "--dir", "/tmp/home", "--dir", "/tmp/work"]
    for path in readable_paths():  # after /tmp's RAM disk: a course installed under /tmp shows
        args += ["--ro-bind", str(sources.get(path, path)), str(path)]
    args += ["--size", str(64 * 2**20), "--tmpfs", "/dev/shm", "--remount-ro", "/"]
    args += ["--chdir", "/tmp/work"]
    for name, value in environment(limits).items():
        args += ["--setenv", name, value]
    return [*args, "--", *runner, *limits.runner_args()]


@contextlib.contextmanager
def prepared(runner: list[str], limits: Limits):
    """The command line that starts a new sandbox running ``runner``; a stage it needed
    (run by root) is removed when the block ends. See the module documentation."""
    paths = readable_paths()
    if os.geteuid() != 0:
        yield command(runner, limits, {})
        return
    stage = Path(tempfile.mkdtemp(prefix="cam_edu_sandbox_"))
    try:
        stage.chmod(0o755)
        sources, pairs = {}, []
        for i, path in enumerate(paths):
            spot = stage / str(i)
            spot.mkdir(mode=0o755)
            sources[path] = spot
            pairs += [str(path), str(spot)]
        wrapper = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c"]
        yield [*wrapper, STAGE, "sh", *pairs, "--", *command(runner, limits, sources)]
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@functools.cache
def unavailable() -> str | None:
    """Why no sandbox can be made on this machine, or ``None`` if one can."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux namespaces; this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return (
            "bubblewrap is not installed (Debian, Ubuntu: sudo apt-get install bubblewrap; "
            "Fedora: sudo dnf install bubblewrap)"
        )
    if os.geteuid() == 0 and not all(map(shutil.which, ("unshare", "mount", "setpriv"))):
        return "run by root, the sandbox needs unshare, mount and setpriv (util-linux)"
    try:
        with prepared(["/bin/sh", "-c", "exit 0"], Limits()) as probe:
            result = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if result.returncode != 0:
        why = " ".join(result.stderr.split())[:200] or f"exit code {result.returncode}"
        return (
            f"bubblewrap cannot create namespaces here ({why}); unprivileged user "
            "namespaces may be switched off (sysctl kernel.unprivileged_userns_clone, "
            "or an AppArmor rule), or a container may forbid them"
        )
    return None
