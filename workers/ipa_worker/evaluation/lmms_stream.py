"""Reading lmms-eval's console output as it runs: log lines from stdout, progress from stderr.

lmms-eval logs through loguru to stdout, coloured even when piped:
`2026-11-30 02:21:31 | INFO     | lmms_eval.__main__:cli_evaluate_single:671 - Selected Tasks: [...]`.
Its results table is printed to stdout too. tqdm bars go to stderr, redrawn after `\\r`:
`Model Responding:  42%|████▏     | 5/12 [00:06<00:07,  1.02s/it]`, sometimes with a warning
glued to the end. Stderr also carries tracebacks and library warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LOGURU = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \| (?P<level>[A-Z]+)\s*\| (?P<source>[\w.<>]+:[\w<>]+:\d+) - (?P<msg>.*)$"
)
TQDM = re.compile(r"^(?P<desc>[^|\r\n]{0,80}?):?\s*\d{1,3}%\|[^|]*\|\s*(?P<done>\d+)/(?P<total>\d+)")
# The bar that counts the model's answers; the others (weights, splits, postprocessing) are short.
ANSWER_BAR = "Model Responding"

# loguru levels → the protocol's log levels
LEVELS = {
    "TRACE": "debug",
    "DEBUG": "debug",
    "INFO": "info",
    "SUCCESS": "info",
    "WARNING": "warning",
    "ERROR": "error",
    "CRITICAL": "critical",
}


@dataclass(frozen=True)
class LogLine:
    level: str
    source: str
    msg: str


@dataclass(frozen=True)
class Progress:
    desc: str
    done: int
    total: int


def clean(text: str) -> str:
    return ANSI.sub("", text).rstrip()


def parse_stdout_line(line: str) -> LogLine | None:
    """A loguru line as (level, module:function:line, message); other text as info from "stdout"."""
    text = clean(line)
    if not text.strip():
        return None
    m = LOGURU.match(text)
    if m:
        return LogLine(LEVELS.get(m["level"], "info"), m["source"], m["msg"])
    return LogLine("info", "stdout", text)


def parse_progress(segment: str) -> Progress | None:
    """A tqdm redraw as (description, done, total), or None for any other stderr text."""
    m = TQDM.match(clean(segment).lstrip())
    if not m:
        return None
    return Progress(m["desc"].strip(), int(m["done"]), int(m["total"]))


def split_segments(buffer: str) -> tuple[list[str], str]:
    """Complete segments of `buffer` (ended by '\\r' or '\\n') and the unfinished rest."""
    parts = re.split(r"[\r\n]", buffer)
    return [p for p in parts[:-1] if p.strip()], parts[-1]
