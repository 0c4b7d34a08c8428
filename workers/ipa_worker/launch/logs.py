"""Where torch's launcher puts each rank's output: one folder per try of a job, files named by global rank.

torch's own layout (`DefaultLogsSpecs`) nests a random folder per launch and numbers ranks by
their local index, which repeats on every node; here `rank-<RANK>.stdout.log`,
`rank-<RANK>.stderr.log` and `rank-<RANK>.error.json` sit side by side, so the ranks of all
nodes can share the run's folder.
"""

from __future__ import annotations

import os

from torch.distributed.elastic.multiprocessing.api import LogsDest, LogsSpecs, Std


class RankLogs(LogsSpecs):
    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir=log_dir, redirects=Std.ALL, tee=Std.NONE)

    @property
    def root_log_dir(self) -> str:
        return str(self._root_log_dir)

    def reify(self, envs: dict[int, dict[str, str]]) -> LogsDest:
        os.makedirs(self.root_log_dir, exist_ok=True)
        dest = LogsDest()
        for local_rank, env in envs.items():
            base = os.path.join(self.root_log_dir, f"rank-{env['RANK']}")
            dest.stdouts[local_rank] = base + ".stdout.log"
            dest.stderrs[local_rank] = base + ".stderr.log"
            dest.error_files[local_rank] = base + ".error.json"
            # A file left by an earlier try would read as this try's error.
            if os.path.exists(dest.error_files[local_rank]):
                os.remove(dest.error_files[local_rank])
            env["TORCHELASTIC_ERROR_FILE"] = dest.error_files[local_rank]
        return dest
