"""Stage `verify_revisions`: verdicts on the refined responses (inputs: revisions, seeds; outputs: revision_verdicts).

The same verifier as `verify`, judging each revision's `refined` text; verdict rows carry the
revision's sample_id (`<source sample_id>/r`).
"""

from __future__ import annotations

from typing import Any

from ..data.jsonl_io import read_jsonl
from ..context import StageContext
from .verify import judge


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    return judge(payload, ctx, read_jsonl(payload["inputs"]["revisions"]), "refined", "revision_verdicts")
