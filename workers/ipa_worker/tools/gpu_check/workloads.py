"""How much of each stage the GPU check runs, per configuration (a light module: the CLI reads it
before it imports torch or transformers).

`params` is the configuration's parameter count (the checkpoint the check writes is that many
bf16 or float32 numbers); test_gpu_check.py holds it to the model the architecture builds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workload:
    """How much of each stage the check runs (defaults per configuration in `WORKLOADS`)."""

    seeds: int
    image_side: int  # square synthetic images, a multiple of 28 (patch 14 x merge 2)
    normal: int  # responses per seed on the original image
    contrastive: int  # and on a perturbed one
    sample_tokens: int
    sample_batch: int
    verify_tokens: int
    dpo_batch: int  # pairs per step
    dpo_steps: int
    max_length: int

    @property
    def pixels(self) -> int:
        return self.image_side * self.image_side

    @property
    def pairs(self) -> int:
        return self.dpo_batch * self.dpo_steps


WORKLOADS = {
    # One 448x448 image (256 visual tokens) per prompt, 256-token responses: DPO sequences of
    # about 540 tokens, 8 of them (4 pairs) per step.
    "7b": Workload(seeds=16, image_side=448, normal=2, contrastive=2, sample_tokens=256, sample_batch=32,
                   verify_tokens=64, dpo_batch=4, dpo_steps=6, max_length=1024),
    "tiny": Workload(seeds=4, image_side=56, normal=2, contrastive=2, sample_tokens=8, sample_batch=8,
                     verify_tokens=8, dpo_batch=2, dpo_steps=2, max_length=256),
}  # fmt: skip

# Parameters of each configuration's model (Qwen2-VL-7B-Instruct: 8.29B; tiny: 285K).
PARAMS = {"7b": 8_291_375_616, "tiny": 284_928}
