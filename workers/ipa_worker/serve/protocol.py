"""Bridge protocol, version 1: building outgoing messages and checking incoming ones.

One JSON object per line (see docs/ARCHITECTURE.md, "Bridge protocol"). The protocol's one source
is zod (orchestrator/contract/protocol.ts), generated into contract/protocol.json: the version,
the line limit, the methods, the error types, the log levels and every message's JSON Schema come
from there. Outgoing messages are built here so every one carries `v`; incoming lines are checked
here against their message's schema, so the server only ever sees well-formed `request` and
`cancel` messages.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from ..contract import protocol_spec
from ..errors import BadInput

_SPEC = protocol_spec()
_MESSAGES: dict[str, dict[str, Any]] = _SPEC["messages"]
V: int = _SPEC["version"]
# The longest incoming line read: a stage payload is the recipe and some paths (kilobytes; a
# training job's list of pair files can reach megabytes). Longer lines are skipped unread, so a
# runaway writer cannot grow this process without bound; Node refuses to send more.
MAX_LINE_BYTES: int = _SPEC["max_line_bytes"]
METHODS: tuple[str, ...] = tuple(_SPEC["methods"])
ERROR_TYPES: tuple[str, ...] = tuple(_MESSAGES["error"]["properties"]["error"]["properties"]["type"]["enum"])
LOG_LEVELS: tuple[str, ...] = tuple(_MESSAGES["log"]["properties"]["level"]["enum"])
INCOMING: tuple[str, ...] = tuple(_SPEC["from_orchestrator"])


class ProtocolError(BadInput):
    """An incoming line is not a valid version-1 message; `id` is set when the line had one."""

    def __init__(self, message: str, id: Any = None):
        super().__init__(message)
        self.id = id


def _json_default(obj: Any) -> Any:
    # numpy and torch scalars/arrays show up in metrics; anything else is a bug in the caller.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if hasattr(obj, "__fspath__"):
        return obj.__fspath__()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


# One encoder for all messages: json.dumps with options would build a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default, allow_nan=False)


def encode(msg: dict[str, Any]) -> bytes:
    """One protocol line, newline-terminated and ASCII-escaped (so no byte can split a line).

    NaN and infinities (a diverged loss) become null: JSON.parse on the Node side rejects them.
    """
    try:
        text = _ENCODER.encode(msg)
    except ValueError:
        text = json.dumps(_finite(json.loads(json.dumps(msg, default=_json_default))), separators=(",", ":"))
    return (text + "\n").encode("ascii")


def ready(
    pid: int, versions: dict[str, str | None], devices: list[dict[str, Any]], backends: list[str]
) -> dict[str, Any]:
    return {"v": V, "type": "ready", "pid": pid, "versions": versions, "devices": devices, "backends": backends}


def progress(id: Any, done: int, total: int, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"v": V, "type": "progress", "id": id, "done": done, "total": total, "metrics": metrics or {}}


def log(id: Any, level: str, msg: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    if level not in LOG_LEVELS:
        level = "info"
    return {"v": V, "type": "log", "id": id, "level": level, "msg": msg, "fields": fields or {}}


def result(id: Any, value: dict[str, Any] | None) -> dict[str, Any]:
    # None goes as null: it is how a training group's node that did not run rank 0 says it has no
    # result of its own (the rank-0 node writes the done record); an empty object would read as a
    # malformed stage result.
    return {"v": V, "type": "result", "id": id, "result": value}


def error(id: Any, type: str, message: str, traceback: str = "") -> dict[str, Any]:
    if type not in ERROR_TYPES:
        type = "Internal"
    return {"v": V, "type": "error", "id": id, "error": {"type": type, "message": message, "traceback": traceback}}


@cache
def _validator(name: str) -> Any:
    """A validator for a message type, or for a request id (`"id"`)."""
    # jsonschema is imported on the first message, not at start-up (the server reports ready first).
    from jsonschema.validators import validator_for

    schema = _MESSAGES["cancel"]["properties"]["id"] if name == "id" else _MESSAGES[name]
    return validator_for(_MESSAGES["cancel"])(schema)


def problem(kind: str, msg: Any) -> str | None:
    """Why `msg` is not a valid `kind` message by the protocol's schema (None when it is)."""
    from jsonschema.exceptions import best_match

    err = best_match(_validator(kind).iter_errors(msg))
    if err is None:
        return None
    where = "/".join(str(p) for p in err.absolute_path)
    return f"{where}: {err.message}" if where else err.message


def _valid_id(value: Any) -> bool:
    return value is not None and _validator("id").is_valid(value)


def parse(line: bytes | str) -> dict[str, Any]:
    """Decode and check one incoming line: a `request` (params default to {}) or a `cancel`."""
    try:
        msg = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    except RecursionError:
        # e.g. 100k nested "[": the decoder runs out of stack; the line is refused, the reader lives on.
        raise ProtocolError("not JSON: nested too deeply") from None
    if not isinstance(msg, dict):
        raise ProtocolError("a message must be a JSON object")
    id = msg.get("id")
    id = id if _valid_id(id) else None
    if msg.get("v") != V:
        raise ProtocolError(f"unsupported protocol version {msg.get('v')!r} (this worker speaks {V})", id)
    if id is None:
        raise ProtocolError("missing or invalid id (a non-empty string or an integer)")
    kind = msg.get("type")
    if kind not in INCOMING:
        raise ProtocolError(f"unknown message type {kind!r}", id)
    if kind == "request" and msg.get("params") is None:
        msg["params"] = {}
    why = problem(kind, msg)
    if why is not None:
        raise ProtocolError(f"invalid {kind}: {why}", id)
    return msg
