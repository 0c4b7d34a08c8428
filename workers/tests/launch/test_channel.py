"""The ranks' line channel: lines survive any split."""

from __future__ import annotations

import os
import threading

from ipa_worker.launch.channel import ChannelWriter, LineReader


def test_channel_lines_survive_any_split():
    read_fd, write_fd = os.pipe()

    def write() -> None:
        writer = ChannelWriter(write_fd)
        writer.send({"type": "progress", "done": 1, "total": 2, "metrics": {"loss": 0.5}})
        writer.send({"type": "log", "msg": "x" * 100_000})  # more than a pipe holds: several writes
        os.close(write_fd)

    thread = threading.Thread(target=write)
    thread.start()
    data = b""
    while chunk := os.read(read_fd, 4096):
        data += chunk
    thread.join()
    os.close(read_fd)
    reader = LineReader()
    got = [m for i in range(0, len(data), 777) for m in reader.feed(data[i : i + 777])]
    assert [m["type"] for m in got] == ["progress", "log"] and len(got[1]["msg"]) == 100_000
    assert list(reader.feed(b"not json\n")) == []
