"""The check's figures as a table a person reads."""

from __future__ import annotations

from typing import Any


def fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.3g}{unit}" if abs(x) < 100 else f"{x:,.0f}{unit}"
    return f"{x:,}{unit}"


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def table(r: dict[str, Any]) -> str:
    s, v, d = r["figures"]["sample"], r["figures"]["verify"], r["figures"]["dpo"]
    st, w, m = r["stages"], r["workload"], r["model"]
    ck = m["checkpoint"]
    mem_kind = "GPU, max allocated" if r["device"]["kind"] == "cuda" else "process max RSS"
    no_peak = "n/a (no bf16 peak known for this device)"
    mfu = (
        no_peak
        if d["mfu"] is None
        else f"{100 * d['mfu']:.1f} % of {d['peak_bf16_tflops']:.0f} TFLOP/s (target {100 * d['mfu_target']:.0f} %)"
    )
    hfu = (
        no_peak
        if d["hfu"] is None
        else f"{100 * d['hfu']:.1f} % (model FLOPs plus gradient checkpointing's recomputed forward)"
    )
    rows = [
        (
            "configuration",
            f"{r['config']} on {r['device']['name']}"
            + (" (the CPU form: no GPU figure)" if r["device"]["kind"] != "cuda" else ""),
        ),
        ("parameters", f"{m['total']:,} (vision {m['vision']:,})"),
        (
            "checkpoint",
            "reused"
            if ck["reused"]
            else f"built in {fmt(ck['build_s'])} s, saved in {fmt(ck['save_s'])} s ({gib(ck['disk_bytes'])})",
        ),
        ("model load into the pool", f"{fmt(m['load_s'])} s"),
        (
            f"sample ({r['backend']})",
            f"{s['responses']} responses of <= {w['sample_tokens']} tokens in {fmt(st['sample']['seconds'])} s: {fmt(s['tokens_per_s'])} tokens/s",
        ),
        (
            "verify (model)",
            f"{v['verdicts']} verdicts in {fmt(st['verify']['seconds'])} s: {fmt(v['verdicts_per_s'])} verdicts/s",
        ),
        (
            "train (LoRA DPO)",
            f"{d['steps']} steps of {d['pairs_per_step']} pairs in {fmt(st['train']['seconds'])} s (load, train, reward metrics, save)",
        ),
        ("DPO step (median)", f"{fmt(d['step_seconds'])} s, {fmt(d['tokens_per_step'])} tokens per step"),
        ("DPO tokens/s", fmt(d["tokens_per_s"])),
        (
            "DPO achieved",
            f"{fmt(d['achieved_tflops'])} TFLOP/s model, {fmt(d['achieved_hardware_tflops'])} TFLOP/s hardware",
        ),
        ("DPO MFU", mfu),
        ("DPO HFU", hfu),
        (
            f"peak memory ({mem_kind})",
            f"sample {gib(s['peak_memory_bytes'])}, verify {gib(v['peak_memory_bytes'])}, train {gib(d['peak_memory_bytes'])}",
        ),
        ("total", f"{fmt(r['seconds'])} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {val}" for k, val in rows)
