"""What this machine offers the worker, reported in `ready`: CUDA devices and sampling backends.

Stdlib only, like the rest of start-up: neither torch nor vLLM is imported to find out.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _cuda_devices_here() -> list[dict[str, Any]]:
    """CUDA devices seen through the driver API (libcuda via ctypes), as torch would number them."""
    import ctypes

    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return []
    if cuda.cuInit(0) != 0:
        return []
    count = ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return []
    devices = []
    for index in range(count.value):
        dev = ctypes.c_int(0)
        if cuda.cuDeviceGet(ctypes.byref(dev), index) != 0:
            continue
        name = ctypes.create_string_buffer(256)
        mem = ctypes.c_size_t(0)
        cuda.cuDeviceGetName(name, 256, dev)
        cuda.cuDeviceTotalMem_v2(ctypes.byref(mem), dev)
        devices.append(
            {"kind": "cuda", "index": index, "name": name.value.decode("utf-8", "replace"), "memory_bytes": mem.value}
        )
    return devices


def probe_devices(timeout: float = 30.0) -> list[dict[str, Any]]:
    """`[{kind: "cpu"}]` plus the CUDA devices this process may use.

    The driver is queried in a throwaway subprocess: it honours CUDA_VISIBLE_DEVICES and device
    order exactly like torch, yet this process never initialises CUDA itself, so later forks
    (vLLM workers, DataLoader) stay safe. Skipped outright where no NVIDIA driver is loaded.
    """
    devices: list[dict[str, Any]] = [{"kind": "cpu"}]
    if os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1") or not os.path.exists("/proc/driver/nvidia/version"):
        return devices
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the ipa_worker package
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        out = subprocess.run(
            [sys.executable, "-S", "-m", __name__, "--cuda-probe"],
            env=env, capture_output=True, timeout=timeout, check=True,
        )  # fmt: skip
        devices.extend(json.loads(out.stdout))
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        log.warning("CUDA device probe failed: %s", exc)
    return devices


def backends() -> list[str]:
    # find_spec locates the package without importing it (importing vLLM takes seconds).
    return ["hf", "vllm"] if importlib.util.find_spec("vllm") is not None else ["hf"]


if __name__ == "__main__" and sys.argv[1:] == ["--cuda-probe"]:
    print(json.dumps(_cuda_devices_here()))
