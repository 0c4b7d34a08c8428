"""Baseline for the bridge benchmark: the least a JSON-lines echo over a pipe can do."""

import json
import sys

out = sys.stdout.buffer
for line in sys.stdin.buffer:
    msg = json.loads(line)
    out.write(
        json.dumps({"v": 1, "type": "result", "id": msg["id"], "result": {"data": msg["params"]["data"]}}).encode()
        + b"\n"
    )
    out.flush()
