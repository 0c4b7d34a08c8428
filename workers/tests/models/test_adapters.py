"""Adapters are known to an engine by their contents: a retried train job republishes at the same path."""

from __future__ import annotations

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.models.adapters import adapter_identity, adapter_rank


def test_a_republished_adapter_gets_a_new_identity(tmp_path):
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"r": 8}')
    (folder / "adapter_model.safetensors").write_bytes(b"round 1, try 1")
    first = adapter_identity(str(folder))
    assert first == adapter_identity(str(folder))
    (folder / "adapter_model.safetensors").write_bytes(b"round 1, try 2 (retried)")
    second = adapter_identity(str(folder))
    assert second != first and second[1] != first[1]
    assert adapter_rank(str(folder)) == 8
    with pytest.raises(BadInput, match="no adapter_config.json"):
        adapter_identity(str(tmp_path / "missing"))
