"""`python -m ipa_worker serve [--log-level LEVEL]`: run the bridge protocol on stdin/stdout."""

from __future__ import annotations

import argparse
import os

from .serve.protocol import LOG_LEVELS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipa_worker", description="ipa PyTorch worker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="speak the bridge protocol (JSON lines) on stdin/stdout")
    serve.add_argument(
        "--log-level",
        default=os.environ.get("IPA_WORKER_LOG_LEVEL", "info"),
        choices=LOG_LEVELS,
        help="lowest level sent as `log` messages (default: IPA_WORKER_LOG_LEVEL, else info)",
    )
    args = parser.parse_args(argv)
    from .serve.server import serve as run_server

    return run_server(args.log_level)


if __name__ == "__main__":
    raise SystemExit(main())
