"""FLOPs of the check's DPO steps and their utilisation of the card's dense bf16 peak.

MFU (model FLOPs utilisation) counts the work the training step needs mathematically; HFU
(hardware FLOPs utilisation) counts what the GPU executes, which with gradient checkpointing
includes recomputing the decoder layers' forward during the backward. HFU >= MFU; the gap is the
price of the activation memory saved.
"""

from __future__ import annotations

from .architecture import Architecture, build_config

# Dense (no sparsity) bf16 tensor-core peaks from the vendor's data sheets, TFLOP/s, matched as
# substrings of torch's device name in this order (the more specific names first).
BF16_PEAK_TFLOPS = [
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H200 NVL", 835.0),
    ("H100", 989.0),  # SXM / HBM3
    ("H200", 989.0),  # SXM, and GH200
    ("A100", 312.0),
    ("L40S", 362.0),
]


def bf16_peak_tflops(device_name: str) -> float | None:
    """The card's dense bf16 peak, or None for a card (or a CPU) not in the table."""
    for key, peak in BF16_PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return peak
    return None


def param_counts(arch: Architecture) -> dict[str, int]:
    """Parameters of `arch` (built on the meta device: no memory): total, vision tower, language
    model, and the language model's matmul weights (all but the input embedding)."""
    import torch
    from transformers import Qwen2VLForConditionalGeneration

    with torch.device("meta"):
        model = Qwen2VLForConditionalGeneration._from_config(build_config(arch))
    total = sum(p.numel() for p in model.parameters())
    vision = sum(p.numel() for n, p in model.named_parameters() if ".visual." in f".{n}")
    embed = model.get_input_embeddings().weight.numel()
    return {"total": total, "vision": vision, "language": total - vision, "language_matmul": total - vision - embed}


def lm_forward_flops(
    arch: Architecture, params_matmul: int, tokens: float, seq_len: float, lm_head_tokens: float | None = None
) -> float:
    """Forward FLOPs of the language model over `tokens` tokens in sequences of `seq_len`: 2 per
    matmul weight per token plus causal attention's QK^T and AV. The LM head (vocab x hidden) is
    counted over `lm_head_tokens` only when given: TRL's fused LM head projects just the positions
    that are scored (the completions), never the prompt's."""
    layers, hidden = int(arch.text["num_hidden_layers"]), int(arch.text["hidden_size"])
    head = arch.vocab_size * hidden
    head_tokens = tokens if lm_head_tokens is None else lm_head_tokens
    return 2.0 * (params_matmul - head) * tokens + 2.0 * head * head_tokens + 2.0 * layers * hidden * seq_len * tokens


def dpo_step_flops(
    arch: Architecture, params: dict[str, int], *, tokens: float, completion_tokens: float, sequences: int, patches: int
) -> float:
    """Model FLOPs of one LoRA DPO step as TRL runs it: the policy's forward and its backward to
    the activations (the frozen base has no weight gradients: about one more forward), and the
    reference forward with the adapter off, over chosen and rejected sequences; the vision tower
    (frozen, no backward) runs in both forwards. Gradient checkpointing's recomputation is not
    model work and is not counted, nor are the LoRA matrices (under 1 % at r=16)."""
    seq_len = tokens / max(1, sequences)
    lm = lm_forward_flops(arch, params["language_matmul"], tokens, seq_len, lm_head_tokens=completion_tokens)
    return 3.0 * lm + 2.0 * 2.0 * params["vision"] * patches


def dpo_step_hardware_flops(arch: Architecture, params: dict[str, int], *, tokens: float, completion_tokens: float, sequences: int,
                            patches: int, recompute: bool) -> float:  # fmt: skip
    """FLOPs one LoRA DPO step executes: the model FLOPs plus, with gradient checkpointing
    (`recompute`), the policy's decoder layers run forward once more during the backward. The LM
    head is outside the checkpointed layers, and the frozen vision tower keeps no activations for
    a backward, so neither is recomputed."""
    model = dpo_step_flops(
        arch, params, tokens=tokens, completion_tokens=completion_tokens, sequences=sequences, patches=patches
    )
    if not recompute:
        return model
    return model + lm_forward_flops(
        arch, params["language_matmul"], tokens, tokens / max(1, sequences), lm_head_tokens=0.0
    )


def utilisation(flops_per_step: float, step_seconds: float, peak_tflops: float | None) -> tuple[float, float | None]:
    """(achieved TFLOP/s, MFU as a fraction of the peak or None without a known peak)."""
    achieved = flops_per_step / step_seconds / 1e12
    return achieved, (achieved / peak_tflops if peak_tflops else None)
