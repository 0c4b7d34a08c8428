"""Sampling benchmark: ipa_worker.models.generation.generate (batched) vs a plain one-prompt-at-a-time
`model.generate` loop on the tiny Qwen2-VL; same prompts, sampling settings and max_new_tokens.
Prints one JSON line: tokens/s per repetition for each, interleaved."""

import argparse
import json
import time

from ipa_worker.contract import recipe_defaults
from ipa_worker.models.engines import Engines
from ipa_worker.models.generation import generate
from ipa_worker.models.messages import user_messages
from ipa_worker.models.tiny_model import build_tiny_model
from PIL import Image

# The recipe's model settings, on the CPU in float32 with 56x56 images.
CFG = {**recipe_defaults()["model"], "device": "cpu", "dtype": "float32", "min_pixels": 56 * 56, "max_pixels": 56 * 56}
COLOURS = ["red", "blue", "green", "yellow", "purple", "orange", "white", "black"]


def prompts(n):
    out = []
    for i in range(n):
        text = f"What colour is shape {i}?" + " Answer briefly." * (i % 3)  # mixed lengths: batching pads
        out.append(
            {"images": [Image.new("RGB", (56, 56), COLOURS[i % len(COLOURS)])], "messages": user_messages(text, 1)}
        )
    return out


def one_at_a_time(lm, ps, max_new_tokens, seed):
    import torch

    tok = lm.processor.tokenizer
    eos = set(lm.model.generation_config.eos_token_id or []) | {tok.eos_token_id, tok.pad_token_id}
    total = 0
    for i, p in enumerate(ps):
        text = lm.processor.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True)
        inputs = lm.processor(text=[text], images=p["images"], return_tensors="pt")
        torch.manual_seed(seed + i)
        with torch.inference_mode():
            out = lm.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=True,
                temperature=1.0,
                top_p=1.0,
                top_k=0,
                pad_token_id=tok.pad_token_id,
            )
        row = out[0, inputs["input_ids"].shape[1] :].tolist()
        total += next((k for k, t in enumerate(row) if t in eos), len(row))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    lm = Engines().hf_role({"base": build_tiny_model(a.model), "adapter": None}, CFG)
    ps = prompts(a.prompts)
    res = {"ours": [], "baseline": [], "tokens_ours": [], "tokens_baseline": []}
    generate(lm, ps[:2], temperature=1.0, max_new_tokens=2, seed=0, batch_size=2)  # warm-up
    for r in range(a.reps):
        t = time.perf_counter()
        toks = sum(
            x["num_tokens"]
            for x in generate(
                lm, ps, temperature=1.0, top_p=1.0, max_new_tokens=a.max_new_tokens, seed=r, batch_size=a.batch_size
            )
        )
        res["ours"].append(toks / (time.perf_counter() - t))
        res["tokens_ours"].append(toks)
        t = time.perf_counter()
        toks = one_at_a_time(lm, ps, a.max_new_tokens, seed=r * 1000)
        res["baseline"].append(toks / (time.perf_counter() - t))
        res["tokens_baseline"].append(toks)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
