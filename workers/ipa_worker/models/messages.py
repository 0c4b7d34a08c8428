"""Chat messages in the HF/TRL conversational format, as generation and training feed them to the processor."""

from __future__ import annotations

from typing import Any


def user_messages(text: str, n_images: int = 1) -> list[dict[str, Any]]:
    """One user turn: image placeholders first, then the text."""
    content: list[dict[str, Any]] = [{"type": "image"} for _ in range(n_images)]
    content.append({"type": "text", "text": text})
    return [{"role": "user", "content": content}]


def assistant_messages(text: str) -> list[dict[str, Any]]:
    """One assistant turn holding `text` (a completion, a chosen or a rejected answer)."""
    return [{"role": "assistant", "content": [{"type": "text", "text": text}]}]


def prompt_completion(images: list[Any], text: str, completion: str) -> dict[str, Any]:
    """One SFT example in TRL's conversational prompt-completion form: `{images, prompt, completion}`."""
    return {
        "images": list(images),
        "prompt": user_messages(text, len(images)),
        "completion": assistant_messages(completion),
    }
