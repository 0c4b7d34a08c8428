"""A tiny, randomly initialised Qwen2-VL with a real processor: tests and the CPU demo, no download.

The architecture is the real one (vision tower, patch merger, M-RoPE) at toy width; the tokenizer
is a byte-level BPE trained here on the synthetic task's text, carrying Qwen2-VL's special tokens,
and the chat template behaves like Qwen2-VL's (default system turn, image placeholders,
generation prompt).

CLI: python -m ipa_worker.models.tiny_model OUT_DIR [--seed N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..contract import recipe_defaults
from ..data.dirbuild import build_dir_atomically, read_marker
from ..models.processor import make_processor

FORMAT_VERSION = 2

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END, VISION_PAD = "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>"
IMAGE_PAD, VIDEO_PAD = "<|image_pad|>", "<|video_pad|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END, VISION_START, VISION_END, VISION_PAD, IMAGE_PAD, VIDEO_PAD]

DEFAULT_SYSTEM = "You are a helpful assistant."

# Our own Jinja template. Content may be a string or a list of typed parts; each image part
# becomes one <|vision_start|><|image_pad|><|vision_end|> that the processor expands to the
# image's token count. Without a system message a default one is added, as Qwen2-VL does.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if loop.first and message['role'] != 'system' -%}"
    "{{ '<|im_start|>system\\n" + DEFAULT_SYSTEM + "<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string -%}"
    "{{ message['content'] }}"
    "{%- else -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' or 'image' in part or 'image_url' in part -%}"
    "{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{%- elif part['type'] == 'video' or 'video' in part -%}"
    "{{ '<|vision_start|><|video_pad|><|vision_end|>' }}"
    "{%- elif 'text' in part -%}"
    "{{ part['text'] }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{ '<|im_end|>\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{%- endif -%}"
)

# General words the roles' prompts use (feedback, verdicts), so those do not fall back to bytes.
GENERAL_TEXT = (
    "system user assistant You are a helpful assistant. "
    "Question Instruction Response Answer Reference Feedback Verdict Refined response "
    "The answer is correct incorrect yes no true false because it does not the a an of in on is "
    "are and or with what which how many where colour color shape text image picture left right "
    "missing wrong detail instruction format length word words number one two three four five "
    "Check whether response follows entailed complete contradiction followed reason revise improve "
    "Write a better answer that fixes the problem. Give short feedback on the response. "
    "Output 1 if all checks pass, otherwise 0. 0 1 2 3 4 5 6 7 8 9 . , : ; ? ! ' \" ( ) - "
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

# Openings of the role prompts the demo's templates use (recipes/templates/tiny-*.txt).
ROLE_PROMPTS = [
    "Verify the response.\nQuestion:",
    "\nReference:",
    "\nResponse:",
    "Give feedback on the response.\nQuestion:",
    "Improve the response.\nQuestion:",
    "\nFeedback:",
]

TOKENIZER_VOCAB_SIZE = 768


def _train_tokenizer():
    """Byte-level BPE on the task's text; specials first so their ids are 0..7."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    from ..data import premise_cases, premise_task
    from ..data.role_formats import role_corpus
    from ..data.synthetic_task import corpus_lines

    # The same normaliser and pre-tokeniser as Qwen2Tokenizer, which rebuilds them on load.
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER_VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: any text encodes
        show_progress=False,
    )
    # The chat scaffolding is in every prompt: weight it so roles become single tokens.
    scaffold = ["system\n" + DEFAULT_SYSTEM, "user\n", "assistant\n"] * 8
    # The roles' formats (verifier checks, feedback phrases, the short role prompts) weigh like the
    # task's own text, so a verdict or a feedback line is a handful of tokens, not dozens of bytes.
    roles = (role_corpus() + premise_cases.role_corpus() + ROLE_PROMPTS) * 2
    # Both synthetic tasks' text (the canonical one and the premise task's instructions and answers).
    tasks = sorted(set(corpus_lines())) + sorted(set(premise_task.corpus_lines()))
    corpus = tasks + GENERAL_TEXT.split(". ") + roles + scaffold
    tok.train_from_iterator(corpus * 4, trainer)
    return json.loads(tok.to_str())["model"]


def build_processor(min_pixels: int = 56 * 56, max_pixels: int = 112 * 112):
    from tokenizers import AddedToken
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    bpe = _train_tokenizer()
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in bpe["merges"]]
    tokenizer = Qwen2Tokenizer(
        vocab=bpe["vocab"], merges=merges, eos_token=IM_END, pad_token=ENDOFTEXT, unk_token=None, model_max_length=4096
    )
    tokenizer.add_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tokenizer.chat_template = CHAT_TEMPLATE
    # The PIL backend needs no torchvision; it resizes and patches like the torchvision one.
    image_processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    return make_processor(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)


def build_config(tokenizer):
    from transformers import Qwen2VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vocab_size = ((len(tokenizer) + 63) // 64) * 64
    head_dim = 32
    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": 128,
        "intermediate_size": 352,
        "num_hidden_layers": 3,
        "num_attention_heads": 128 // head_dim,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        # M-RoPE splits head_dim/2 rotary frequencies into (temporal, height, width) sections.
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]},
        "bos_token_id": ids[ENDOFTEXT],
        "eos_token_id": ids[IM_END],
        "pad_token_id": ids[ENDOFTEXT],
    }
    vision_config = {
        "depth": 2,
        "embed_dim": 64,
        "hidden_size": 128,  # the merger projects into the text width
        "num_heads": 4,
        "mlp_ratio": 2,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    return Qwen2VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids[IMAGE_PAD],
        video_token_id=ids[VIDEO_PAD],
        vision_start_token_id=ids[VISION_START],
        vision_end_token_id=ids[VISION_END],
        tie_word_embeddings=False,
    )


def is_complete_checkpoint(path: str | Path) -> bool:
    """A folder `from_pretrained` can load: our build marker, or config + weights + processor."""
    p = Path(path)
    if read_marker(p) is not None:
        return True
    has_weights = any(p.glob("*.safetensors")) or any(p.glob("pytorch_model*.bin"))
    return (p / "config.json").is_file() and has_weights and (p / "tokenizer_config.json").is_file()


def build_tiny_model(out_dir: str, seed: int = recipe_defaults()["model"]["tiny_seed"]) -> str:
    """Build the tiny checkpoint at `out_dir` unless a complete one is there; returns its path."""

    def build(tmp: Path) -> None:
        import torch
        from transformers import GenerationConfig, Qwen2VLForConditionalGeneration

        processor = build_processor()
        config = build_config(processor.tokenizer)
        torch.manual_seed(seed)
        model = Qwen2VLForConditionalGeneration(config).to(torch.float32).eval()
        tok = processor.tokenizer
        model.generation_config = GenerationConfig(
            eos_token_id=[tok.convert_tokens_to_ids(IM_END), tok.convert_tokens_to_ids(ENDOFTEXT)],
            pad_token_id=tok.convert_tokens_to_ids(ENDOFTEXT),
            bos_token_id=tok.convert_tokens_to_ids(ENDOFTEXT),
        )
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)

    marker = {"kind": "tiny_qwen2_vl", "version": FORMAT_VERSION, "seed": seed}
    return str(build_dir_atomically(out_dir, build, is_complete_checkpoint, marker))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ipa_worker.models.tiny_model", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=recipe_defaults()["model"]["tiny_seed"])
    args = parser.parse_args(argv)
    print(build_tiny_model(args.out_dir, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
