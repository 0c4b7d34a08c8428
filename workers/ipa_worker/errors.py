"""Error types the bridge reports by name (see docs/ARCHITECTURE.md, bridge protocol)."""


class WorkerError(Exception):
    kind = "Internal"


class BadInput(WorkerError):
    """The job's input is wrong: retrying cannot help (BullMQ UnrecoverableError)."""

    kind = "BadInput"


class Cancelled(WorkerError):
    """The request was cancelled by the orchestrator."""

    kind = "Cancelled"


class OutOfMemory(WorkerError):
    """CUDA ran out of memory; the orchestrator retries with half the batch."""

    kind = "OutOfMemory"


# Input that cannot be read the same way twice is wrong: retrying the job cannot help.
_DETERMINISTIC_INPUT_ERRORS = ("JSONDecodeError", "UnicodeDecodeError", "UnidentifiedImageError")


def classify(exc: BaseException) -> str:
    if isinstance(exc, WorkerError):
        return exc.kind
    if type(exc).__name__ in _DETERMINISTIC_INPUT_ERRORS:
        return "BadInput"
    name = type(exc).__name__
    if name == "OutOfMemoryError" or "CUDA out of memory" in str(exc):
        return "OutOfMemory"
    return "Internal"
