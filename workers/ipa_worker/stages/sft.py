"""Stage `sft`: the warm-up (recipe warmup.sft), before round 1.

inputs: seeds; outputs: model (a complete checkpoint folder + processor), checkpoints (Trainer
checkpoints) and metrics (JSON lines, model "sft"). The start model is payload models.generator
(Node sets it to model.base). Precision, max_length and save_steps come from training.dpo.

What it learns from (warmup.sft.data):
- seeds: the first `max_rows` seed rows, answer examples only (instruction → reference);
- synthetic_warmup: the synthetic task's warm-up split (disjoint from the seeds and the
  evaluation splits), with the roles of warmup.sft.roles — answering, and the verifier's and
  reviser's formats in the templates this recipe's stages use (training/synthetic_roles.py; for the
  premise task training/premise_roles.py, whose answer examples follow the requirement a
  `roles.compliance` share of the time).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from ..context import StageContext
from ..contract.recipe_types import Recipe
from ..data.jsonl_io import read_jsonl
from ..data.synthetic import synthetic_paths
from ..errors import BadInput
from ..method.reviser import Templates
from ..prompts import load_template
from ..seeding import stable_seed
from ..training import premise_roles, synthetic_roles
from ..training.sft_trainer import SftJob, SftSettings, answer_examples, examples_to_dataset, train_sft
from ..training.tracking import tracking_for
from .common import batch_size, epochs_words


def warmup_examples(
    recipe: dict[str, Any], run_dir: str, seeds_path: str
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The warm-up's SFT examples and how many of each role."""
    settings = Recipe.from_dict(recipe)
    sft = settings.warmup.sft
    roles = sft.roles
    if sft.data == "seeds":
        rows = read_jsonl(seeds_path)[: sft.max_rows]
        if not rows:
            raise BadInput("sft: the seeds file has no rows")
        examples = [e for e in answer_examples(rows) for _ in range(roles.answer)]
        return examples, {"items": len(rows), "answer": len(examples)}
    syn = synthetic_paths(recipe, run_dir)
    if syn is None:
        raise BadInput("warmup.sft.data is synthetic_warmup but data.synthetic is not enabled")
    folder = Path(syn["warmup"]).parent
    rows = [{**r, "images": [str(folder / p) for p in r["images"]]} for r in read_jsonl(syn["warmup"])][: sft.max_rows]
    if not rows:
        raise BadInput("sft: the synthetic warm-up split is empty (set data.synthetic.warmup_size)")
    common = dict(
        verifier_template=load_template("verifier", settings.verifier.template),
        templates=Templates(recipe["reviser"]),
        answer=roles.answer,
        verify=roles.verify,
        revise=roles.revise,
        swapped_references=roles.swapped_references,
        rng=random.Random(stable_seed("warmup", settings.seed)),
    )
    if settings.data.synthetic.task == "premise":
        examples = premise_roles.role_examples(rows, **common, compliance=roles.compliance)
    else:
        examples = synthetic_roles.role_examples(rows, **common)
    counts = {
        "items": len(rows),
        "answer": len(rows) * roles.answer,
        "verify": len(rows) * roles.verify,
        "revise": 2 * len(rows) * roles.revise,
    }
    return examples, counts


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    outputs = payload["outputs"]
    settings = SftSettings.warmup(Recipe.from_dict(payload["recipe"]))
    examples, counts = warmup_examples(payload["recipe"], payload["run_dir"], payload["inputs"]["seeds"])
    if not examples:
        raise BadInput("sft: warmup.sft.roles asks for no examples")
    roles = ", ".join(f"{n} {role}" for role, n in counts.items() if role != "items")
    ctx.phase(
        f"warm-up SFT: {len(examples)} examples ({roles}) from {counts['items']} items, {epochs_words(settings.epochs)}",
        label="warm-up SFT: loading model",
    )
    job = SftJob(
        start=payload["models"]["generator"], out_dir=outputs["model"], checkpoint_dir=outputs["checkpoints"],
        batch_size=batch_size(settings.batch_size, payload["options"]), metrics_path=outputs["metrics"],
    )  # fmt: skip
    tracking = tracking_for(
        payload["recipe"], run_id=payload["run_id"], run_dir=payload["run_dir"], round=payload["round"], model="sft"
    )
    result = train_sft(
        examples_to_dataset(examples), job, settings, payload["recipe"]["model"], ctx=ctx, tracking=tracking
    )
    metrics = {**result["metrics"], **{f"examples_{k}": v for k, v in counts.items()}}
    return {"outputs": {"model": result["output"]}, "metrics": metrics, "failed_items": []}
