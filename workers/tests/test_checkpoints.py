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
