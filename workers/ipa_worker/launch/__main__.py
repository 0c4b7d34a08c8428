"""Run one training stage payload on several processes, here or across nodes, by hand.

    python -m ipa_worker.launch PAYLOAD.json [--nproc-per-node N] [--nnodes M --node-rank R
        --main-addr HOST --main-port PORT] [--out RESULT.json] [--json]

PAYLOAD.json is a StagePayload of stage `train` or `sft` (docs/ARCHITECTURE.md), e.g. the one a
worker logged, with absolute paths every node can reach. Several nodes: start the same command
on each, with its own --node-rank and the same --main-addr (node 0's address) and --main-port;
--nproc-per-node is the processes on each node (one per GPU). Node 0 prints the result.
A queued train job never spans nodes: `ipa worker --gpus` trains on one node's devices.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import WorkerError
from ..context import StageContext
from .supervisor import run_ranks
from .topology import LAUNCHED_STAGES, Topology


def _printer(msg: dict[str, Any]) -> None:
    if msg.get("type") == "log":
        print(f"[{msg.get('level', 'info')}] {msg.get('msg', '')}", file=sys.stderr, flush=True)
    elif msg.get("type") == "progress":
        print(f"progress {msg.get('done')}/{msg.get('total')}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ipa_worker.launch", description=__doc__.splitlines()[0])
    ap.add_argument("payload", help="a StagePayload JSON file of stage train or sft")
    ap.add_argument("--nproc-per-node", type=int, default=1, help="processes on this node, one per GPU (default 1)")
    ap.add_argument("--nnodes", type=int, default=1, help="nodes taking part (default 1)")
    ap.add_argument("--node-rank", type=int, default=0, help="this node's index, 0 on the main node (default 0)")
    ap.add_argument("--main-addr", default="127.0.0.1", help="address of node 0, reachable from every node (default 127.0.0.1)")
    ap.add_argument("--main-port", type=int, default=0, help="free TCP port on node 0 (needed with several nodes)")
    ap.add_argument("--out", help="write the stage result as JSON to this file (node 0)")
    ap.add_argument("--json", action="store_true", help="print the stage result as JSON instead of a summary")
    a = ap.parse_args(argv)
    try:
        payload = json.loads(Path(a.payload).read_text())
    except (OSError, ValueError) as exc:
        print(f"{a.payload}: cannot read the payload: {exc}", file=sys.stderr)
        return 3
    if payload.get("stage") not in LAUNCHED_STAGES:
        print(f"{a.payload}: stage {payload.get('stage')!r} is not a training stage ({', '.join(sorted(LAUNCHED_STAGES))})", file=sys.stderr)
        return 3
    topo = Topology(a.nproc_per_node, a.nnodes, a.node_rank, a.main_addr, a.main_port)
    try:
        result = run_ranks(payload, StageContext(emit=_printer), topo)
    except WorkerError as exc:
        print(f"training failed ({exc.kind}): {exc}", file=sys.stderr)
        return 3 if exc.kind == "BadInput" else 1
    if result is None:
        print(f"node {a.node_rank}: its {a.nproc_per_node} process(es) finished; node 0 has the result", file=sys.stderr)
        return 0
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1))
    if a.json:
        print(json.dumps(result))
    else:
        m = result.get("metrics", {})
        for name, out in (result.get("outputs") or {}).items():
            print(f"{name}: {out['path'] if out else '-'}")
        print(f"steps {m.get('steps')}, world size {m.get('world_size')}, {m.get('strategy')}, final loss {m.get('final_loss')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
