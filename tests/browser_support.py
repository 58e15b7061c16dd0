"""Shared by the real-browser tests: Debian's Chromium through Playwright, JupyterLab, a server.

``find_chromium`` and ``launch_chromium`` start the system Chromium (no Playwright browser
download); :class:`Lab` runs JupyterLab on a temporary copy of ``notebooks/``;
:func:`serve` serves a folder of static files on 127.0.0.1 (the website, the slides);
:func:`axe_violations` runs axe-core (from ``node_modules/``, installed by ``npm ci``) in
a page.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("critical", "serious")

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "Install Debian's Chromium with `sudo apt-get update && sudo apt-get install -y chromium` "
    "(or set CAM_EDU_CHROMIUM=/path/to/chromium); the playwright Python package is in the "
    "dev extras (`pip install -e '.[dev]'`). No Playwright browser download is needed."
)


def find_chromium() -> str | None:
    """The Chromium executable: ``$CAM_EDU_CHROMIUM``, else ``chromium`` on the PATH."""
    env = os.environ.get("CAM_EDU_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


# ----------------------------------------------------------------------------- JupyterLab


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marked_pids(marker: str) -> list[int]:
    """Processes whose environment holds ``CAM_EDU_BROWSER_TEST=marker`` (Linux /proc only)."""
    needle = f"CAM_EDU_BROWSER_TEST={marker}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return [p for p in pids if p != os.getpid()]


class Lab:
    """A JupyterLab server on a temporary copy of ``notebooks/``; use as a context manager.

    Args:
        workdir: an empty temporary folder; the copy, settings and log go there.
        notebooks: the folder to copy (default: the course's ``notebooks/``).
        env: extra environment variables for the server and its kernels.
    """

    def __init__(self, workdir: Path, notebooks: Path = REPO / "notebooks", env=None):
        self.workdir = workdir
        self.root = workdir / "notebooks"
        shutil.copytree(notebooks, self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.marker = secrets.token_hex(8)
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "jupyterlab.log"

    def clear_outputs(self, name: str) -> None:
        """Clear outputs and saved widget state of the copy, so that widgets come from the run."""
        import nbformat

        path = self.root / name
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, path)

    def write_notebook(self, name: str, cells: list[str]) -> None:
        """Write a notebook ``name`` made of the code ``cells`` into the copy."""
        import nbformat

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": ""}
        nbformat.write(nb, self.root / name)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def _api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(self.url(f"api/{path}"), method=method)
        body = urllib.request.urlopen(request, timeout=10).read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of the server (the server keeps running)."""
        for kernel in self._api("kernels"):
            self._api(f"kernels/{kernel['id']}", method="DELETE")

    def __enter__(self) -> Lab:
        settings = self.workdir / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"checkForUpdates": False, "fetchNews": "false"})
        )
        env = dict(
            os.environ,
            CAM_EDU_OFFLINE="1",
            CAM_EDU_BROWSER_TEST=self.marker,
            JUPYTER_RUNTIME_DIR=str(self.workdir / "runtime"),
            JUPYTER_DATA_DIR=str(self.workdir / "data"),
            JUPYTER_CONFIG_DIR=str(self.workdir / "config"),
            **self.extra_env,
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.user_settings_dir={self.workdir / 'settings'}",
            f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--ServerApp.allow_root=True")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_until_up(60)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url("api/status"), timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"JupyterLab did not start (exit code {self.proc.poll()}); its log:\n"
                        + self.log.read_text(errors="replace")[-3000:]
                    ) from None
                time.sleep(0.3)

    def __exit__(self, *exc) -> None:
        """Shut the server (and its kernels) down; kill what is left, by process id."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                request = urllib.request.Request(self.url("api/shutdown"), method="POST")
                urllib.request.urlopen(request, timeout=5).read()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while marked_pids(self.marker) and time.monotonic() < deadline:
            time.sleep(0.3)  # kernels exit shortly after the server asked them to
        for pid in marked_pids(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def launch_chromium(playwright, executable: str):
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 in a thread; yield its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address) -> None:
            pass  # the browser closing a connection early is not an error of the site

    handler = functools.partial(Quiet, directory=str(folder))
    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def require_chromium() -> str:
    """The Chromium executable, or skip the test (saying how to install what is missing)."""
    pytest.importorskip(
        "playwright.sync_api", reason=f"playwright is not installed. {INSTALL_HINT}"
    )
    executable = find_chromium()
    if executable is None:
        pytest.skip(f"Chromium not found, so the real-browser test is skipped. {INSTALL_HINT}")
    return executable


def axe_violations(page, within: str = "document") -> list[str]:
    """axe-core's critical and serious violations in ``page`` (``within``: a JS expression
    for the element to check), one line each: rule, impact, count, first element."""
    if not AXE.is_file():
        raise FileNotFoundError(f"{AXE} is missing: run `npm ci` (make test does).")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        f"""async () => (await axe.run({within}, {{resultTypes: ["violations"]}})).violations
        .map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].html.slice(0, 160)])"""
    )
    severe = [row for row in found if row[1] in SEVERE]
    return [f"{rule} ({impact}, {n}x): {html}" for rule, impact, n, html in severe]
