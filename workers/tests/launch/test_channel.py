"""Rank 0's channel file: whole messages, in order, whatever the reader's timing."""

from __future__ import annotations

import threading

from ipa_worker.launch.channel import ChannelTail, ChannelWriter


def test_the_tail_yields_whole_messages_as_they_are_appended(tmp_path):
    path = str(tmp_path / "channel.jsonl")
    tail = ChannelTail(path)
    assert list(tail.read()) == []  # not written yet
    writer = ChannelWriter(path)
    threads = [
        threading.Thread(
            target=lambda i=i: [writer.send({"type": "log", "msg": f"{i}-{k}", "pad": "x" * 5000}) for k in range(50)]
        )
        for i in range(4)
    ]
    got = []
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        got += list(tail.read())
    got += list(tail.read())
    writer.close()
    assert sorted(m["msg"] for m in got) == sorted(
        f"{i}-{k}" for i in range(4) for k in range(50)
    )  # none split, none lost
    with open(path, "ab") as f:
        f.write(b'not json\n{"type": "progress", "done": 1')
    assert list(tail.read()) == []  # a stray line is skipped, a partial one waits for its end
    with open(path, "ab") as f:
        f.write(b', "total": 2}\n')
    assert [m["done"] for m in tail.read()] == [1]
