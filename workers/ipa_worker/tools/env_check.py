"""Which optional parts of the worker environment are importable, for `ipa validate`.

Prints `{"python": <interpreter>, "modules": {name: true|false}}` for the module names given. Only
looks the modules up (`importlib.util.find_spec`), so it answers in a fraction of a second
where importing lmms-eval would take twenty.

CLI: python -m ipa_worker.tools.env_check lmms_eval decord filelock._api tensorboard
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys


def importable(name: str) -> bool:
    """Whether `name` (dotted names too: a parent package is imported to find its child) is there."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ipa_worker.tools.env_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*")
    args = parser.parse_args(argv)
    print(json.dumps({"python": sys.executable, "modules": {m: importable(m) for m in args.modules}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
