"""Engine limits from the run, not the call: the most images one prompt of the run can hold and
the longest sequence it can need, so one vLLM engine serves every stage and shard of a run.

Both come from the recipe and the run's data: the prepared seeds (`data/seeds.jsonl`) and the
local benchmarks the built-in evaluation reads. The sequence bound adds up maxima, each an upper
bound of its part: the chat template around the most images, `model.max_pixels` worth of visual
tokens per image, the longest role template, the longest instruction plus reference (or benchmark
question), the generated texts a prompt quotes (a response, then its feedback, in the refinement
prompt) and the largest `max_new_tokens` — plus a margin, as decoded text can encode to a few more
tokens than were generated. Capped at the model's own position limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract.recipe_types import Recipe
from ..data.image_limits import ProcessorLimits
from ..data.jsonl_io import iter_jsonl
from ..prompts import REQUIRED, load_template, render
from .messages import user_messages

SEEDS_FILE = "data/seeds.jsonl"  # written by `prepare`, unchanged for the rest of the run
BLOCK = 16  # vLLM's KV block: the bound is rounded up to whole blocks
_CACHE: dict[tuple, RunLimits] = {}


@dataclass(frozen=True)
class RunLimits:
    max_images: int
    max_model_len: int


def _rows(path: Path, max_rows: int | None = None) -> Iterable[dict[str, Any]]:
    for i, row in enumerate(iter_jsonl(path)):
        if max_rows is not None and i >= max_rows:
            return
        yield row


def _images(row: dict[str, Any]) -> int:
    refs = row.get("images", row.get("image"))
    return len(refs) if isinstance(refs, list) else (1 if refs else 0)


def _templates(recipe: dict[str, Any]) -> list[str]:
    overrides = {
        "verifier": recipe["verifier"].get("template"),
        "feedback": recipe["reviser"].get("feedback_template"),
        "feedback_reference": recipe["reviser"].get("reference_feedback_template"),
        "refine": recipe["reviser"].get("refine_template"),
    }
    # Each template with its placeholders empty: the words it adds around what it quotes.
    return [render(load_template(name, overrides[name]), **{k: "" for k in REQUIRED[name]}) for name in REQUIRED]


def _position_limit(base: str) -> int | None:
    try:
        cfg = json.loads((Path(base) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = (cfg.get("text_config") or {}).get("max_position_embeddings", cfg.get("max_position_embeddings"))
    return int(value) if value else None


def _stamp(path: Path) -> tuple:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns)


def run_limits(recipe: dict[str, Any], run_dir: str, base: str, processor, seed_files: list[str] = ()) -> RunLimits:
    """The run's `RunLimits` for a model whose processor is `processor` (cached per run data and
    recipe). The seed rows are the run's prepared seeds; where a run folder has none (a payload
    built by hand), the files in `seed_files`."""
    prepared = Path(run_dir) / SEEDS_FILE
    files = [prepared] if prepared.is_file() else [Path(f) for f in seed_files if f and Path(f).is_file()]
    settings = Recipe.from_dict(recipe)
    benches = [(Path(b.path), b.max_rows) for b in settings.eval.benchmarks if Path(b.path).is_file()]
    key = (
        tuple(_stamp(f) for f in files),
        tuple(_stamp(p) for p, _ in benches),
        base,
        json.dumps(recipe, sort_keys=True),
    )
    if key not in _CACHE:
        _CACHE[key] = _compute(recipe, settings, base, processor, files, benches)
    return _CACHE[key]


def _compute(recipe, settings: Recipe, base: str, processor, files: list[Path], benches) -> RunLimits:
    tokenizer, limits = processor.tokenizer, ProcessorLimits.from_processor(processor)

    def tokens(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []

    max_images, longest_text = 1, 0
    for path in files:
        rows = list(_rows(path))
        max_images = max([max_images] + [_images(r) for r in rows])
        pairs = (
            tokens([str(r.get("instruction", "")) for r in rows]),
            tokens([str(r.get("reference", "")) for r in rows]),
        )
        longest_text = max([longest_text] + [a + b for a, b in zip(*pairs)])
    for path, max_rows in benches:
        rows = list(_rows(path, max_rows))
        max_images = max([max_images] + [_images(r) for r in rows])
        longest_text = max([longest_text] + tokens([str(r.get("question", "")) for r in rows]))

    chat = processor.apply_chat_template(user_messages("", max_images), tokenize=False, add_generation_prompt=True)
    per_image = limits.max_pixels // (limits.factor * limits.factor)  # smart_resize keeps h x w <= max_pixels
    template = max(tokens(_templates(recipe)))
    s, r = settings.sampling.max_new_tokens, settings.reviser.max_new_tokens
    quoted = s + r  # the refinement prompt quotes a response and its feedback
    generated = max(s, r, settings.verifier.max_new_tokens, settings.eval.max_new_tokens)
    total = tokens([chat])[0] + max_images * (per_image - 1) + template + longest_text + quoted + generated
    total = math.ceil(total * 1.05 + 16)  # re-encoded text may take a few more tokens than were generated
    total = BLOCK * math.ceil(total / BLOCK)
    cap = _position_limit(base)
    return RunLimits(max_images=max_images, max_model_len=min(total, cap) if cap else total)
