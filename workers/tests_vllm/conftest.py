"""Fixtures of the optional vLLM tests (`make test-vllm`, run in .venv-vllm; scripts/setup-vllm.sh).

The tiny Qwen2-VL is built in this environment (its torchvision lets the processor save the
video part vLLM needs). `vllm_engines` holds the vLLM engine every test shares (one engine start,
1-2 minutes on a CPU: the tests' payloads share `ENGINE`, so they ask for the same engine), and
`hf_engines` the hf backend they are compared with: two engines, one per backend, only because a
test compares them (a worker holds one). VLLM_CPU_KVCACHE_SPACE keeps the KV cache at 1 GiB on the
small test machines; VLLM_ALLOW_INSECURE_SERIALIZATION lets a test count weights inside vLLM's
engine process (`LLM.apply_model`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_ALLOW_INSECURE_SERIALIZATION", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # payloads.py, method_shard.py, three_rounds.py
sys.path.insert(0, str(Path(__file__).resolve().parent))  # vllm_payloads.py (test files import by path: importlib mode)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    from ipa_worker.models.tiny_model import build_tiny_model

    return build_tiny_model(str(tmp_path_factory.mktemp("tiny") / "model"), seed=0)


@pytest.fixture(scope="session")
def seeds_file(tmp_path_factory) -> str:
    """Six synthetic seeds, each with its image, as a seeds shard."""
    from ipa_worker.data.jsonl_io import atomic_write_jsonl, read_jsonl
    from ipa_worker.data.synthetic_task import generate_synthetic

    data = generate_synthetic(str(tmp_path_factory.mktemp("synth") / "data"), train=6, heldout=0, seed=0)
    rows = [
        dict(r, images=[str(Path(data["dir"]) / r["images"][0])], source="synthetic") for r in read_jsonl(data["train"])
    ]
    path = tmp_path_factory.mktemp("seeds") / "shard-000.jsonl"
    atomic_write_jsonl(path, rows)
    return str(path)


@pytest.fixture(scope="session")
def hf_engines():
    from ipa_worker.models.engines import Engines

    engines = Engines()
    yield engines
    engines.clear()


@pytest.fixture(scope="session")
def vllm_engines():
    """The session's vLLM engine, stopped while pytest still owns the output (vLLM logs as it stops)."""
    from ipa_worker.models.engines import Engines

    engines = Engines()
    yield engines
    engines.clear()
