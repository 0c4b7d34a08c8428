"""What the Python side writes into a run and its exports follows the umask: a teammate reads it
under the usual 022 (0644 files, 0755 folders), and nothing is world-writable even under umask 0.
Written atomically, as before: nothing but the target is left beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from ipa_worker.data.dirbuild import build_dir_atomically
from ipa_worker.data.jsonl_io import atomic_write_bytes, atomic_write_json, atomic_write_jsonl, make_dirs
from ipa_worker.training.trainable import publish_dir

TEAMMATE = 65534  # nobody: neither the owner nor in its group


@pytest.fixture
def umask():
    saved = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(saved)


def _write_everything(root: Path) -> None:
    """A shard, a JSON file and bytes (report.md, accuracy.png, images) in new nested folders, a
    folder built atomically (the tiny model, the synthetic data) and a published one (models, hf exports)."""
    atomic_write_jsonl(root / "round-1" / "pairs" / "shard-000.jsonl", [{"id": "p"}])
    atomic_write_json(root / "eval" / "round-1.json", {"overall": 0.5})
    atomic_write_bytes(root / "report.md", b"# report\n")
    make_dirs(root / "data" / "images")
    build_dir_atomically(
        root / "synthetic", lambda tmp: atomic_write_jsonl(tmp / "train.jsonl", [{}]), lambda p: False, {"kind": "test"}
    )
    publish_dir(root / "export", lambda tmp: atomic_write_jsonl(tmp / "pairs.jsonl", [{"id": "p"}]))


def _walk(root: Path) -> list[Path]:
    """Every folder and file but lock files (empty, for flock: filelock creates them 0666 under the umask)."""
    return [root, *sorted(p for p in root.rglob("*") if not p.name.endswith(".lock"))]


def _unreadable_by_teammate(paths: list[Path]) -> list[str]:
    """Tried for real as another user where this process may switch users (root, as in the test
    containers); else read from the mode bits for "others"."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        script = 'for p in "$@"; do if [ -d "$p" ]; then ls "$p" >/dev/null 2>&1 || echo "$p"; else cat "$p" >/dev/null 2>&1 || echo "$p"; fi; done'
        r = subprocess.run(
            [
                "setpriv",
                f"--reuid={TEAMMATE}",
                f"--regid={TEAMMATE}",
                "--clear-groups",
                "sh",
                "-c",
                script,
                "sh",
                *map(str, paths),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return r.stdout.split()
    return [
        str(p)
        for p in paths
        if (p.stat().st_mode & (0o005 if p.is_dir() else 0o004)) != (0o005 if p.is_dir() else 0o004)
    ]


@pytest.fixture
def shared_folder():
    """A folder the team can reach (pytest's own temp folders are private to their owner)."""
    d = Path(tempfile.mkdtemp(prefix="ipa-shared-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_teammate_reads_what_a_run_writes_under_umask_022(shared_folder, umask):
    root = shared_folder / "run"
    _write_everything(root)
    paths = _walk(root)
    assert {("dir" if p.is_dir() else "file", oct(p.stat().st_mode & 0o777)) for p in paths} == {
        ("dir", "0o755"),
        ("file", "0o644"),
    }
    assert _unreadable_by_teammate(paths) == []
    # Atomic as before: no temp file or build folder left beside the targets.
    assert [p.name for p in paths if p.name.startswith(".") and p.name != ".ipa-complete.json"] == []


def test_nothing_is_world_writable_under_umask_0(tmp_path, umask):
    umask(0)
    root = tmp_path / "run"
    _write_everything(root)
    writable = [f"{p} {oct(p.stat().st_mode & 0o777)}" for p in _walk(root) if p.stat().st_mode & 0o002]
    assert writable == []


def test_a_stricter_umask_keeps_a_run_private(tmp_path, umask):
    umask(0o077)
    root = tmp_path / "run"
    _write_everything(root)
    assert {p.stat().st_mode & 0o077 for p in _walk(root)} == {0}
