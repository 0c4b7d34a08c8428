"""The roles' prompt templates: plain text files with {placeholders}, overridable by recipe paths.

Substitution replaces only the named placeholders (not str.format), so a user template may
contain other braces (JSON examples) and a response containing "{x}" is inserted verbatim.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import BadInput

PACKAGED = Path(__file__).resolve().parent
NAMES = ("verifier", "feedback", "feedback_reference", "refine")

# The placeholders each template must contain; a template missing one would silently drop an input.
REQUIRED = {
    "verifier": ("instruction", "response", "reference"),
    "feedback": ("instruction", "response"),
    "feedback_reference": ("instruction", "response", "reference"),
    "refine": ("instruction", "response", "feedback"),
}


def load_template(name: str, override: str | None = None) -> str:
    """The text of template `name`, from `override` (a recipe path) when given."""
    if name not in NAMES:
        raise ValueError(f"unknown template {name!r}")
    path = Path(override) if override else PACKAGED / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"prompt template {name} not readable at {path}: {exc}") from exc
    missing = [p for p in REQUIRED[name] if "{" + p + "}" not in text]
    if missing:
        raise BadInput(f"prompt template {path} lacks placeholder(s) {', '.join('{' + m + '}' for m in missing)}")
    return text


def render(template: str, **values: str) -> str:
    """Fill `{name}` placeholders in one pass, so inserted text is never substituted again."""
    pattern = re.compile(r"\{(" + "|".join(re.escape(k) for k in values) + r")\}") if values else None
    if pattern is None:
        return template.strip()
    return pattern.sub(lambda m: str(values[m.group(1)]), template).strip()
