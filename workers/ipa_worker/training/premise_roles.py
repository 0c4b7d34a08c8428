"""Warm-up examples of the three IPA roles on the premise task (`data.synthetic.task: premise`).

A stand-in for an instruction model that sometimes ignores requirements:
- answer: (V, I) → the compliant answer (`ideal_answer`) with probability `compliance`, else the
  terse reference (the knob that sets the starting compliance);
- verify: (V, verifier prompt with I, a reference and a response) → the four checks and the
  verdict, labelled by the checker (`premise_truth.checks`) on compliant, terse (non-compliant),
  factually wrong and form-broken responses; a `swapped_references` share shows a reference with
  one fact changed and is judged against it, so the verdict depends on the reference;
- revise: (V, feedback prompt with I and a failed response) → feedback naming the broken
  requirement ("Not a full sentence: end with a period.", "Mentions the colour: leave it out.")
  and any wrong fact, then (V, refine prompt with that feedback) → the compliant answer with the
  same (true) facts. Reference-guided feedback (every other unit) may state facts, never the
  formatted answer.

The responses and feedback come from data/premise_cases.py; this module puts them into the
roles' prompts. Pure functions of the rows and an rng, so a warm-up is reproducible.
"""

from __future__ import annotations

import random
from typing import Any

from ..data.premise_cases import failed_response, feedback_text, verify_case
from ..data.premise_task import ideal_answer, reference_of
from ..data.premise_truth import checks
from ..method.reviser import Templates, feedback_prompt, refine_prompt
from ..method.verifier import verifier_prompt
from ..models.messages import prompt_completion
from .synthetic_roles import checks_text


def role_examples(
    rows: list[dict[str, Any]],
    *,
    verifier_template: str,
    templates: Templates,
    answer: int,
    verify: int,
    revise: int,
    rng: random.Random,
    swapped_references: float = 0.0,
    compliance: float = 0.5,
) -> list[dict[str, Any]]:
    """SFT examples `{images, prompt, completion}` per warm-up row (rows carry `spec`), shuffled."""
    out: list[dict[str, Any]] = []
    for row in rows:
        images, instruction, spec = list(row["images"]), row["instruction"], row["spec"]
        facts = spec["facts"]

        def add(text: str, completion: str, images: list = images) -> None:
            out.append(prompt_completion(images, text, completion))

        for _ in range(answer):
            add(instruction, ideal_answer(spec, facts) if rng.random() < compliance else reference_of(facts))
        for _ in range(verify):
            shown, response = verify_case(spec, swapped=rng.random() < swapped_references, rng=rng)
            add(
                verifier_prompt(verifier_template, instruction, response, reference_of(shown)),
                checks_text(checks(spec, response, shown)),
            )
        for k in range(revise):
            guided = k % 2 == 1
            response = failed_response(spec, rng)
            feedback = feedback_text(spec, response, guided)
            add(feedback_prompt(templates, instruction, response, row["reference"] if guided else None), feedback)
            add(refine_prompt(templates, instruction, response, feedback), ideal_answer(spec, facts))
    rng.shuffle(out)
    return out
