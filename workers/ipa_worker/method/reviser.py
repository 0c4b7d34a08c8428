"""The reviser pi_R: diagnostic feedback on a response, then a refined response from that feedback.

The reference answer reaches the feedback prompt only in reference-guided rounds, and never the
refinement prompt directly: the refinement must come from the feedback (the paper's round 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..prompts import load_template, render
from ..seeding import stable_seed


class Templates:
    """The reviser's three templates, from recipe overrides (`reviser.*_template`) or the packaged ones."""

    def __init__(self, reviser_cfg: dict[str, Any] | None = None):
        cfg = reviser_cfg or {}
        self.feedback = load_template("feedback", cfg.get("feedback_template"))
        self.feedback_reference = load_template("feedback_reference", cfg.get("reference_feedback_template"))
        self.refine = load_template("refine", cfg.get("refine_template"))


def feedback_prompt(templates: Templates, instruction: str, response: str, reference: str | None = None) -> str:
    """The feedback prompt; with `reference` (reference-guided rounds) the template that shows r_ref."""
    if reference is None:
        return render(templates.feedback, instruction=instruction, response=response)
    return render(templates.feedback_reference, instruction=instruction, response=response, reference=reference)


def refine_prompt(templates: Templates, instruction: str, response: str, feedback: str) -> str:
    return render(templates.refine, instruction=instruction, response=response, feedback=feedback)


def revise(
    lm,
    items: list[dict[str, Any]],
    *,
    templates: Templates,
    reference_guided: bool,
    temperature: float,
    max_new_tokens: int,
    batch_size: int,
    on_batch: Callable[..., None] | None = None,
    control: bool = False,
) -> list[dict[str, str]]:
    """Feedback then refinement for each item `{images, instruction, response, reference, seed}`.

    Two batched passes (all feedback, then all refinements), so each `generate` call batches
    across items. Each item's seed seeds its feedback and, derived from it, its refinement, so an
    item's texts do not depend on its batch. Returns `{feedback, refined}` per item; `on_batch`
    sees progress over every pass. With `control`, a third pass refines each response with empty
    feedback (same seeds as the refinement): `control_refined`, the repair rate's control.
    """
    from ..models.messages import user_messages

    n = len(items)

    def prompt(it: dict[str, Any], text: str, step: str) -> dict[str, Any]:
        return {
            "images": it["images"],
            "messages": user_messages(text, len(it["images"])),
            "seed": stable_seed(step, int(it["seed"]), bits=62),
        }

    passes = 3 if control else 2

    def progress(offset: int) -> Callable[..., None] | None:
        return (
            None
            if on_batch is None
            else (lambda done, _total, **metrics: on_batch(offset + done, passes * n, **metrics))
        )

    fb_prompts = [
        prompt(
            it,
            feedback_prompt(
                templates, it["instruction"], it["response"], it["reference"] if reference_guided else None
            ),
            "feedback",
        )
        for it in items
    ]
    kw = {"temperature": temperature, "top_p": 1.0, "max_new_tokens": max_new_tokens, "batch_size": batch_size}
    feedbacks = [o["text"] for o in lm.generate(fb_prompts, on_batch=progress(0), **kw)]
    ref_prompts = [
        prompt(it, refine_prompt(templates, it["instruction"], it["response"], fb), "refine")
        for it, fb in zip(items, feedbacks)
    ]
    refined = [o["text"] for o in lm.generate(ref_prompts, on_batch=progress(n), **kw)]
    out = [{"feedback": fb, "refined": rf} for fb, rf in zip(feedbacks, refined)]
    if control:
        ctl_prompts = [
            prompt(it, refine_prompt(templates, it["instruction"], it["response"], ""), "refine") for it in items
        ]
        for row, o in zip(out, lm.generate(ctl_prompts, on_batch=progress(2 * n), **kw)):
            row["control_refined"] = o["text"]
    return out
