"""Library chatter kept out of the job logs: no progress bars, no deprecation notices, warnings in one line.

Progress that matters reaches Node as `progress` messages (training steps, items done); a
library's own bars (datasets "Casting the dataset", transformers "Loading weights" and "Writing
model shards") would only fill the log with `\\r`-redrawn lines. The environment switches must be
set before those libraries are imported, which the worker does lazily, after start-up.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

#: Read by tqdm (every bar, since 4.66), huggingface_hub, datasets and transformers at import.
QUIET_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    # transformers' own logger prints straight to stderr; its errors stay, its notices go
    "TRANSFORMERS_VERBOSITY": "error",
}

_warnings_log = logging.getLogger("py.warnings")


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """`warnings.showwarning` that logs `Category: message (file.py:12)`, without the source line."""
    _warnings_log.warning("%s: %s (%s:%d)", category.__name__, str(message).strip(), Path(filename).name, lineno)


def quiet_libraries() -> None:
    """Call once at start-up, before torch, transformers, datasets or TRL are imported."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    # Deprecation notices of libraries are for their users' code, not for a job's log; ours stay.
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=r"(?!ipa_worker)")
    warnings.showwarning = one_line_warning
