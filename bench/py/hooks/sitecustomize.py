"""Stage timing for the utilisation benchmark, loaded only when bench/py/hooks is on PYTHONPATH.

Wraps the worker server's `stage` method so each Python process appends
`{job_id, pid, start, end}` (wall clock, seconds) to $IPA_BENCH_STAGE_TIMES: the time the Python
side spends on a stage, measured from inside it. Behaviour is otherwise unchanged.
"""

import os

_PATH = os.environ.get("IPA_BENCH_STAGE_TIMES")
if _PATH:
    import json
    import time

    from ipa_worker.serve import server as _server

    _original = _server.Server._stage

    def _timed_stage(self, payload, ctx):
        start = time.time()
        try:
            return _original(self, payload, ctx)
        finally:
            end = time.time()
            with open(_PATH, "a", encoding="utf-8") as f:
                f.write(
                    json.dumps({"job_id": payload.get("job_id"), "pid": os.getpid(), "start": start, "end": end}) + "\n"
                )

    _server.Server._stage = _timed_stage
