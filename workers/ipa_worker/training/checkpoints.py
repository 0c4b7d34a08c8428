"""A training job's checkpoints (`checkpoint-<step>` folders the Trainer writes): which are complete,
the one a retried job resumes from, and keeping only the newest few (`training.dpo.save_total_limit`).

transformers has its own limit (`save_total_limit`), but it deletes old checkpoints inside the save,
before the callbacks run: before `CheckpointMark` says the new one is whole, and in a group while the
other ranks may still be writing theirs. A crash then could leave no complete checkpoint at all. So
the Trainer's limit stays off and `CheckpointMark` removes old ones after it marked a new one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

CHECKPOINT_MARK = "ipa_checkpoint.json"
_NAME = re.compile(r"checkpoint-(\d+)")


def checkpoint_complete(folder: Path) -> bool:
    """A checkpoint every rank finished writing: marked by `CheckpointMark`, or (written by one
    process before the mark existed) holding `trainer_state.json` and the single RNG file.

    transformers writes a checkpoint in place and `trainer_state.json` last, so a process killed
    mid-save leaves a folder without it; in a group, rank 0 writes it without waiting for the
    others, which the mark covers.
    """
    if not (folder / "trainer_state.json").is_file():
        return False
    return (
        (folder / CHECKPOINT_MARK).is_file()
        or (folder / "rng_state.pth").is_file()
        or not any(folder.glob("rng_state_*.pth"))
    )


def _checkpoints(checkpoint_dir: str | None) -> list[tuple[int, Path]]:
    """Every `checkpoint-N` folder, oldest first."""
    if not checkpoint_dir or not Path(checkpoint_dir).is_dir():
        return []
    found = []
    for d in Path(checkpoint_dir).iterdir():
        m = _NAME.fullmatch(d.name)
        if m and d.is_dir():
            found.append((int(m.group(1)), d))
    return sorted(found)


def last_checkpoint(checkpoint_dir: str | None) -> str | None:
    """The newest complete `checkpoint-N` folder; incomplete ones are skipped, not resumed from."""
    done = [d for _, d in _checkpoints(checkpoint_dir) if checkpoint_complete(d)]
    return str(done[-1]) if done else None


def prune_checkpoints(checkpoint_dir: str, keep: int) -> list[str]:
    """Keeps the newest `keep` complete checkpoints and removes the rest that are older than the
    newest complete one: older complete ones, and incomplete ones (saves that never finished). A
    folder newer than the newest complete one is a save in progress and stays. Returns what was
    removed."""
    found = _checkpoints(checkpoint_dir)
    complete = [(step, d) for step, d in found if checkpoint_complete(d)]
    if not complete:
        return []
    kept = {d for _, d in complete[-max(1, keep) :]}
    newest = complete[-1][0]
    removed = []
    for step, d in found:
        if step < newest and d not in kept:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(str(d))
    return removed
