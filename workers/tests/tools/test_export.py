"""Exported pairs (HF dataset dir, JSONL, Parquet) train in TRL's DPOTrainer as they are."""

import pytest
from datasets import load_dataset, load_from_disk
from ipa_worker.data.jsonl_io import atomic_write_jsonl
from ipa_worker.method.pairing import response_pairs
from ipa_worker.tools.export import export_pairs, load_export, main
from PIL import Image as PILImage


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    for rnd in (1, 2):
        img = tmp_path / f"img{rnd}.png"
        PILImage.new("RGB", (56, 56), (10, 60 * rnd, 200)).save(img)
        seed = {"id": f"s{rnd}", "images": [str(img)], "instruction": "What colour is the square?", "reference": "blue"}
        responses = [
            {"seed_id": seed["id"], "sample_id": f"s{rnd}/n0", "response": "blue"},
            {"seed_id": seed["id"], "sample_id": f"s{rnd}/n1", "response": "a green circle"},
        ]
        verdicts = [{"sample_id": f"s{rnd}/n0", "verdict": 1}, {"sample_id": f"s{rnd}/n1", "verdict": 0}]
        atomic_write_jsonl(
            run / f"round-{rnd}" / "pairs" / "shard-000.jsonl", response_pairs(seed, responses, verdicts, round=rnd)
        )
    return str(run)


@pytest.fixture
def pair_files(run_dir):
    return [f"{run_dir}/round-{rnd}/pairs/shard-000.jsonl" for rnd in (1, 2)]


def one_dpo_step(dataset, model_dir, tmp_path):
    """One step of TRL's own DPOTrainer given only the folder: TRL loads the model and processor
    itself (AutoModelForImageTextToText, AutoProcessor), as a user outside this project would."""
    from ipa_worker.contract.recipe_types import TrainingLora
    from ipa_worker.training.trainable import lora_config
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(
        output_dir=str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=2, report_to=[], use_cpu=True,
        bf16=False, gradient_checkpointing=False, save_strategy="no", disable_tqdm=True, max_length=512,
    )  # fmt: skip
    peft = lora_config(TrainingLora(r=4, alpha=8.0, dropout=0.0, target_modules=["q_proj"]))
    trainer = DPOTrainer(model=model_dir, args=args, train_dataset=dataset, peft_config=peft)
    assert type(trainer.processing_class).__name__ == "Qwen2VLProcessor"
    trainer.train()
    return trainer.state.global_step


def test_exports_only_the_files_it_is_given_in_their_order(run_dir, pair_files, tmp_path):
    # A pair file dropped into the run directory is not among the recorded outputs: never read.
    atomic_write_jsonl(
        f"{run_dir}/round-1/pairs/shard-099.jsonl",
        [{"id": "injected", "images": [], "prompt": [], "chosen": [], "rejected": []}],
    )
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(reversed(pair_files)) + "\n")
    out = tmp_path / "pairs.jsonl"
    assert main([str(out), "--inputs-from", str(listing)]) == 0
    rows = [line for line in out.read_text().splitlines() if line]
    assert len(rows) == 2 and "injected" not in out.read_text()
    assert '"round": 2' in rows[0] and '"round": 1' in rows[1]


def test_hf_dir_export_trains_in_dpo(pair_files, tmp_path, tiny_model_dir):
    rec = export_pairs(pair_files, str(tmp_path / "hf"), "hf")
    assert rec["rows"] == 2
    ds = load_from_disk(rec["path"])  # exactly what a user does: no conversion
    assert isinstance(ds[0]["images"][0], PILImage.Image)
    assert one_dpo_step(ds, tiny_model_dir, tmp_path) == 1


def test_jsonl_export_trains_in_dpo(pair_files, tmp_path, tiny_model_dir):
    rec = export_pairs(pair_files, str(tmp_path / "pairs.jsonl"), "jsonl")
    assert rec["rows"] == 2
    ds = load_dataset("json", data_files=rec["path"], split="train")  # image paths as plain strings
    assert isinstance(ds[0]["images"][0], str)
    assert one_dpo_step(ds, tiny_model_dir, tmp_path) == 1


def test_parquet_export_embeds_images(pair_files, tmp_path):
    rec = export_pairs(pair_files, str(tmp_path / "pairs.parquet"), "parquet")
    for p in tmp_path.glob("img*.png"):
        p.unlink()  # the export must not need the original files
    ds = load_export(rec["path"])
    assert len(ds) == 2 and isinstance(ds[0]["images"][0], PILImage.Image)
    assert ds[0]["chosen"][0]["content"][0]["text"] == "blue"
