"""Training benchmark, baseline: a plain TRL DPOTrainer script with the same pairs and settings
as train_ours.py (LoRA on the language model's projections). One run per process.
Usage: train_trl.py MODEL PAIRS OUT_DIR SETTINGS_JSON; prints one JSON line."""

import json
import sys
import time

import torch
from datasets import Dataset, Image, List

# Only for the processor: AutoProcessor needs torchvision for Qwen2-VL's video part, which this
# environment may lack; the loader builds the same image processor and tokenizer without it.
from ipa_worker.contract import recipe_defaults
from ipa_worker.models.processor import load_processor
from peft import LoraConfig
from timing import LoopTimer, peak_rss_mib
from transformers import AutoModelForImageTextToText
from trl import DPOConfig, DPOTrainer


def main(model_dir: str, pairs: str, out: str, settings: str) -> None:
    s = json.loads(settings)
    # The same settings train_ours.py uses: the benchmark's, over the recipe defaults.
    defaults = recipe_defaults()
    d, m = {**defaults["training"]["dpo"], **s["dpo"]}, {**defaults["model"], **s["model"]}
    torch.set_num_threads(s["threads"])
    t = time.perf_counter()
    with open(pairs) as f:
        rows = [json.loads(line) for line in f]
    ds = Dataset.from_list([{k: r[k] for k in ("images", "prompt", "chosen", "rejected")} for r in rows]).cast_column(
        "images", List(Image())
    )
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    processor = load_processor(model_dir, m["min_pixels"], m["max_pixels"])
    lora = {**defaults["training"]["lora"], **s["lora"]}
    args = DPOConfig(
        output_dir=f"{out}/ckpt", beta=d["beta"], loss_type=[d["loss_type"]], learning_rate=d["learning_rate"],
        max_steps=s["max_steps"], per_device_train_batch_size=d["batch_size"], gradient_accumulation_steps=d["grad_accum"],
        max_length=d["max_length"], save_strategy="steps", save_steps=d["save_steps"], logging_steps=1, report_to=[],
        seed=d["seed"], data_seed=d["seed"], use_cpu=True, dataloader_num_workers=0, disable_tqdm=True,
    )  # fmt: skip
    timer = LoopTimer()
    trainer = DPOTrainer(
        model=model, args=args, train_dataset=ds, processing_class=processor, callbacks=[timer],
        peft_config=LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"], task_type="CAUSAL_LM"),
    )  # fmt: skip
    trainer.train()
    trainer.save_model(f"{out}/policy")
    processor.save_pretrained(f"{out}/policy")
    print(json.dumps({**timer.result(), "total_seconds": time.perf_counter() - t, "peak_rss_mib": peak_rss_mib()}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
