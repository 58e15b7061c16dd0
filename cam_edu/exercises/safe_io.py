"""Writing files safely: atomically, and never over somebody's edits.

Two rules for every file the course generates (exercise notebooks, figures, reports):

1. A reader never sees half a file: :func:`atomic_write` writes a temporary file in
   the same folder, flushes it to disk and moves it over the target with
   ``os.replace`` (atomic on POSIX and Windows).
2. A generator never destroys work: :func:`write_protected` overwrites an existing
   file only if it is still exactly what the generator wrote last time (the caller
   says how to tell, e.g. a hash recorded in the file or in a manifest), or if
   ``force=True``; then it keeps a backup ``<name>.bak`` first.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
>>> write_protected(target, "v1", untouched=lambda old: True).status
'created'
>>> write_protected(target, "v2", untouched=lambda old: old == b"v1").status
'updated'
>>> write_protected(target, "v3", untouched=lambda old: old == b"v1").status
'kept'
>>> target.read_text()
'v2'
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

STATUSES = ("created", "updated", "unchanged", "kept", "forced")


def sha256(data: bytes | str) -> str:
    """Hex SHA-256 of ``data`` (``str`` is encoded as UTF-8).

    >>> sha256("abc")[:12]
    'ba7816bf8f01'
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes | bytearray):
        raise TypeError(f"data must be bytes or str; got {type(data).__name__}.")
    return hashlib.sha256(data).hexdigest()


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    raise TypeError(
        f"data must be bytes or str; got {type(data).__name__}. Serialize it first, "
        "e.g. json.dumps(obj) or nbformat.writes(nb)."
    )


def atomic_write(path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix.

    The bytes go to a temporary file in the same folder (same file system), which is
    flushed, synced and then moved over ``path`` with ``os.replace``. If anything
    fails, the temporary file is removed and ``path`` is untouched. The file's
    permission bits are kept if it existed (0o644 minus the umask otherwise).

    Args:
        path: target file; its folder must exist.
        data: ``bytes``, or ``str`` written as UTF-8 (no newline translation).

    Returns:
        the target path as a :class:`pathlib.Path`.

    >>> import tempfile, pathlib
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "a.txt", "hello")
    >>> p.read_text()
    'hello'
    """
    target = Path(path)
    payload = _as_bytes(data)
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {target}: its folder {target.parent} does not exist. "
            "Create it first (Path.mkdir(parents=True))."
        )
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a directory, expected a file.")
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o644 & ~umask
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return target


class WriteResult(NamedTuple):
    """What :func:`write_protected` did.

    Attributes:
        status: one of ``STATUSES``: ``"created"`` (new file), ``"updated"`` (the old
            file was untouched generator output), ``"unchanged"`` (same bytes, nothing
            written), ``"kept"`` (the old file was edited; not overwritten),
            ``"forced"`` (edited, overwritten because ``force=True``; see ``backup``).
        path: the target file.
        backup: where the edited file was saved before a forced overwrite, else ``None``.
    """

    status: str
    path: Path
    backup: Path | None = None


def write_protected(
    path,
    data: bytes | str,
    *,
    untouched: Callable[[bytes], bool],
    force: bool = False,
    backup: bool = True,
) -> WriteResult:
    """Write ``data`` atomically unless that would destroy edits made to ``path``.

    Args:
        path: target file.
        data: new content (``bytes``, or ``str`` as UTF-8).
        untouched: called with the existing file's bytes; must return ``True`` only if
            the file is exactly what this generator wrote before (e.g. its recorded
            hash still matches). Files of unknown origin must give ``False``.
        force: overwrite even an edited file.
        backup: with ``force``, first copy the edited file to ``<name>.bak``
            (``<name>.bak2``, ... if that exists), atomically too.

    Returns:
        a :class:`WriteResult`; ``status == "kept"`` means nothing was written.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_text("mine")
    >>> r = write_protected(p, "generated", untouched=lambda old: False, force=True)
    >>> r.status, r.backup.name, p.read_text()
    ('forced', 'x.txt.bak', 'generated')
    """
    if not callable(untouched):
        raise TypeError(
            "untouched must be a function of the existing file's bytes returning True if "
            f"the file is unedited generator output; got {type(untouched).__name__}."
        )
    target = Path(path)
    payload = _as_bytes(data)
    if not target.exists():
        atomic_write(target, payload)
        return WriteResult("created", target)
    old = target.read_bytes()
    if old == payload:
        return WriteResult("unchanged", target)
    if untouched(old):
        atomic_write(target, payload)
        return WriteResult("updated", target)
    if not force:
        return WriteResult("kept", target)
    saved = None
    if backup:
        saved = target.with_name(target.name + ".bak")
        n = 2
        while saved.exists():
            saved = target.with_name(f"{target.name}.bak{n}")
            n += 1
        atomic_write(saved, old)
    atomic_write(target, payload)
    return WriteResult("forced", target, saved)
