"""Reading run files without trusting what they are: the Python side of the rule that
orchestrator/regular-file.ts and orchestrator/store/run-links.ts keep in Node.

- Only a regular file is read. A named pipe in place of a shard would block a read forever, a
  device could be endless: files are opened with O_NONBLOCK (opening a pipe with no writer
  returns at once), checked with fstat, and refused before one byte is read.
- With a run directory, a path must resolve (links followed) inside the run's real path: a link
  planted in the run (`round-1/pairs` -> another folder) or a done record naming a file elsewhere
  is refused, never read.

Refusals are BadInput: the input is wrong, retrying the job cannot help.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import BadInput


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


def inside_run(path: str | os.PathLike, run_dir: str | os.PathLike) -> Path:
    """`path` with links resolved; BadInput when that lies outside `run_dir` (links resolved too)."""
    real = Path(os.path.realpath(path))
    root = Path(os.path.realpath(run_dir))
    if real != root and root not in real.parents:
        raise BadInput(
            f"{path} resolves to {real}, outside the run directory {root} (a symbolic link, or a done record naming a file elsewhere); it was not read"
        )
    return real


def open_regular(path: str | os.PathLike, run_dir: str | os.PathLike | None = None, *, text: bool = True) -> IO[Any]:
    """`path` open for reading, only when it is a regular file (and, with `run_dir`, inside the run)."""
    if run_dir is not None:
        inside_run(path, run_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise BadInput(f"input file not found: {path}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise BadInput(f"{path} is a {_kind(mode)}, not a regular file; it was not read")
        # Back to blocking reads: O_NONBLOCK was only for the open.
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "r", encoding="utf-8") if text else os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def iter_jsonl_in(path: str | os.PathLike, run_dir: str | os.PathLike | None = None) -> Iterator[dict[str, Any]]:
    """The rows of a JSON-lines file read through `open_regular`."""
    with open_regular(path, run_dir) as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def run_folder(run_dir: str | os.PathLike, name: str) -> Path:
    """The path of the run's folder `name` (e.g. `tracking`; the caller creates it); BadInput when it leads out of the run (a link)."""
    p = Path(run_dir) / name
    if p.is_symlink() or p.exists():
        inside_run(p, run_dir)
    return p
