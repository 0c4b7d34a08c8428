"""The verifier pi_V: a rule match for short answers, or a model judging four checks from a prompt.

The rule verifier returns a binary verdict. The model verifier's output is read in several formats
(small models rarely keep to one), but strictly: v = 1 only when all four checks are stated to
hold; a failed check or a negative verdict gives 0; anything else is unjudged (None), so the
response is neither chosen nor rejected.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from ..contract import schema_enum
from ..prompts import load_template, render

RULE_MODES = tuple(schema_enum("verifier", "rule_mode"))
CHECKS = ("entailed", "complete", "no_contradiction", "instruction_followed")

_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
NUMBER_WORDS: dict[str, int] = {w: i for i, w in enumerate(_UNITS)} | _TENS | {"hundred": 100}
ARTICLES = {"a", "an", "the"}
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def _words_to_digits(tokens: list[str]) -> list[str]:
    """'twenty one' / 'twenty-one' (already split) -> '21'; 'three' -> '3'."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _TENS and i + 1 < len(tokens) and tokens[i + 1] in NUMBER_WORDS and NUMBER_WORDS[tokens[i + 1]] < 10:
            out.append(str(_TENS[t] + NUMBER_WORDS[tokens[i + 1]]))
            i += 2
            continue
        out.append(str(NUMBER_WORDS[t]) if t in NUMBER_WORDS else t)
        i += 1
    return out


def drop_articles(tokens: list[str]) -> list[str]:
    """Articles dropped where a word follows them; a last "a" is kept, as it may be the answer
    ("A", "The answer is A"), so an answer of articles or letters never normalises to nothing."""
    return [t for i, t in enumerate(tokens) if t not in ARTICLES or i == len(tokens) - 1]


def normalize_tokens(text: str) -> list[str]:
    """Lower case, punctuation and articles (see `drop_articles`) dropped, number words as digits, split on whitespace."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    # Keep a decimal point between digits; every other non-word character separates words.
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^\w.\-]+|_", " ", text)
    text = re.sub(r"(?<![\d])-|-(?![\d])", " ", text)  # hyphens split words; a leading minus stays on a number
    return _words_to_digits(drop_articles(text.split()))


def normalize(text: str) -> str:
    return " ".join(normalize_tokens(text))


def _as_number(token: str) -> float | None:
    return float(token) if _NUMBER.match(token) else None


def resolve_mode(reference: str, mode: str) -> str:
    """auto: numeric when the reference is one number, contains for <= 3 words, else exact."""
    if mode != "auto":
        return mode
    tokens = normalize_tokens(reference)
    if len(tokens) == 1 and _as_number(tokens[0]) is not None:
        return "numeric"
    return "contains" if len(tokens) <= 3 else "exact"


def rule_verify(response: str, reference: str, mode: str = "auto") -> tuple[int, str]:
    """(verdict 0|1, reason) for `response` against `reference` by normalised matching.

    exact: equal after normalisation; contains: the reference's words appear contiguously in the
    response; numeric: the response names exactly one distinct number and it equals the reference
    ("3 or 4" fails: a hedge is not an answer).
    """
    if mode not in RULE_MODES:
        raise ValueError(f"unknown rule mode {mode!r}")
    used = resolve_mode(reference, mode)
    resp, ref = normalize_tokens(response), normalize_tokens(reference)
    if not ref:
        return 0, f"{used}: empty reference"
    if used == "exact":
        ok = resp == ref
        return int(ok), f"exact: {'equal' if ok else 'differs'} after normalisation"
    if used == "contains":
        n = len(ref)
        ok = any(resp[i : i + n] == ref for i in range(len(resp) - n + 1))
        return int(ok), f"contains: reference {'found' if ok else 'not found'} in response"
    target = _as_number(ref[0]) if len(ref) == 1 else None
    if target is None:
        return 0, "numeric: reference is not a number"
    values = {v for v in (_as_number(t) for t in resp) if v is not None}
    if not values:
        return 0, "numeric: no number in response"
    if len(values) > 1:
        return 0, f"numeric: several numbers in response ({', '.join(f'{v:g}' for v in sorted(values))})"
    got = values.pop()
    ok = abs(got - target) <= 1e-6 * max(1.0, abs(target))
    return int(ok), f"numeric: response {got:g} {'=' if ok else '!='} reference {target:g}"


# ---- parsing the model verifier's output ------------------------------------------------------

_YES = {"1", "yes", "y", "true", "pass", "passed", "correct", "accept", "accepted", "valid", "ok", "right"}
_NO = {"0", "no", "n", "false", "fail", "failed", "incorrect", "reject", "rejected", "invalid", "wrong"}
_VALUE = r"(1|0|yes|no|true|false|pass(?:ed)?|fail(?:ed)?|incorrect|correct|accept(?:ed)?|reject(?:ed)?|invalid|valid|wrong|right|ok)\b"
# "verdict", "final verdict is", "**Verdict** -", "VERDICT：" ... then a value; the rest of its line
# is captured (not consumed) to tell an explicit value from a hedged one.
_VERDICT_RE = re.compile(r"verdict\**\s*(?:is\s*)?[:=\-–—]*\s*\**\s*" + _VALUE + r"(?=([^\n]*))", re.IGNORECASE)
_CHECK_KEYS = {
    "entailed": "entailed",
    "entailment": "entailed",
    "entails": "entailed",
    "complete": "complete",
    "completeness": "complete",
    "no_contradiction": "no_contradiction",
    "no contradiction": "no_contradiction",
    "contradiction": "contradiction",
    "instruction_followed": "instruction_followed",
    "instruction followed": "instruction_followed",
    "instruction_following": "instruction_followed",
    "instruction following": "instruction_followed",
}
_CHECK_NAMES = r"no[ _]contradiction|contradiction|instruction[ _]follow(?:ed|ing)|entailed|entailment|entails|completeness|complete"
# A check name starts a word: "INCOMPLETE" is not COMPLETE, "NO_CONTRADICTION" is not CONTRADICTION.
_CHECK_RE = re.compile(
    r"(?<![A-Za-z_])(" + _CHECK_NAMES + r")\**\s*[:=\-–—]+\s*\**\s*" + _VALUE + r"(?=([^\n]*))", re.IGNORECASE
)
# What may follow an explicit value on its line: punctuation, then nothing or the next key.
_EXPLICIT_END = re.compile(r"^[\s*.;,]*(?:$|(?:" + _CHECK_NAMES + r"|verdict|reason)\b)", re.IGNORECASE)
_REASON_RE = re.compile(r"reason\**\s*[:=\-–—]+\s*(.+)", re.IGNORECASE)


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().strip(".*").lower()
        if v in _YES:
            return True
        if v in _NO:
            return False
    return None


def _stated(value: str, rest: str) -> bool | None:
    """A stated value, strictly: a positive one counts only when nothing hedges it on its line
    ("yes, but the colour is wrong", "yes or no", "1/0", "1 if all four checks are yes" are not
    judgements); a negative one always counts (reading a fail is never a false pass)."""
    t = _truth(value)
    if t is True and not _EXPLICIT_END.match(rest):
        return None
    return t


def _from_json(text: str) -> tuple[int | None, dict[str, bool | None], str | None] | None:
    """The last JSON object in the text that carries a verdict or checks, if any."""
    found = None
    for m in re.finditer(r"\{[^{}]*\}", text, re.DOTALL):
        try:
            obj = json.loads(m.group(0))
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        low = {str(k).lower().strip(): v for k, v in obj.items()}
        checks = {c: None for c in CHECKS}
        for k, v in low.items():
            key = _CHECK_KEYS.get(k.replace("-", "_")) or _CHECK_KEYS.get(k)
            if key == "contradiction":
                t = _truth(v)
                checks["no_contradiction"] = None if t is None else not t
            elif key:
                checks[key] = _truth(v)
        verdict_value = next((low[k] for k in ("verdict", "decision", "result", "pass", "label") if k in low), None)
        t = _truth(verdict_value)
        if t is None and not any(v is not None for v in checks.values()):
            continue
        reason = low.get("reason") or low.get("explanation")
        found = (None if t is None else int(t), checks, str(reason) if reason else None)
    return found


def _line_checks(text: str) -> dict[str, list[bool | None]]:
    """Every statement of each check in the text (None: hedged), in order."""
    said: dict[str, list[bool | None]] = {c: [] for c in CHECKS}
    for key, value, rest in _CHECK_RE.findall(text):
        norm = _CHECK_KEYS.get(key.lower().replace("_", " ")) or _CHECK_KEYS.get(key.lower())
        if norm == "contradiction":
            # "CONTRADICTION: no" is the check holding; a hedge either way is no judgement.
            t = _truth(value)
            t = None if t is False and not _EXPLICIT_END.match(rest) else t
            said["no_contradiction"].append(None if t is None else not t)
        elif norm:
            said[norm].append(_stated(value, rest))
    return said


def parse_verdict(text: str) -> tuple[int | None, dict[str, bool | None], str]:
    """(verdict, the four checks (None when not stated), reason) from a verifier's output.

    The paper's rule: v = 1 only if all four checks hold. A check stated "no" fails the response
    whatever verdict line follows, and an explicit negative verdict fails it too. v = 1 needs
    all four checks stated "yes" explicitly and consistently, and no negative verdict. Anything
    else is *unjudged* (None): a check hedged ("yes, but ...", the template's "yes or no" echoed),
    a check stated both yes and no, a pass verdict with checks left out, a lone "yes", text with
    no judgement at all. Unjudged responses are neither chosen nor rejected; the reason says why.
    """
    text = unicodedata.normalize("NFKC", text or "")
    checks: dict[str, bool | None] = {c: None for c in CHECKS}
    reason_match = _REASON_RE.findall(text)
    reason = reason_match[-1].strip() if reason_match else ""

    said = _line_checks(text)
    js = _from_json(text)
    if js is not None:
        _, jchecks, jreason = js
        for k, v in jchecks.items():
            if v is not None:
                said[k].append(v)
        reason = jreason or reason

    conflicting, hedged = [], []
    for c in CHECKS:
        values = said[c]
        if False in values and True in values:
            conflicting.append(c)  # "COMPLETE: no ... COMPLETE: yes": no consistent judgement
        elif None in values and False not in values:
            hedged.append(c)
        elif values:
            checks[c] = values[0]
    # Verdict lines: any explicit negative one fails; a positive one counts only unhedged.
    verdicts = [_stated(v, rest) for v, rest in _VERDICT_RE.findall(text)]
    negative = False in verdicts or (js is not None and js[0] == 0)
    positive = True in verdicts or (js is not None and js[0] == 1)

    failed = [c for c in CHECKS if checks[c] is False]
    missing = [c for c in CHECKS if checks[c] is None]
    if failed:
        return 0, checks, reason or f"failed: {', '.join(failed)}"
    if conflicting:
        return None, checks, f"inconsistent: {', '.join(conflicting)} stated both yes and no"
    if negative:
        return 0, checks, reason or "negative verdict"
    if hedged:
        return None, checks, f"hedged: {', '.join(hedged)} not stated plainly"
    if not missing:
        return 1, checks, reason or "all four checks hold"
    if positive:
        return None, checks, f"incomplete: {', '.join(missing)} not stated"
    return None, checks, "unparseable"


# ---- the model verifier ---------------------------------------------------------------------


def verifier_prompt(template: str, instruction: str, response: str, reference: str) -> str:
    return render(template, instruction=instruction, response=response, reference=reference)


def model_verify(
    lm,
    items: list[dict[str, Any]],
    *,
    template: str | None = None,
    max_new_tokens: int,
    seed: int,
    batch_size: int,
    on_batch: Callable[..., None] | None = None,
    temperature: float = 0.0,
) -> list[dict[str, Any]]:
    """Judge each item `{images: [PIL], instruction, response, reference}` with the verifier's role
    (`models.roles.Role`: the engine with the verifier's weights).

    Greedy decoding by default: a judgement should not depend on a sampling draw (a second
    judgement of an unjudged response samples, at `temperature`, with per-item seeds from `seed`).
    Returns per item `{verdict: 0|1|None, checks, reason, raw}`; None is an unjudged response
    (see parse_verdict).
    """
    from ..models.messages import user_messages

    text = template if template is not None else load_template("verifier")
    prompts = [
        {
            "images": it["images"],
            "messages": user_messages(
                verifier_prompt(text, it["instruction"], it["response"], it["reference"]), len(it["images"])
            ),
        }
        for it in items
    ]
    outs = lm.generate(
        prompts,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=seed,
        batch_size=batch_size,
        on_batch=on_batch,
    )
    results = []
    for out in outs:
        verdict, checks, reason = parse_verdict(out["text"])
        results.append({"verdict": verdict, "checks": checks, "reason": reason, "raw": out["text"]})
    return results
