"""JSON lines from a rank to its supervisor over a pipe: progress, logs, the result, an error.

Each rank has its own pipe, so lines of different ranks never interleave; one lock per writer
keeps a rank's threads (the Trainer, logging) from splitting each other's lines.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Iterator


class ChannelWriter:
    def __init__(self, fd: int):
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, msg: dict[str, Any]) -> None:
        data = (json.dumps(msg, default=str) + "\n").encode()
        with self._lock:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]


class LineReader:
    """Turns the bytes read from one pipe into whole decoded messages."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> Iterator[dict[str, Any]]:
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            if line.strip():
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not ours (a library wrote to the fd): the rank's stderr has the details
                if isinstance(msg, dict):
                    yield msg
