"""The protocol's encoding and parsing of one line, and its one source: the messages, methods and
enums come from contract/protocol.json, which zod generates (orchestrator/contract/protocol.ts)."""

from __future__ import annotations

import io
import json
import math
import os

import pytest
from ipa_worker import errors
from ipa_worker.contract import protocol_spec
from ipa_worker.serve import protocol
from ipa_worker.serve.devices import backends, probe_devices
from ipa_worker.serve.server import Server, package_versions


def test_encode_replaces_non_finite_numbers_and_escapes_non_ascii():
    line = protocol.encode(protocol.progress(1, 1, 2, {"loss": math.nan, "x": [math.inf], "s": "é"}))
    assert line.endswith(b"\n") and line.isascii()
    assert json.loads(line)["metrics"] == {"loss": None, "x": [None], "s": "é"}


def test_parse_checks_version_type_and_params():
    assert protocol.parse(b'{"v":1,"type":"request","id":3,"method":"ping"}')["params"] == {}
    assert protocol.parse('{"v":1,"type":"cancel","id":"a"}')["type"] == "cancel"
    for line, id in [
        ('{"v":9,"type":"request","id":4,"method":"x"}', 4),
        ('{"v":1,"type":"nope","id":5}', 5),
        ('{"v":1,"type":"request","id":true}', None),
        ("{", None),
    ]:
        with pytest.raises(protocol.ProtocolError) as info:
            protocol.parse(line)
        assert info.value.id == id


def test_a_request_is_checked_against_its_schema():
    for line, why in [
        ('{"v":1,"type":"request","id":3,"method":""}', "invalid request: method: '' should be non-empty"),
        (
            '{"v":1,"type":"request","id":3,"method":"x","params":[1]}',
            "invalid request: params: [1] is not of type 'object'",
        ),
        ('{"v":1,"type":"request","id":3}', "invalid request: 'method' is a required property"),
    ]:
        with pytest.raises(protocol.ProtocolError) as info:
            protocol.parse(line)
        assert (str(info.value), info.value.id) == (why, 3)


def test_the_version_methods_and_enums_are_the_generated_ones():
    spec = protocol_spec()
    assert (protocol.V, protocol.MAX_LINE_BYTES, protocol.METHODS) == (
        spec["version"],
        spec["max_line_bytes"],
        tuple(spec["methods"]),
    )
    assert protocol.LOG_LEVELS == ("debug", "info", "warning", "error", "critical")
    assert protocol.ERROR_TYPES == ("BadInput", "OutOfMemory", "Cancelled", "Internal")
    # Every error the worker can report is a type the protocol knows.
    kinds = {cls.kind for cls in (errors.WorkerError, *errors.WorkerError.__subclasses__())}
    kinds |= {
        errors.classify(exc)
        for exc in (ValueError(), RuntimeError("CUDA out of memory"), json.JSONDecodeError("x", "", 0))
    }
    assert kinds == set(protocol.ERROR_TYPES)


def test_the_server_answers_exactly_the_protocols_methods():
    assert Server(io.BytesIO(), io.BytesIO()).methods() == set(protocol.METHODS)
    assert Server(io.BytesIO(), io.BytesIO(), test_methods=True).methods() > set(protocol.METHODS)


def test_every_outgoing_message_matches_its_schema():
    sent = [
        protocol.ready(os.getpid(), package_versions(), probe_devices(), backends()),
        protocol.progress(1, 2, 3, {"loss": 0.5}),
        protocol.log(None, "warning", "x", {"a": 1}),
        protocol.log("a", "chatty", "an unknown level is sent as info"),
        protocol.result(1, None),
        protocol.error(1, "NoSuchType", "an unknown type is sent as Internal"),
    ]
    assert [protocol.problem(m["type"], m) for m in sent] == [None] * len(sent)
    assert sent[3]["level"] == "info" and sent[5]["error"]["type"] == "Internal"
    # No result of its own (a training group's node without rank 0) is null, never an empty stage result.
    assert sent[4]["result"] is None
    assert protocol.problem("progress", {**sent[1], "done": "1"}) == "done: '1' is not of type 'number'"
