"""lmms-eval's output stream: log lines, progress bars, segments."""

from __future__ import annotations

from ipa_worker.evaluation.lmms_stream import parse_progress, parse_stdout_line, split_segments
from lmms_outputs import OFFLINE_STDOUT


def test_stream_lines_and_progress():
    line = parse_stdout_line(OFFLINE_STDOUT)
    assert (
        line.level == "error"
        and line.source == "lmms_eval.__main__:cli_evaluate:614"
        and line.msg.startswith("Error during evaluation: RetryError")
    )
    table = parse_stdout_line("|ipa_ab  |none  |      |accuracy|↑  |    0|±  |     0|N/A       |")
    assert table.level == "info" and table.source == "stdout"
    assert parse_stdout_line("   \n") is None
    bar = "Model Responding:  42%|████▏     | 5/12 [00:06<00:07,  1.02s/it][transformers] A decoder-only architecture is being used"
    assert parse_progress(bar) == parse_progress("\x1b[A" + bar)
    p = parse_progress(bar)
    assert (p.desc, p.done, p.total) == ("Model Responding", 5, 12)
    assert parse_progress("  0%|          | 0/6 [00:00<?, ?it/s]").desc == ""
    assert parse_progress("Traceback (most recent call last):") is None
    segments, rest = split_segments("a: 10%|#| 1/10\rb: 20%|#| 2/10\rTraceback\nhalf")
    assert segments == ["a: 10%|#| 1/10", "b: 20%|#| 2/10", "Traceback"] and rest == "half"
