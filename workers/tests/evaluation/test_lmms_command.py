"""The lmms-eval command line."""

from __future__ import annotations

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.evaluation.lmms_command import lmms_eval_command, model_args


def test_command_line():
    lmms = {
        "tasks": ["pope", "mme"],
        "model": "qwen2_vl",
        "batch_size": 4,
        "limit": 8,
        "num_fewshot": None,
        "include_path": "/tasks",
    }
    cmd = lmms_eval_command(
        lmms, "/run/eval/lmms-eval/round-1/model", "/out", device="cpu", min_pixels=3136, max_pixels=3136, python="/py"
    )
    assert cmd[:5] == ["/py", "-m", "lmms_eval", "eval", "--model"]
    assert (
        cmd[cmd.index("--model_args") + 1]
        == "pretrained=/run/eval/lmms-eval/round-1/model,device=cpu,device_map=cpu,min_pixels=3136,max_pixels=3136"
    )
    assert cmd[cmd.index("--tasks") + 1] == "pope,mme" and cmd[cmd.index("--batch_size") + 1] == "4"
    assert cmd[cmd.index("--limit") + 1] == "8" and cmd[cmd.index("--include_path") + 1] == "/tasks"
    assert "--num_fewshot" not in cmd and "--log_samples" in cmd
    assert model_args("qwen2_5_vl", "/m", device="cuda", min_pixels=1, max_pixels=2, flash_attention=True).endswith(
        "attn_implementation=flash_attention_2"
    )
    assert model_args("qwen2_vl", "/m", device="cuda", min_pixels=1, max_pixels=2, flash_attention=True).endswith(
        "use_flash_attention_2=True"
    )
    with pytest.raises(BadInput, match="split on"):
        model_args("qwen2_vl", "/a,b", device="cpu", min_pixels=1, max_pixels=2, flash_attention=False)
    with pytest.raises(BadInput, match="tasks is empty"):
        lmms_eval_command(lmms | {"tasks": []}, "/m", "/out", device="cpu", min_pixels=1, max_pixels=2)
