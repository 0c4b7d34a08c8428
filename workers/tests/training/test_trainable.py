"""Resume only from complete checkpoints: a kill during a save leaves a folder without trainer_state.json."""

from ipa_worker.training.trainable import last_checkpoint


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
