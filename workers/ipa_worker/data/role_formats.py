"""The words of the verifier's and the reviser's answers on the synthetic task.

The warm-up examples (training/synthetic_roles.py) write answers in these formats, and the tiny
model's tokenizer (models/tiny_model.py) is trained on them so that each is a few tokens. Kept
here, below both, so the tokenizer needs nothing from the method or training layers.
"""

from __future__ import annotations

# What each task type's answer names, as feedback says it ("Wrong colour: ...").
CATEGORY_NAME = {
    "colour": "colour",
    "shape": "shape",
    "count": "number",
    "text": "text",
    "position": "side",
    "describe": "colour and shape",
}

# The verifier's answer: one line per check (method/verifier.py CHECKS, in that order), then the verdict.
CHECK_LINES = ("ENTAILED", "COMPLETE", "NO_CONTRADICTION", "INSTRUCTION_FOLLOWED")


def role_corpus() -> list[str]:
    """The role formats' words, for the tiny model's tokenizer (so they are few tokens each)."""
    lines = [f"{name}: {v}" for name in CHECK_LINES for v in ("yes", "no")] + ["VERDICT: 1", "VERDICT: 0", "Correct."]
    for what in CATEGORY_NAME.values():
        lines += [
            f"Wrong {what}: not",
            f"Wrong {what}: it is",
            f"Incomplete: give the {what}.",
            f"Too long: give only the {what}.",
            f"Not an answer: give the {what}.",
        ]
    lines += ["Incomplete: it is", "Too long: answer", "Not an answer: it is"]
    return lines
