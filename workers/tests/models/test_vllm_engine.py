"""The vLLM backend's request building and its clear failure where vLLM is not installed."""

import pytest
from ipa_worker.errors import BadInput
from ipa_worker.models import vllm_engine as vllm_backend
from PIL import Image


def test_requests_carry_rendered_text_and_images():
    img = Image.new("RGB", (8, 8))
    reqs = vllm_backend.build_requests(
        [
            {"images": [img], "messages": [{"role": "user", "content": "q"}]},
            {"images": [img, img], "messages": []},
            {"images": [], "messages": []},
        ],
        render=lambda m: f"<{len(m)}>",
    )
    assert reqs[0] == {"prompt": "<1>", "multi_modal_data": {"image": img}}
    assert reqs[1]["multi_modal_data"]["image"] == [img, img]
    assert "multi_modal_data" not in reqs[2]


def test_request_seeds_are_stable_and_distinct():
    unseeded = [{}] * 5
    a = vllm_backend.request_seeds(unseeded, 7)
    assert a == vllm_backend.request_seeds(unseeded, 7)
    assert len(set(a)) == 5
    assert a != vllm_backend.request_seeds(unseeded, 8)


def test_a_prompt_with_its_own_seed_keeps_it_wherever_it_sits():
    # The sample stage gives every response its own seed (as for the hf backend): the request
    # seed follows the prompt, not its place in the call or the call's seed.
    own = {"seed": 2**61 + 5}
    first = vllm_backend.request_seeds([own, {}], 7)[0]
    assert first == vllm_backend.request_seeds([{}, {}, own], 9)[2]
    assert 0 <= first < 2**31 - 1


def test_require_matches_whether_vllm_is_installed():
    if vllm_backend.available():
        vllm_backend.require()
    else:
        with pytest.raises(BadInput, match="generation.backend: hf"):
            vllm_backend.require()


def test_engine_settings_follow_the_recipe_and_the_run():
    model = {"dtype": "bfloat16", "min_pixels": 3136, "max_pixels": 1003520}
    vllm_cfg = {"gpu_memory_utilization": 0.9}
    s = vllm_backend.engine_settings(model, vllm_cfg, "/m", max_images=2, max_model_len=3584, lora_rank=16)
    assert s["limit_mm_per_prompt"] == {"image": 2, "video": 0}
    # Pixel bounds through the processor's current interface, not the deprecated min/max_pixels.
    assert s["mm_processor_kwargs"] == {"size": {"shortest_edge": 3136, "longest_edge": 1003520}}
    assert (s["max_model_len"], s["gpu_memory_utilization"], s["max_lora_rank"], s["dtype"]) == (
        3584,
        0.9,
        16,
        "bfloat16",
    )
    assert "max_num_seqs" not in s  # a first try keeps vLLM's own scheduling
    # An out-of-memory retry schedules fewer sequences at once: a different engine.
    retry = vllm_backend.engine_settings(
        model, vllm_cfg, "/m", max_images=2, max_model_len=3584, lora_rank=16, batch_scale=0.5
    )
    assert retry["max_num_seqs"] == 128 and retry != s


@pytest.mark.parametrize("rank,slot", [(1, 1), (4, 8), (16, 16), (17, 32), (300, 320), (512, 512)])
def test_lora_rank_slots(rank, slot):
    assert vllm_backend.lora_rank_slot(rank) == slot


def test_lora_rank_beyond_vllm_is_bad_input():
    with pytest.raises(BadInput, match="training.lora.r"):
        vllm_backend.lora_rank_slot(1024)


def test_a_folder_without_a_video_processor_is_refused_before_vllm_starts(tmp_path):
    (tmp_path / "processor_config.json").write_text('{"processor_class": "Qwen2VLProcessor"}')
    with pytest.raises(BadInput, match="no video processor configuration"):
        vllm_backend.check_loadable(str(tmp_path))
    (tmp_path / "processor_config.json").write_text(
        '{"video_processor": {"video_processor_type": "Qwen2VLVideoProcessor"}}'
    )
    vllm_backend.check_loadable(str(tmp_path))


def test_rows_count_and_decode_like_the_hf_backend():
    from ipa_worker.models.generation import answer

    class Tok:
        def decode(self, ids, skip_special_tokens):
            return " ".join(f"t{i}" for i in ids) + " "

    # vLLM keeps the end token (2) in its ids; the row counts the tokens before it.
    assert answer(Tok(), [5, 7, 2], {0, 2}) == {"text": "t5 t7", "num_tokens": 2}
    assert answer(Tok(), [5, 7, 9], {0, 2})["num_tokens"] == 3
