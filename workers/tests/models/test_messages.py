"""Chat messages in the format the processor and TRL read."""

from __future__ import annotations

from ipa_worker.models.messages import user_messages


def test_user_messages_format():
    assert user_messages("Hi?", 2) == [
        {"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "Hi?"}]}
    ]
