"""What went wrong in an lmms-eval run, in words, with what to do about it.

lmms-eval 0.7 exits 0 even when the evaluation fails: it logs `Error during evaluation: <exc>` and
prints the traceback to stderr. A run failed when it wrote no new results file or logged that
line; the output is then matched against the failures we know (messages quoted from lmms-eval,
transformers and huggingface_hub), each turned into a reason and a hint instead of a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FAILED_LINE = re.compile(r"Error during evaluation: (?P<reason>.*?)(?:\. Please set `--verbosity=DEBUG`.*)?$", re.M)

LOCAL_DATA_HINT = (
    "on a machine without internet, fill the datasets cache where the Hub is reachable and point HF_HOME at it "
    "(run the worker with HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1), or copy the task's YAML under a new name into "
    "the eval.lmms_eval.include_path folder with dataset_path set to a local copy (docs/evaluation.md, 'Local tasks')"
)


@dataclass(frozen=True)
class Failure:
    kind: str
    message: str
    hint: str
    bad_input: bool  # retrying cannot help: the job fails for good with this message

    def text(self) -> str:
        return f"lmms-eval failed: {self.message}. Hint: {self.hint}"


# (pattern over stdout + stderr, kind, message, hint, bad_input); the first match wins.
KNOWN: list[tuple[str, str, str, str, bool]] = [
    (r"CUDA out of memory|OutOfMemoryError", "out_of_memory", "CUDA ran out of memory", "the job is retried with half the batch size", False),
    (r"Couldn't reach '(?P<a>[^']+)' on the Hub \((?P<b>\w+)\)", "dataset_unreachable",
     "the task's dataset {a} comes from the Hugging Face Hub, which is not reachable here ({b})", LOCAL_DATA_HINT, True),
    (r"LocalTokenNotFoundError", "hub_token_required",
     "a task's dataset needs a Hugging Face token (its YAML sets dataset_kwargs.token) and none is configured",
     "set HF_TOKEN for the worker, or use a local copy: " + LOCAL_DATA_HINT, True),
    (r"(?:Failed to resolve|NameResolutionError|Max retries exceeded with url).*?(?P<a>huggingface\.co|hf\.co)", "hub_unreachable",
     "the Hugging Face Hub ({a}) cannot be reached from this machine", LOCAL_DATA_HINT, True),
    (r"Tasks? not found: (?P<a>[^.\n]+)", "unknown_task",
     "unknown task or group: {a}", "check eval.lmms_eval.tasks against `python -m lmms_eval --tasks list` and the include_path folder "
     "(a local task needs a name of its own: a built-in task of the same name wins)", True),
    (r"Can't load video processor for '(?P<a>[^']+)'", "checkpoint_without_video_processor",
     "{a} has no video processor entry, which AutoProcessor needs where torchvision is installed",
     "re-save the processor with this project (models/processor.py writes the entry) or add \"video_processor\" to its processor_config.json", True),
    (r"No module named '(?P<a>decord|qwen_vl_utils|lmms_eval)'", "missing_dependency",
     "the worker environment lacks the Python module {a}", "install the worker from workers/requirements.lock (make setup-python)", True),
    (r"No module named 'filelock\._api'", "dependency_conflict",
     "lmms-eval 0.7 needs filelock < 4 (it patches filelock._api)", "install the worker from workers/requirements.lock (make setup-python)", True),
    (r"Unexpected kwargs: (?P<a>\{[^}]*\})", "bad_model_args",
     "the lmms-eval model backend rejected the arguments {a}", "check eval.lmms_eval.model: qwen2_vl for Qwen2-VL, qwen2_5_vl for Qwen2.5-VL", True),
    (r"(?:OPENAI_API_KEY|api_key client option must be set)", "judge_api_key_missing",
     "a task scores answers with a GPT judge and no OpenAI API key is set",
     "set OPENAI_API_KEY (and the task's API settings) for the worker, or leave GPT-judged tasks out", True),
]  # fmt: skip


def failed_reason(stdout: str) -> str | None:
    """The reason lmms-eval logged for a failed evaluation, if it logged one."""
    m = FAILED_LINE.search(stdout)
    return m["reason"].strip() if m else None


def explain(stdout: str, stderr: str, returncode: int) -> Failure:
    """The failure behind a run that produced no results, from everything it printed."""
    text = f"{stdout}\n{stderr}"
    for pattern, kind, message, hint, bad in KNOWN:
        m = re.search(pattern, text)
        if m:
            return Failure(kind, message.format(**m.groupdict()), hint, bad)
    reason = failed_reason(stdout)
    if reason is None:
        tail = [line for line in stderr.splitlines() if line.strip()]
        reason = tail[-1].strip() if tail else f"exit code {returncode} and no results file"
    return Failure("internal", reason, "the job log holds lmms-eval's full output", False)
