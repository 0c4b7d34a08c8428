"""The GPU check: the worker's own stage code on the Qwen2-VL-7B architecture with random weights.

`python -m ipa_worker.tools.gpu_check [--config 7b|tiny | --cpu-tiny] [--out FILE.json] [--work DIR] ...`

Nothing is downloaded. A checkpoint with the published Qwen2-VL-7B-Instruct configuration and
random weights is written to disk (random weights cost the same FLOPs and memory as trained ones),
then, on synthetic seeds with real images, the check runs:

1. the sample stage (`ipa_worker.stages.sample`, hf backend: batched `generate`) on a model the
   worker's pool already holds: tokens/s and peak memory;
2. the verify stage with the model verifier: verdicts/s and peak memory;
3. the train stage's LoRA DPO (`training.dpo_trainer.train_dpo`, TRL's DPOTrainer, gradient
   checkpointing, bf16 on CUDA) on pairs of sampled responses: median step time, tokens/s, peak
   memory, and model and hardware FLOPs utilisation (MFU, HFU) against the card's dense bf16 peak.

It runs on a GPU or not at all: without usable CUDA it exits 2 with one line saying why.
`--cpu-tiny` runs the same code on a few-MB model of the same class on the CPU in seconds (a test
of the code path, no figure about a GPU). The CLI (`__main__`) checks its prerequisites first and
sets HF_HUB_OFFLINE=1 before any Hugging Face library is imported, which is why this file imports
nothing.
"""
