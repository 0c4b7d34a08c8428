"""Library chatter stays out of job logs: progress bars off at the source, library deprecation
notices dropped, other warnings as one log line; the Trainer prints no dicts of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

WORKERS = str(Path(__file__).resolve().parents[2])


# Run in a fresh interpreter: the switches act at import time and must not leak into this one.
PROBE = r"""
import json, logging, warnings
records = []
class Keep(logging.Handler):
    def emit(self, r): records.append(r.getMessage())
logging.getLogger().addHandler(Keep())
logging.captureWarnings(True)
from ipa_worker.serve.quiet import quiet_libraries
quiet_libraries()
warnings.warn_explicit("`x` is deprecated", FutureWarning, "/site/transformers/training_args.py", 1541, module="transformers.training_args")
warnings.warn_explicit("old api", DeprecationWarning, "/site/trl/x.py", 3, module="trl.x")
warnings.warn_explicit("ours is kept", FutureWarning, "/w/ipa_worker/a.py", 7, module="ipa_worker.a")
warnings.warn_explicit("the image is small", UserWarning, "/site/PIL/Image.py", 12, module="PIL.Image")
import tqdm, datasets
from datasets.utils.logging import is_progress_bar_enabled
from transformers.utils import logging as tl
print(json.dumps({"records": records, "bar": not tqdm.tqdm(range(3)).disable, "datasets_bar": is_progress_bar_enabled(),
                  "transformers_bar": tl.is_progress_bar_enabled(), "transformers_level": tl.get_verbosity()}))
"""


def test_library_output_is_quiet_and_warnings_are_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("TQDM_DISABLE", "TRANSFORMERS_VERBOSITY")}
    env["PYTHONPATH"] = WORKERS
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["records"] == ["FutureWarning: ours is kept (a.py:7)", "UserWarning: the image is small (Image.py:12)"]
    assert got["bar"] is False and got["datasets_bar"] is False and got["transformers_bar"] is False
    assert got["transformers_level"] == 40  # errors only
    assert "\r" not in out.stderr
