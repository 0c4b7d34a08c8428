"""The vLLM backend's request building and its clear failure where vLLM is not installed."""

import pytest
from PIL import Image

from ipa_worker.errors import BadInput
from ipa_worker.models import vllm_engine as vllm_backend


def test_requests_carry_rendered_text_and_images():
    img = Image.new("RGB", (8, 8))
    reqs = vllm_backend.build_requests(
        [{"images": [img], "messages": [{"role": "user", "content": "q"}]}, {"images": [img, img], "messages": []}, {"images": [], "messages": []}],
        render=lambda m: f"<{len(m)}>",
    )
    assert reqs[0] == {"prompt": "<1>", "multi_modal_data": {"image": img}}
    assert reqs[1]["multi_modal_data"]["image"] == [img, img]
    assert "multi_modal_data" not in reqs[2]


def test_request_seeds_are_stable_and_distinct():
    a = vllm_backend.request_seeds(7, 5)
    assert a == vllm_backend.request_seeds(7, 5)
    assert len(set(a)) == 5
    assert a != vllm_backend.request_seeds(8, 5)


def test_require_matches_whether_vllm_is_installed():
    if vllm_backend.available():
        vllm_backend.require()
    else:
        with pytest.raises(BadInput, match="sampling.backend: hf"):
            vllm_backend.require()
