"""Atomic, checksummed file output: temp file in the same folder, fsync, rename."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Modes before the umask (as orchestrator/file-modes.ts): a teammate reads what a run writes
# (0644 / 0755 under the usual umask 022), a stricter umask keeps it private, and nothing is
# world-writable even under umask 0.
FILE_MODE = 0o664
DIR_MODE = 0o775


def make_dirs(path: str | os.PathLike) -> None:
    """mkdir -p with DIR_MODE under the umask for every folder created (`Path.mkdir(parents=True)`
    gives parents 0777 under the umask: world-writable under umask 0)."""
    p = Path(path)
    missing = []
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue


def make_temp_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """A new, uniquely named folder in `parent`, DIR_MODE under the umask (`tempfile.mkdtemp`
    makes it 0700, and what is renamed out of it would stay unreadable to a teammate)."""
    for _ in range(100):
        d = Path(parent) / f"{prefix}{secrets.token_hex(6)}"
        try:
            d.mkdir(mode=DIR_MODE)
            return d
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary folder name under {parent}")


def _create_temp(target: Path) -> tuple[int, str]:
    """A new temp file beside `target`, FILE_MODE under the umask (`tempfile.mkstemp` makes it 0600)."""
    for _ in range(100):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name beside {target}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> str:
    """Write `data` to `path` atomically; returns its sha256 hex digest."""
    target = Path(path)
    make_dirs(target.parent)
    fd, tmp = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return hashlib.sha256(data).hexdigest()


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Write rows as JSON lines atomically; returns the output record `{path, rows, sha256}`."""
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]
    data = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
    digest = atomic_write_bytes(path, data)
    return {"path": str(path), "rows": len(lines), "sha256": digest}


def atomic_write_json(path: str | os.PathLike, obj: Any) -> dict[str, Any]:
    data = (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    digest = atomic_write_bytes(path, data)
    return {"path": str(path), "rows": 1, "sha256": digest}


def read_jsonl(path: str | os.PathLike) -> list[dict[str, Any]]:
    return list(iter_jsonl(path))


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
