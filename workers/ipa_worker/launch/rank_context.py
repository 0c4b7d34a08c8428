"""The stage context inside a training rank.

Rank 0 speaks for the group: its progress and log lines go to the launching worker over the
channel file (the worker passes them on to the job); the other ranks stay quiet. Cancellation is
decided on rank 0, which alone looks for the worker's cancel file, and broadcast at every check,
so all ranks stop at the same step instead of one leaving the others waiting in a collective.
"""

from __future__ import annotations

import os

from ..context import StageContext
from ..errors import Cancelled
from ..training import collective
from .channel import ChannelWriter


class RankContext(StageContext):
    def __init__(
        self, channel: ChannelWriter | None, cancel_file: str | None = None, min_progress_interval: float = 0.5
    ):
        super().__init__(
            emit=channel.send if channel is not None else None, min_progress_interval=min_progress_interval
        )
        self.checks = 0  # how many shared cancel checks ran (one per training step)
        self._cancel_file = cancel_file

    def check_cancelled(self) -> None:
        """A collective: every rank calls it at the same point (the Trainer's step end)."""
        self.checks += 1
        if self._cancel_file is not None and not self.cancelled and os.path.exists(self._cancel_file):
            self.cancel()
        if collective.broadcast_flag(self.cancelled):
            raise Cancelled("cancelled by the orchestrator")
