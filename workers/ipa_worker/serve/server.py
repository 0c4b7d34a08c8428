"""The worker process: speaks the bridge protocol (docs/ARCHITECTURE.md) over stdin/stdout.

Threads: a reader thread parses every incoming line, answers the cheap methods (`ping`, `echo`,
`configure`) itself and sets the cancel flag of a running request the moment its `cancel`
arrives; the main thread runs the slow methods (`stage`, and the test method `sleep`) one at a
time, in arrival order. Every outgoing message is one locked write + flush, so messages from the
two threads, from progress callbacks and from logging never interleave.

Start-up stays light (stdlib only): torch, jsonschema and the model pool are imported when a
request first needs them, so `ready` arrives fast and `ping`/`echo` never wait for torch.

Test-only switches (IPA_WORKER_TEST_METHODS, IPA_WORKER_FAULTS): see `test_hooks`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

from .. import stages
from ..context import StageContext
from ..errors import BadInput, WorkerError, classify
from ..launch import topology
from . import protocol, test_hooks
from .devices import backends, probe_devices
from .quiet import quiet_libraries

_EOF = object()
_UNBOUND = object()
_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}
# Attributes every LogRecord has; anything else came from `extra=` and goes into `fields`.
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], StageContext], Any]


def redirect_stdio() -> tuple[BinaryIO, BinaryIO]:
    """Keep private copies of fds 0 and 1 for the protocol; point fd 1 (and `sys.stdout`) at stderr.

    Anything a library prints, from Python or C, then lands in the job's log instead of
    corrupting the message stream, and nothing but the reader thread can consume stdin.
    """
    sys.stdout.flush()
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull)
    return os.fdopen(proto_in, "rb"), os.fdopen(proto_out, "wb")


def package_versions() -> dict[str, str | None]:
    """Versions from installed metadata: importing torch here would cost seconds of start-up."""
    out: dict[str, str | None] = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in ("torch", "transformers", "trl", "peft"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _message(exc: BaseException) -> str:
    if isinstance(exc, WorkerError):
        return str(exc) or type(exc).__name__
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ProtocolLogHandler(logging.Handler):
    """Sends log records as `log` messages tied to the request being served."""

    def __init__(self, server: Server, level: int = logging.NOTSET):
        super().__init__(level)
        self.server = server
        self._fmt = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {"logger": record.name}
            for key, value in vars(record).items():
                if key not in _RECORD_ATTRS:
                    fields[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
            if record.exc_info:
                fields["exc"] = self._fmt.formatException(record.exc_info)
            level = _LEVELS.get(record.levelno, "info")
            self.server.send(protocol.log(self.server.request_id(), level, record.getMessage(), fields))
        except Exception:
            self.handleError(record)


class Server:
    """One protocol session over `inp`/`out`; `run()` returns the exit code."""

    def __init__(
        self,
        inp: BinaryIO,
        out: BinaryIO,
        test_methods: bool = False,
        faults: dict[str, set[str]] | None = None,
        max_line: int = protocol.MAX_LINE_BYTES,
    ):
        self._in = inp
        self._max_line = max_line
        self._out = out
        self._write_lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Requests queued or running on the main thread, by id: what `cancel` can reach.
        self._active: dict[Any, StageContext] = {}
        self._active_lock = threading.Lock()
        self._local = threading.local()
        self._current: Any = None
        self._closing = False
        self._validator: Any = None
        self._models: Any = None
        self._faults = faults or {}
        self._inline: dict[str, Callable[[dict[str, Any]], Any]] = {
            "ping": self._ping,
            "echo": self._echo,
            "configure": self._configure,
        }
        self._slow: dict[str, Handler] = {"stage": self._stage}
        if test_methods:
            self._inline.update(test_hooks.INLINE_METHODS)
            self._slow.update(test_hooks.SLOW_METHODS)

    def methods(self) -> set[str]:
        """The methods this server answers (`shutdown` is the reader's own)."""
        return {"shutdown", *self._inline, *self._slow}

    # -- output ---------------------------------------------------------------------------

    def send(self, msg: dict[str, Any]) -> None:
        self._write(protocol.encode(msg))

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError, OSError):
                # The orchestrator is gone: nobody can receive results any more.
                os._exit(1)

    def _answer(self, id: Any, value: Any) -> None:
        try:
            data = protocol.encode(protocol.result(id, value))
        except (TypeError, ValueError) as exc:
            self._fail(id, exc)
            return
        self._write(data)

    def _fail(self, id: Any, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.send(protocol.error(id, classify(exc), _message(exc), tb))

    def request_id(self) -> Any:
        """The id log lines of this thread belong to: its own request, else the running one."""
        own = getattr(self._local, "id", _UNBOUND)
        return self._current if own is _UNBOUND else own

    # -- input ----------------------------------------------------------------------------

    def _lines(self):
        """Incoming lines, each at most `max_line` bytes; a longer one is skipped in chunks, unread."""
        limit = self._max_line
        while True:
            line = self._in.readline(limit + 1)
            if not line:
                return
            if len(line) > limit and not line.endswith(b"\n"):
                skipped = len(line)
                while not line.endswith(b"\n"):
                    line = self._in.readline(1 << 20)
                    if not line:
                        break
                    skipped += len(line)
                log.warning("ignored a protocol line of %d bytes, more than the limit of %d", skipped, limit)
                continue
            yield line

    def _read_loop(self) -> None:
        self._local.id = None
        try:
            for line in self._lines():
                if not line.strip():
                    continue
                try:
                    self._handle_line(line)
                except Exception:
                    # One line that breaks the handler must not end the session (nor leave it deaf).
                    log.exception("failed to handle a protocol line")
        except Exception:
            traceback.print_exc()
        finally:
            self._close_down(None)

    def _handle_line(self, line: bytes) -> None:
        try:
            msg = protocol.parse(line)
        except protocol.ProtocolError as exc:
            if exc.id is not None:
                self.send(protocol.error(exc.id, "BadInput", str(exc), ""))
            else:
                log.warning("ignored a bad protocol line: %s", exc)
            return
        id = msg["id"]
        if msg["type"] == "cancel":
            with self._active_lock:
                ctx = self._active.get(id)
            if ctx is not None:
                ctx.cancel()
            return
        method = msg["method"]
        if method == "shutdown":
            self._close_down(id)
            return
        if method in self._slow:
            self._enqueue(id, method, msg["params"])
            return
        inline = self._inline.get(method) or self._unknown(method)
        self._local.id = id
        try:
            self._answer(id, inline(msg["params"]))
        except Exception as exc:
            self._fail(id, exc)
        finally:
            self._local.id = None

    def _enqueue(self, id: Any, method: str, params: dict[str, Any]) -> None:
        ctx = StageContext(emit=lambda m: self._emit(id, m))
        with self._active_lock:
            if id in self._active:
                self.send(protocol.error(id, "BadInput", f"request id {id!r} is already in use", ""))
                return
            if self._closing:
                self.send(protocol.error(id, "Cancelled", "the worker is shutting down", ""))
                return
            self._active[id] = ctx
        self._queue.put((id, method, params, ctx))

    def _emit(self, id: Any, msg: dict[str, Any]) -> None:
        msg["v"] = protocol.V
        msg["id"] = id
        self.send(msg)

    def _close_down(self, shutdown_id: Any) -> None:
        """Stop taking work, cancel what is queued or running; the main thread then exits."""
        with self._active_lock:
            if self._closing:
                if shutdown_id is not None:
                    self._queue.put((shutdown_id, "shutdown", None, None))
                return
            self._closing = True
            for ctx in self._active.values():
                ctx.cancel()
        self._queue.put((shutdown_id, "shutdown", None, None) if shutdown_id is not None else _EOF)

    # -- main loop ------------------------------------------------------------------------

    def run(self) -> int:
        threading.Thread(target=self._read_loop, name="ipa-protocol-reader", daemon=True).start()
        self._local.id = _UNBOUND
        while True:
            item = self._queue.get()
            if item is _EOF:
                return 0
            id, method, params, ctx = item
            if method == "shutdown":
                self.send(protocol.result(id, {}))
                return 0
            self._current = id
            try:
                if ctx.cancelled:
                    self.send(protocol.error(id, "Cancelled", "cancelled before it started", ""))
                else:
                    try:
                        self._answer(id, self._slow[method](params, ctx))
                    except BaseException as exc:
                        self._fail(id, exc)
            finally:
                self._current = None
                with self._active_lock:
                    self._active.pop(id, None)

    def _unknown(self, method: str) -> Callable[[dict[str, Any]], Any]:
        def fail(params: dict[str, Any]) -> Any:
            raise BadInput(f"unknown method {method!r}")

        return fail

    # -- methods --------------------------------------------------------------------------

    def _ping(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"pid": os.getpid()}

    def _echo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"data": params.get("data")}

    def _configure(self, params: dict[str, Any]) -> dict[str, Any]:
        schema = params.get("payload_schema")
        if not isinstance(schema, (dict, bool)):
            raise BadInput("configure needs payload_schema: a JSON Schema object")
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        cls = validator_for(schema)
        try:
            cls.check_schema(schema)
        except SchemaError as exc:
            raise BadInput(f"payload_schema is not a valid JSON Schema: {exc.message}") from None
        self._validator = cls(schema)
        return {}

    def _stage(self, payload: dict[str, Any], ctx: StageContext) -> Any:
        if self._validator is not None:
            from jsonschema.exceptions import best_match

            err = best_match(self._validator.iter_errors(payload))
            if err is not None:
                detail = err.message if len(err.message) <= 500 else err.message[:500] + "…"
                raise BadInput(f"stage payload does not match the configured schema at {err.json_path}: {detail}")
        name = payload.get("stage")
        if not isinstance(name, str) or not stages.STAGE_NAME.fullmatch(name):
            raise BadInput(f"invalid stage name {name!r}")
        test_hooks.fail_before(self._faults, name, payload)
        module_name = f"{stages.__name__}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                raise BadInput(f"unknown stage {name!r}") from None
            raise
        if not callable(getattr(module, "run", None)):  # a helper module of the package (stages.common)
            raise BadInput(f"unknown stage {name!r}")
        ctx.check_cancelled()
        if name in topology.LAUNCHED_STAGES:
            topo = topology.for_payload(payload)
            if topo.launched:
                from ..launch.group import run_group

                return run_group(payload, ctx, topo)
        if self._models is None:
            from ..models.engines import Engines

            self._models = Engines()
        ctx.models = test_hooks.with_faults(self._models, self._faults, name, payload)
        try:
            return module.run(payload, ctx)
        except BaseException as exc:
            if classify(exc) == "OutOfMemory":
                self._free_after_oom(exc, payload, ctx)
            raise

    def _free_after_oom(self, exc: BaseException, payload: dict[str, Any], ctx: StageContext) -> None:
        """Before the orchestrator retries with a smaller batch: the failed try's tensors (held by
        its traceback's frames) and whatever the retry does not need go (`Engines.release_for_retry`)."""
        traceback.clear_frames(exc.__traceback__)
        released = self._models.release_for_retry(payload)
        kept = self._models.current
        words = ", ".join(released) if released else "nothing besides the failed try's tensors"
        ctx.log(
            f"out of memory: released {words} and the allocator's cache; "
            + (f"kept the {kept.name} engine on {kept.base} for the retry" if kept is not None else "no engine kept"),
            level="warning",
        )


def serve(log_level: str = "info") -> int:
    """Run the protocol on this process's stdin/stdout until `shutdown` or end of input."""
    faults = test_hooks.parse_faults(os.environ.get("IPA_WORKER_FAULTS", ""))
    proto_in, proto_out = redirect_stdio()
    server = Server(proto_in, proto_out, test_methods=os.environ.get("IPA_WORKER_TEST_METHODS") == "1", faults=faults)
    root = logging.getLogger()
    root.handlers = [ProtocolLogHandler(server)]
    root.setLevel(log_level.upper())
    # Ctrl-C in a terminal reaches the whole process group: the orchestrator decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.captureWarnings(True)
    quiet_libraries()  # after captureWarnings, whose multi-line format it replaces
    server.send(protocol.ready(os.getpid(), package_versions(), probe_devices(), backends()))
    code = server.run()
    sys.stderr.flush()
    # os._exit: threads started by libraries (tokenizers, torch) must not keep a stopped worker alive.
    os._exit(code)
