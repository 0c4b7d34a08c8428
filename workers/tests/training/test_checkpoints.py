"""Resume only from complete checkpoints (a kill during a save leaves a folder without
trainer_state.json), and keep only the newest few, never the last complete one."""

from ipa_worker.training.checkpoints import last_checkpoint, prune_checkpoints


def test_incomplete_newest_checkpoint_is_skipped(tmp_path):
    for step, complete in [(2, True), (4, True), (6, False)]:
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "model.safetensors").write_bytes(b"x")
        if complete:
            (d / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-4")


def test_no_checkpoint(tmp_path):
    assert last_checkpoint(str(tmp_path)) is None
    assert last_checkpoint(str(tmp_path / "missing")) is None
    assert last_checkpoint(None) is None


def _checkpoint(root, step, files):
    d = root / f"checkpoint-{step}"
    d.mkdir()
    for name in files:
        (d / name).write_text("{}")


def test_a_group_checkpoint_counts_only_once_marked(tmp_path):
    _checkpoint(tmp_path, 1, ["trainer_state.json", "rng_state.pth"])  # one process, before the mark existed
    _checkpoint(tmp_path, 2, ["trainer_state.json", "rng_state_0.pth", "rng_state_1.pth", "ipa_checkpoint.json"])
    # Rank 0 wrote its state; the mark (after every rank's files) is missing: not resumable.
    _checkpoint(tmp_path, 3, ["trainer_state.json", "rng_state_0.pth"])
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-2")
    (tmp_path / "checkpoint-3" / "ipa_checkpoint.json").write_text("{}")
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-3")


def _complete(root, step):
    _checkpoint(root, step, ["trainer_state.json", "rng_state.pth", "ipa_checkpoint.json"])


def _left(root):
    return sorted(int(d.name.split("-")[1]) for d in root.iterdir() if d.name.startswith("checkpoint-"))


def test_pruning_keeps_the_newest_complete_ones(tmp_path):
    for step in (1, 2, 3, 4):
        _complete(tmp_path, step)
    _checkpoint(tmp_path, 0, ["model.safetensors"])  # a save that never finished, from an earlier try
    removed = prune_checkpoints(str(tmp_path), keep=2)
    assert _left(tmp_path) == [3, 4]
    assert sorted(removed) == sorted(str(tmp_path / f"checkpoint-{s}") for s in (0, 1, 2))
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-4")


def test_pruning_never_removes_the_last_complete_checkpoint_while_a_newer_one_is_being_written(tmp_path):
    _complete(tmp_path, 2)
    _complete(tmp_path, 4)
    # Rank 0 has written its state for step 6; the mark (every rank done) is not there yet.
    _checkpoint(tmp_path, 6, ["trainer_state.json", "rng_state_0.pth"])
    prune_checkpoints(str(tmp_path), keep=1)
    assert _left(tmp_path) == [4, 6]
    # A crash now: the retried job resumes from step 4.
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-4")


def test_pruning_with_nothing_complete_removes_nothing(tmp_path):
    _checkpoint(tmp_path, 3, ["model.safetensors"])
    assert prune_checkpoints(str(tmp_path), keep=1) == []
    assert prune_checkpoints(str(tmp_path / "missing"), keep=1) == []
    assert _left(tmp_path) == [3]
