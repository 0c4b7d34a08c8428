"""Issue 25, findings 3, 4, 6 and 7 on the Python side: training reads only regular files inside
its run (a named pipe never blocks it, a link or a record leading elsewhere is refused), tracking
writes nothing through a `tracking` link, and an hf export marks its folder and replaces it whole."""

import json
import os
import threading

import pytest
from ipa_worker.data.jsonl_io import atomic_write_jsonl
from ipa_worker.data.run_files import iter_jsonl_in, open_regular
from ipa_worker.errors import BadInput
from ipa_worker.training.pair_dataset import read_pair_rows
from ipa_worker.training.tracking import tracking_for

ROW = {"id": "p1", "seed_id": "s1", "images": [], "prompt": [], "chosen": [], "rejected": []}


@pytest.fixture
def run(tmp_path):
    run = tmp_path / "run"
    atomic_write_jsonl(run / "round-1" / "pairs" / "shard-000.jsonl", [ROW])
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    atomic_write_jsonl(outside / "shard-000.jsonl", [{**ROW, "id": "foreign"}])
    return run, outside


def _in_thread(fn, timeout=20.0):
    """Runs `fn` in a daemon thread: a read blocked on a pipe shows up as a timeout, not a hung test."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the read blocked (still waiting after the timeout)"
    return box


def test_the_pair_reader_refuses_a_named_pipe_without_blocking(run):
    run_dir, _ = run
    shard = run_dir / "round-1" / "pairs" / "shard-001.jsonl"
    os.mkfifo(shard)
    box = _in_thread(lambda: read_pair_rows([str(shard)], run_dir=str(run_dir)))
    assert isinstance(box.get("error"), BadInput)
    assert "is a named pipe (FIFO), not a regular file; it was not read" in str(box["error"])


def test_the_pair_reader_refuses_a_file_outside_the_run_named_directly_or_through_a_link(run):
    run_dir, outside = run
    with pytest.raises(BadInput, match="outside the run directory"):
        read_pair_rows([str(outside / "shard-000.jsonl")], run_dir=str(run_dir))
    linked = run_dir / "round-2" / "pairs"
    linked.parent.mkdir(parents=True)
    linked.symlink_to(outside)
    with pytest.raises(BadInput, match=r"resolves to .*elsewhere.*outside the run directory"):
        read_pair_rows([str(linked / "shard-000.jsonl")], run_dir=str(run_dir))
    # Inside the run, a regular file reads as before.
    rows, failed = read_pair_rows([str(run_dir / "round-1" / "pairs" / "shard-000.jsonl")], run_dir=str(run_dir))
    assert [r["id"] for r in rows] == ["p1"] and failed == []


def test_open_regular_refuses_a_folder_and_a_device(run):
    run_dir, _ = run
    with pytest.raises(BadInput, match="is a folder, not a regular file"):
        open_regular(run_dir)
    with pytest.raises(BadInput, match="is a character device, not a regular file"):
        list(iter_jsonl_in("/dev/zero"))


def test_tracking_through_a_link_leading_out_of_the_run_is_refused(run, tmp_path):
    run_dir, outside = run
    (run_dir / "tracking").symlink_to(outside)
    recipe = {"name": "t", "training": {"report_to": ["tensorboard"]}}
    with pytest.raises(BadInput, match="tracking resolves to .*outside the run directory"):
        tracking_for(recipe, run_id="r", run_dir=str(run_dir), round=1, model="policy")
    assert sorted(p.name for p in outside.iterdir()) == ["shard-000.jsonl"]


def test_an_hf_export_carries_its_marker_and_is_replaced_whole(tmp_path):
    from ipa_worker.tools.export import EXPORT_MARKER, export_pairs
    from PIL import Image as PILImage

    img = tmp_path / "img.png"
    PILImage.new("RGB", (28, 28), (10, 60, 200)).save(img)
    row = {"id": "p1", "images": [str(img)], "prompt": [{"role": "user", "content": [{"type": "text", "text": "q"}]}],
           "chosen": [{"role": "assistant", "content": [{"type": "text", "text": "a"}]}],
           "rejected": [{"role": "assistant", "content": [{"type": "text", "text": "b"}]}]}  # fmt: skip
    run_dir = tmp_path / "run"
    shard = run_dir / "round-1" / "pairs" / "shard-000.jsonl"
    atomic_write_jsonl(shard, [row])
    out = tmp_path / "export"
    for rows in (1, 1):
        rec = export_pairs([str(shard)], str(out), "hf", run_id="run-1", run_dir=str(run_dir))
        assert rec["rows"] == rows
        marker = json.loads((out / EXPORT_MARKER).read_text())
        assert marker["run_id"] == "run-1" and marker["kind"] == "pairs" and marker["rows"] == 1
    # Written beside the target and renamed: no temporary folder is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "img.png", "run"]
