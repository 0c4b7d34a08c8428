"""Stage `sft`: warm the initial model up on the seeds' reference answers (recipe warmup.sft).

inputs: seeds; outputs: model (a complete checkpoint folder + processor), checkpoints (Trainer
checkpoints) and metrics (JSON lines, model "sft"). The start model is payload models.generator
(Node sets it to model.base). Precision, max_length and save_steps come from training.dpo;
warmup.sft.max_rows caps the rows (first rows of the file).
"""

from __future__ import annotations

from typing import Any

from ..data.jsonl_io import read_jsonl
from ..errors import BadInput
from ..serve.context import StageContext
from ..training.sft_trainer import seed_rows_to_dataset, train_sft
from .common import batch_size


def run(payload: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
    recipe, outputs = payload["recipe"], payload["outputs"]
    sft = recipe["warmup"]["sft"]
    dpo = recipe["training"]["dpo"]
    seeds = read_jsonl(payload["inputs"]["seeds"])
    if sft.get("max_rows"):
        seeds = seeds[: int(sft["max_rows"])]
    if not seeds:
        raise BadInput("sft: the seeds file has no rows")
    epochs = float(sft["epochs"])
    ctx.phase(f"warm-up SFT: {len(seeds)} seeds, {epochs:g} epoch{'' if epochs == 1 else 's'}", label="warm-up SFT: loading model")
    result = train_sft(
        seed_rows_to_dataset(seeds),
        start=payload["models"]["generator"],
        out_dir=outputs["model"],
        sft=sft,
        model_cfg=recipe["model"],
        checkpoint_dir=outputs["checkpoints"],
        max_length=int(dpo["max_length"]),
        save_steps=int(dpo["save_steps"]),
        bf16=dpo["bf16"],
        seed=int(recipe["seed"]),
        batch_size=batch_size(sft["batch_size"], payload["options"]),
        metrics_path=outputs["metrics"],
        ctx=ctx,
    )
    return {"outputs": {"model": result["output"]}, "metrics": result["metrics"], "failed_items": []}
