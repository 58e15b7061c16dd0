"""Atomic writes leave the old file or the new one, and edits are never overwritten silently."""

import os
import stat

import pytest

from cam_edu.exercises import safe_io
from cam_edu.exercises.safe_io import atomic_write, sha256, write_protected


def test_atomic_write_creates_and_replaces(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write(target, "first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary files left


def test_atomic_write_keeps_unicode_and_newlines_exactly(tmp_path):
    text = "✓ ok\r\nzweite Zeile\n"
    atomic_write(tmp_path / "u.txt", text)
    assert (tmp_path / "u.txt").read_bytes() == text.encode("utf-8")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "keep.txt"
    target.write_text("precious")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(safe_io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_atomic_write_keeps_the_permission_bits(tmp_path):
    target = tmp_path / "script.sh"
    target.write_text("old")
    os.chmod(target, 0o755)
    atomic_write(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_atomic_write_errors_are_specific(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "a.txt", "x")
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path, "x")
    with pytest.raises(TypeError, match="bytes or str"):
        atomic_write(tmp_path / "a.txt", {"a": 1})


def test_write_protected_statuses(tmp_path):
    target = tmp_path / "gen.txt"
    ours = {sha256("v1"), sha256("v2")}

    def untouched(data):
        return sha256(data) in ours

    assert write_protected(target, "v1", untouched=untouched).status == "created"
    assert write_protected(target, "v1", untouched=untouched).status == "unchanged"
    assert write_protected(target, "v2", untouched=untouched).status == "updated"
    assert target.read_text() == "v2"

    target.write_text("v2 plus my notes")
    result = write_protected(target, "v3", untouched=untouched)
    assert result.status == "kept" and result.backup is None
    assert target.read_text() == "v2 plus my notes"


def test_force_overwrites_but_backs_up_every_edited_version(tmp_path):
    target = tmp_path / "gen.txt"
    target.write_text("edit 1")
    first = write_protected(target, "generated", untouched=lambda d: False, force=True)
    assert first.status == "forced" and first.backup.read_text() == "edit 1"
    target.write_text("edit 2")
    second = write_protected(target, "generated", untouched=lambda d: False, force=True)
    assert second.backup.name == "gen.txt.bak2" and second.backup.read_text() == "edit 2"
    assert first.backup.read_text() == "edit 1"  # the older backup survives
    assert target.read_text() == "generated"


def test_force_without_backup(tmp_path):
    target = tmp_path / "gen.txt"
    target.write_text("mine")
    result = write_protected(target, "new", untouched=lambda d: False, force=True, backup=False)
    assert result.status == "forced" and result.backup is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen.txt"]


def test_write_protected_needs_a_callable():
    with pytest.raises(TypeError, match="untouched must be a function"):
        write_protected("x.txt", "data", untouched="yes")


def test_sha256_matches_hashlib():
    import hashlib

    assert sha256("abc") == hashlib.sha256(b"abc").hexdigest() == sha256(b"abc")
