"""The stage context inside a training rank.

Rank 0 speaks for the group: its progress and log lines go to the supervisor over the channel
(the supervisor passes them on to the job); the other ranks stay quiet. Cancellation is decided
on rank 0, which alone hears the supervisor's cancel, and broadcast at every check, so all ranks
stop at the same step instead of one leaving the others waiting in a collective.
"""

from __future__ import annotations

import os
import threading

from ..errors import Cancelled
from ..context import StageContext
from ..training import collective
from .channel import ChannelWriter


class RankContext(StageContext):
    def __init__(self, channel: ChannelWriter | None, control_fd: int | None = None, min_progress_interval: float = 0.5):
        super().__init__(emit=channel.send if channel is not None else None, min_progress_interval=min_progress_interval)
        self.checks = 0  # how many shared cancel checks ran (one per training step)
        if control_fd is not None:
            threading.Thread(target=self._listen, args=(control_fd,), name="ipa-rank-control", daemon=True).start()

    def _listen(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as control:
            for line in control:
                if line.strip() == b"cancel":
                    self.cancel()

    def check_cancelled(self) -> None:
        """A collective: every rank calls it at the same point (the Trainer's step end)."""
        self.checks += 1
        if collective.broadcast_flag(self.cancelled):
            raise Cancelled("cancelled by the orchestrator")
