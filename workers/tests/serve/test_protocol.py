"""The protocol's encoding and parsing of one line."""

from __future__ import annotations

import json
import math

import pytest

from ipa_worker.serve import protocol


def test_encode_replaces_non_finite_numbers_and_escapes_non_ascii():
    line = protocol.encode(protocol.progress(1, 1, 2, {"loss": math.nan, "x": [math.inf], "s": "é"}))
    assert line.endswith(b"\n") and line.isascii()
    assert json.loads(line)["metrics"] == {"loss": None, "x": [None], "s": "é"}


def test_parse_checks_version_type_and_params():
    assert protocol.parse(b'{"v":1,"type":"request","id":3,"method":"ping"}')["params"] == {}
    assert protocol.parse('{"v":1,"type":"cancel","id":"a"}')["type"] == "cancel"
    for line, id in [('{"v":9,"type":"request","id":4,"method":"x"}', 4), ('{"v":1,"type":"nope","id":5}', 5), ('{"v":1,"type":"request","id":true}', None), ("{", None)]:
        with pytest.raises(protocol.ProtocolError) as info:
            protocol.parse(line)
        assert info.value.id == id
