"""vLLM benchmarks, run by .venv-vllm's Python (bench/vllm.ts), one engine start for all:

1. backends: the hf role (`generation.generate`, one torch thread: vLLM computes on one bound
   core on a CPU) vs the vllm role on the same prompts, images, per-response seeds and settings:
   new tokens/s;
2. overhead: the sample stage with `generation.backend: vllm` (reads the seed shard, loads and
   checks images, renders prompts, generates, writes rows) vs a bare offline script on the same
   engine that opens the same images, renders the same prompts with the checkpoint's processor and
   calls `LLM.generate` with the same per-request seeds: seconds per shard;
3. a round's generation: sample → verify (the model judge) → revise (feedback and refinement) →
   verify_revisions (the judge) through the stage functions, each backend on its own engine, same
   payloads: seconds for the four, and tokens/s per stage. A random tiny model states no checks, so
   the judge's verdicts are all unjudged; revise reads the rule matcher's verdicts instead (no
   generation), which fail nearly every response, so it revises as many as a round allows.

Repetitions are interleaved. Prints one JSON line.
"""

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache on a CPU

ROUND_STAGES = ("sample", "verify", "revise", "verify_revisions")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--per-seed", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()

    import copy

    import torch
    from ipa_worker.context import StageContext
    from ipa_worker.contract import recipe_defaults
    from ipa_worker.data.jsonl_io import read_jsonl
    from ipa_worker.models.engines import Engines
    from ipa_worker.models.messages import user_messages
    from ipa_worker.stages import revise, sample, verify, verify_revisions
    from ipa_worker.tools.gpu_check.stage_runs import ROUND, payload, write_seeds
    from PIL import Image
    from vllm import SamplingParams

    work = Path(a.work)
    run_dir = work / "run"
    seeds_path = write_seeds(work / "data", run_dir, a.seeds, 56)
    recipe = recipe_defaults()
    recipe["name"] = "bench-vllm"
    recipe["model"].update(base=a.model, device="cpu", dtype="float32", min_pixels=56 * 56, max_pixels=56 * 56)
    recipe["generation"]["backend"] = "vllm"
    recipe["generation"]["vllm"]["max_model_len"] = 1024  # every payload here asks for the same engine
    recipe["sampling"].update(
        num_normal=a.per_seed, num_contrastive=0, max_new_tokens=a.max_new_tokens, batch_size=a.seeds * a.per_seed
    )
    recipe["verifier"].update(kind="model", max_new_tokens=a.max_new_tokens)
    recipe["reviser"].update(max_new_tokens=a.max_new_tokens, max_revisions_per_seed=1, feedbacks_per_response=1)
    hf_recipe = copy.deepcopy(recipe)
    hf_recipe["generation"]["backend"] = "hf"
    sampling = recipe["sampling"]
    vllm_engines, hf_engines = Engines(), Engines()

    # The prompts the sample stage makes (normal samples: the seed's own image), with its seeds.
    seeds = read_jsonl(seeds_path)
    prompts = []
    for s in seeds:
        img = Image.open(s["images"][0]).convert("RGB")
        for k in range(a.per_seed):
            g = sample.sample_seed(recipe["seed"], ROUND, f"{s['id']}/n{k}")
            prompts.append({"images": [img], "messages": user_messages(s["instruction"], 1), "seed": g})
    gen = dict(
        temperature=float(sampling["temperature"]),
        top_p=float(sampling["top_p"]),
        max_new_tokens=a.max_new_tokens,
        batch_size=len(prompts),
    )

    t0 = time.perf_counter()
    vllm_role = vllm_engines.role(payload(run_dir, "sample", recipe, {"seeds": seeds_path}), "generator")
    engine_start_s = time.perf_counter() - t0
    llm, processor = vllm_engines.current.llm, vllm_engines.current.processor
    torch.set_num_threads(1)
    hf_role = hf_engines.role(payload(run_dir, "sample", hf_recipe, {"seeds": seeds_path}), "generator")
    hf_role.generate(prompts[:2], **{**gen, "batch_size": 2})  # warm-up

    def bare() -> int:
        reqs, params = [], []
        for s in read_jsonl(seeds_path):
            img = Image.open(s["images"][0]).convert("RGB")
            text = processor.apply_chat_template(
                user_messages(s["instruction"], 1), tokenize=False, add_generation_prompt=True
            )
            for k in range(a.per_seed):
                reqs.append({"prompt": text, "multi_modal_data": {"image": img}})
                g = sample.sample_seed(recipe["seed"], ROUND, f"{s['id']}/n{k}") % (2**31 - 1)
                params.append(
                    SamplingParams(
                        temperature=gen["temperature"], top_p=gen["top_p"], max_tokens=a.max_new_tokens, seed=g
                    )
                )
        return sum(len(o.outputs[0].token_ids) for o in llm.generate(reqs, params, use_tqdm=False))

    def one_round(rec: dict, engines: Engines, tag: str) -> dict:
        """The round's four generating stages on `engines`: seconds, and per stage tokens and seconds."""
        d = run_dir / tag
        out: dict = {"stages": {}}
        t = time.perf_counter()

        def run(module, name: str, inputs: dict, rec_: dict = rec) -> dict:
            p = payload(d, name, rec_, inputs)
            res = module.run(p, StageContext(models=engines))
            out["stages"][name] = (
                {k: res["metrics"][k] for k in ("generated_tokens", "generation_s")}
                if res["metrics"].get("engine")
                else None
            )
            return res

        responses = run(sample, "sample", {"seeds": seeds_path})["outputs"]["responses"]["path"]
        run(verify, "verify", {"seeds": seeds_path, "responses": responses})
        rule = copy.deepcopy(rec)
        rule["verifier"]["kind"] = "rule"
        p = payload(d / "rule", "verify", rule, {"seeds": seeds_path, "responses": responses})
        verdicts = verify.run(p, StageContext(models=engines))["outputs"]["verdicts"]["path"]
        revisions = run(revise, "revise", {"seeds": seeds_path, "responses": responses, "verdicts": verdicts})[
            "outputs"
        ]["revisions"]["path"]
        run(verify_revisions, "verify_revisions", {"seeds": seeds_path, "revisions": revisions})
        out["seconds"] = time.perf_counter() - t
        return out

    ctx = StageContext(models=vllm_engines)
    p = payload(run_dir, "sample", recipe, {"seeds": seeds_path})
    keys = (
        "hf",
        "vllm",
        "tokens_hf",
        "tokens_vllm",
        "stage_s",
        "bare_s",
        "tokens_stage",
        "tokens_bare",
        "round_vllm_s",
        "round_hf_s",
        "round_vllm",
        "round_hf",
    )
    res = {k: [] for k in keys}
    res.update(engine_start_s=engine_start_s, prompts=len(prompts))
    for _ in range(a.reps):
        t = time.perf_counter()
        n = sum(x["num_tokens"] for x in hf_role.generate(prompts, **gen))
        res["hf"].append(n / (time.perf_counter() - t))
        res["tokens_hf"].append(n)
        t = time.perf_counter()
        n = sum(x["num_tokens"] for x in vllm_role.generate(prompts, **gen))
        res["vllm"].append(n / (time.perf_counter() - t))
        res["tokens_vllm"].append(n)
        t = time.perf_counter()
        out = sample.run(p, ctx)
        res["stage_s"].append(time.perf_counter() - t)
        res["tokens_stage"].append(out["metrics"]["generated_tokens"])
        t = time.perf_counter()
        res["tokens_bare"].append(bare())
        res["bare_s"].append(time.perf_counter() - t)
        r = one_round(recipe, vllm_engines, "round-vllm")
        res["round_vllm_s"].append(r["seconds"])
        res["round_vllm"].append(r["stages"])
        r = one_round(hf_recipe, hf_engines, "round-hf")
        res["round_hf_s"].append(r["seconds"])
        res["round_hf"].append(r["stages"])
    vllm_engines.clear()
    hf_engines.clear()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
