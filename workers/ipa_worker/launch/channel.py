"""Rank 0's messages to the worker that launched it: JSON lines appended to a file the worker tails.

torch's launcher gives a rank no pipe to its parent, so rank 0 appends its progress and log
lines to a file in the group's control folder, one locked write each (the Trainer and logging
write from several threads), and the worker reads what was added since it last looked.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any


class ChannelWriter:
    def __init__(self, path: str):
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()

    def send(self, msg: dict[str, Any]) -> None:
        data = (json.dumps(msg, default=str) + "\n").encode()
        with self._lock:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]

    def close(self) -> None:
        os.close(self._fd)


class ChannelTail:
    """The whole messages added to a channel file since the last call (a partial last line waits)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._offset = 0
        self._buf = b""

    def read(self) -> Iterator[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        self._offset += len(data)
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            if line.strip():
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not a message: the rank's stderr log has whatever wrote it
                if isinstance(msg, dict):
                    yield msg
