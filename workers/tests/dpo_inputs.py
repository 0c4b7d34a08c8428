"""DPO settings small enough for the tiny model on a CPU, and pairs with images to train on."""

from ipa_worker.contract import recipe_defaults
from ipa_worker.contract.recipe_types import Training
from PIL import Image

DPO = {
    "beta": 0.1, "loss_type": "sigmoid", "learning_rate": 1e-3, "epochs": 1, "batch_size": 1, "grad_accum": 1,
    "gradient_checkpointing": False, "bf16": "auto", "precompute_ref_log_probs": False, "max_length": 512,
    "save_steps": 1, "full_finetune": False, "seed": 0,
}  # fmt: skip
LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
MODEL_CFG = {
    "dtype": "auto",
    "device": "cpu",
    "attn_implementation": "sdpa",
    "min_pixels": 56 * 56,
    "max_pixels": 56 * 56,
}


def make_pairs(tmp_path, n=3):
    rows = []
    for i in range(n):
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (56, 56), (40 * i, 200, 90)).save(path)
        rows.append(
            {
                "id": f"p{i}",
                "images": [str(path)],
                "prompt": [
                    {
                        "role": "user",
                        "content": [{"type": "image"}, {"type": "text", "text": "What colour is the square?"}],
                    }
                ],
                "chosen": [{"role": "assistant", "content": [{"type": "text", "text": "green"}]}],
                "rejected": [{"role": "assistant", "content": [{"type": "text", "text": "a red circle"}]}],
            }
        )
    return rows


def training(*, reference_model: str = "initial", **dpo) -> Training:
    """The recipe's training section: its defaults, with DPO (overridden by `dpo`) and LORA above."""
    defaults = recipe_defaults()["training"]
    return Training.from_dict(
        {**defaults, "dpo": {**defaults["dpo"], **DPO, **dpo}, "lora": LORA, "reference_model": reference_model}
    )
