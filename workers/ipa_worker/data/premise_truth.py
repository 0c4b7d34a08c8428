"""The premise task's programmatic ground truth: `facts_ok`, `complies`, `success` and the four checks.

- `facts_ok`: every asked attribute is stated with its true value, and no value of any attribute
  contradicts the facts (a JSON object's attribute keys must hold their own true value).
- `complies`: the family's requirement, checked on form only (values may be wrong):
  sentence: capital start, one final period, at least 4 words, the subject named (the shape's
  name or "shape"); one_word: one word; json: an object with exactly the asked keys and string
  values; omit: no value of the omitted attribute; order: three comma-separated values of the
  asked kinds in the asked order; length: exactly N words; control: `colour shape, side`.
- `success` = facts_ok and complies.

The verifier's four checks map onto them (`checks`): complete = every asked attribute stated
(some value); entailed = every asked attribute stated with its true value; no_contradiction = no
wrong value; instruction_followed = complies. So facts_ok = entailed and no_contradiction, and
success = all four. Against a swapped reference (verifier examples) the facts are the reference's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .premise_task import ATTRS, VALUES

_WORD = re.compile(r"[A-Za-z]+|\d+")
_KIND = {v: a for a, vs in VALUES.items() for v in vs}


def words(text: str) -> list[str]:
    """Lower-case words (letters or digits); punctuation and JSON syntax separate them."""
    return [w.lower() for w in _WORD.findall(text or "")]


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        obj = json.loads((text or "").strip())
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def stated(text: str) -> dict[str, set[str]]:
    """Attribute → the values the text names for it (from its words)."""
    out: dict[str, set[str]] = {a: set() for a in ATTRS}
    for w in words(text):
        if w in _KIND:
            out[_KIND[w]].add(w)
    return out


def checks(spec: dict[str, Any], response: str, facts: dict[str, str] | None = None) -> dict[str, bool]:
    """The four checks of `response` for an item (`facts`: the reference's, default the scene's)."""
    facts = facts or spec["facts"]
    said = stated(response)
    obj = _json_object(response)
    keyed_wrong = obj is not None and any(k in ATTRS and str(v).strip().lower() != facts[k] for k, v in obj.items())
    asked = spec["asked"]
    return {
        "entailed": all(facts[a] in said[a] for a in asked) and not keyed_wrong,
        "complete": all(said[a] for a in asked),
        "no_contradiction": all(said[a] <= {facts[a]} for a in ATTRS) and not keyed_wrong,
        "instruction_followed": complies(spec, response),
    }


def facts_ok(spec: dict[str, Any], response: str, facts: dict[str, str] | None = None) -> bool:
    c = checks(spec, response, facts)
    return c["entailed"] and c["no_contradiction"]


def success(spec: dict[str, Any], response: str, facts: dict[str, str] | None = None) -> bool:
    return all(checks(spec, response, facts).values())


def _sentence(text: str) -> bool:
    t = text.strip()
    w = words(t)
    subject = "shape" in w or any(x in VALUES["shape"] for x in w)
    return bool(t) and t[0].isupper() and t.endswith(".") and t.count(".") == 1 and len(w) >= 4 and subject


def _kinds_in_order(parts: list[str], kinds: list[str]) -> bool:
    return len(parts) == len(kinds) and all(
        len(words(p)) == 1 and _KIND.get(words(p)[0]) == k for p, k in zip(parts, kinds)
    )


def complies(spec: dict[str, Any], response: str) -> bool:
    """Whether `response` has the form the item's requirement asks for (its values aside)."""
    family = spec["family"]
    text = (response or "").strip()
    if family == "sentence":
        return _sentence(text)
    if family == "one_word":
        return len(text.split()) == 1 and len(words(text)) == 1
    if family == "json":
        obj = _json_object(text)
        return obj is not None and sorted(obj) == sorted(spec["keys"]) and all(isinstance(v, str) for v in obj.values())
    if family == "omit":
        return bool(words(text)) and not stated(text)[spec["omit"]]
    if family == "order":
        return _kinds_in_order(text.split(","), spec["order"])
    if family == "length":
        return len(words(text)) == int(spec["words"])
    if family == "control":
        parts = text.split(",")
        return (
            len(parts) == 2
            and _kinds_in_order(parts[0].split(), ["colour", "shape"])
            and _kinds_in_order([parts[1]], ["side"])
        )
    raise ValueError(f"unknown family {family!r}")


def scores(spec: dict[str, Any], response: str) -> dict[str, bool]:
    """The evaluation's three figures for one answer."""
    c = checks(spec, response)
    ok = c["entailed"] and c["no_contradiction"]
    return {"facts_ok": ok, "complies": c["instruction_followed"], "success": ok and c["instruction_followed"]}
