"""vLLM sampling benchmarks, run by .venv-vllm's Python (bench/vllm.ts), one engine start for both:

1. backends: `generation.generate` (the hf backend, one torch thread: vLLM computes on one bound
   core on a CPU) vs `vllm_engine.generate_vllm` (the vllm backend) on the same prompts, images,
   per-response seeds and settings: new tokens/s;
2. overhead: the sample stage with `sampling.backend: vllm` (reads the seed shard, loads and checks
   images, renders prompts, generates, writes rows) vs a bare offline script on the same engine
   that opens the same images, renders the same prompts with the checkpoint's processor and calls
   `LLM.generate` with the same per-request seeds: seconds per shard.

Repetitions are interleaved. Prints one JSON line.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache on a CPU


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--per-seed", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()

    import torch
    from PIL import Image
    from vllm import SamplingParams

    from ipa_worker.contract import recipe_defaults
    from ipa_worker.data.jsonl_io import read_jsonl
    from ipa_worker.models import vllm_engine
    from ipa_worker.models.generation import generate
    from ipa_worker.models.messages import user_messages
    from ipa_worker.models.model_pool import ModelPool
    from ipa_worker.context import StageContext
    from ipa_worker.stages import sample
    from ipa_worker.tools.gpu_check.stage_runs import ROUND, payload, write_seeds

    work = Path(a.work)
    run_dir = work / "run"
    seeds_path = write_seeds(work / "data", run_dir, a.seeds, 56)
    recipe = recipe_defaults()
    recipe["name"] = "bench-vllm"
    recipe["model"].update(base=a.model, device="cpu", dtype="float32", min_pixels=56 * 56, max_pixels=56 * 56)
    recipe["sampling"].update(backend="vllm", num_normal=a.per_seed, num_contrastive=0, max_new_tokens=a.max_new_tokens, batch_size=a.seeds * a.per_seed)
    sampling, model_cfg = recipe["sampling"], recipe["model"]
    spec = {"base": a.model, "adapter": None}
    lora_rank = recipe["training"]["lora"]["r"]

    # The prompts the sample stage makes (normal samples: the seed's own image), with its seeds.
    seeds = read_jsonl(seeds_path)
    prompts = []
    for s in seeds:
        img = Image.open(s["images"][0]).convert("RGB")
        for k in range(a.per_seed):
            g = sample.sample_seed(recipe["seed"], ROUND, f"{s['id']}/n{k}")
            prompts.append({"images": [img], "messages": user_messages(s["instruction"], 1), "seed": g})
    gen = dict(temperature=float(sampling["temperature"]), top_p=float(sampling["top_p"]), max_new_tokens=a.max_new_tokens)

    t0 = time.perf_counter()
    vllm_engine.generate_vllm(spec, model_cfg, sampling["vllm"], prompts[:2], lora_rank=lora_rank, **gen)
    engine_start_s = time.perf_counter() - t0
    llm, processor, _ = vllm_engine.engine(vllm_engine.engine_settings(model_cfg, sampling["vllm"], a.model, 1, lora_rank))
    torch.set_num_threads(1)
    lm = ModelPool().get(spec, model_cfg)
    generate(lm, prompts[:2], batch_size=2, **gen)  # warm-up

    ctx = StageContext(models=ModelPool())
    p = payload(run_dir, "sample", recipe, {"seeds": seeds_path})

    def bare() -> int:
        reqs, params = [], []
        for s in read_jsonl(seeds_path):
            img = Image.open(s["images"][0]).convert("RGB")
            text = processor.apply_chat_template(user_messages(s["instruction"], 1), tokenize=False, add_generation_prompt=True)
            for k in range(a.per_seed):
                reqs.append({"prompt": text, "multi_modal_data": {"image": img}})
                g = sample.sample_seed(recipe["seed"], ROUND, f"{s['id']}/n{k}") % (2**31 - 1)
                params.append(SamplingParams(temperature=gen["temperature"], top_p=gen["top_p"], max_tokens=a.max_new_tokens, seed=g))
        return sum(len(o.outputs[0].token_ids) for o in llm.generate(reqs, params, use_tqdm=False))

    res = {k: [] for k in ("hf", "vllm", "tokens_hf", "tokens_vllm", "stage_s", "bare_s", "tokens_stage", "tokens_bare")}
    res.update(engine_start_s=engine_start_s, prompts=len(prompts))
    for _ in range(a.reps):
        t = time.perf_counter()
        n = sum(x["num_tokens"] for x in generate(lm, prompts, batch_size=len(prompts), **gen))
        res["hf"].append(n / (time.perf_counter() - t))
        res["tokens_hf"].append(n)
        t = time.perf_counter()
        n = sum(x["num_tokens"] for x in vllm_engine.generate_vllm(spec, model_cfg, sampling["vllm"], prompts, lora_rank=lora_rank, **gen))
        res["vllm"].append(n / (time.perf_counter() - t))
        res["tokens_vllm"].append(n)
        t = time.perf_counter()
        out = sample.run(p, ctx)
        res["stage_s"].append(time.perf_counter() - t)
        res["tokens_stage"].append(out["metrics"]["tokens"])
        t = time.perf_counter()
        res["tokens_bare"].append(bare())
        res["bare_s"].append(time.perf_counter() - t)
    vllm_engine.close_engine()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
