"""Which pinned packages a set of top-level ones needs, read from a uv/pip-compile lock file.

The lock's `# via` comments give each package's dependants; reversed, they give its dependencies,
so the closure needs no index and no installed environment. Used by
scripts/fetch-gpu-check-wheels.sh to download the exact wheels a GPU box with a preinstalled
PyTorch lacks. Stdlib only.

CLI: python -m ipa_worker.tools.lock_closure LOCK --root NAME... [--exclude-closure-of NAME...] [--stop-at NAME...] [--skip NAME...]
prints `name==version` lines.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def normalise(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one dash."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(text: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """(pins: name -> version, dependants: name -> the packages that need it) of a lock file."""
    pins: dict[str, str] = {}
    dependants: dict[str, set[str]] = {}
    current: str | None = None
    in_via = False
    for line in text.splitlines():
        m = _PIN.match(line)
        if m:
            current = normalise(m.group(1))
            pins[current] = m.group(2)
            dependants[current] = set()
            in_via = False
            continue
        s = line.strip()
        if current is None or not s.startswith("#"):
            in_via = False
            continue
        if s.startswith("# via"):
            rest = s[len("# via") :].strip()
            in_via = not rest
            if rest:
                dependants[current].add(rest)
        elif in_via and s.startswith("#   "):
            dependants[current].add(s[4:].strip())
    for name, via in dependants.items():
        # `-r workers/requirements.in` marks a top-level requirement, not a package.
        dependants[name] = {normalise(v) for v in via if not v.startswith("-")}
    return pins, dependants


def closure(roots: list[str], dependants: dict[str, set[str]], stop_at: frozenset[str] = frozenset()) -> set[str]:
    """`roots` and everything they need, transitively; the needs of `stop_at` packages are not
    followed (the lock merges extras: a need one dependant brought in is not every dependant's)."""
    needs: dict[str, set[str]] = {}
    for pkg, via in dependants.items():
        for parent in via:
            needs.setdefault(parent, set()).add(pkg)
    seen: set[str] = set()
    stack = [normalise(r) for r in roots]
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            if name not in stop_at:
                stack.extend(needs.get(name, ()))
    return seen


def wanted(
    lock_text: str, roots: list[str], exclude_closure_of: list[str], skip: list[str], stop_at: list[str] = ()
) -> list[str]:
    """`name==version` of the closure of `roots`, less the closure of `exclude_closure_of` (not
    followed past `stop_at`) and `skip`; an unknown name is an error (a typo would drop a wheel)."""
    pins, dependants = parse_lock(lock_text)
    unknown = [n for n in [*roots, *exclude_closure_of, *skip, *stop_at] if normalise(n) not in pins]
    if unknown:
        raise SystemExit(f"not in the lock: {', '.join(unknown)}")
    excluded = closure(exclude_closure_of, dependants, frozenset(normalise(n) for n in stop_at))
    names = closure(roots, dependants) - excluded - {normalise(s) for s in skip}
    return [f"{n}=={pins[n]}" for n in sorted(names)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ipa_worker.tools.lock_closure", description=__doc__.splitlines()[0])
    ap.add_argument("lock")
    ap.add_argument("--root", nargs="+", required=True)
    ap.add_argument("--exclude-closure-of", nargs="*", default=[])
    ap.add_argument("--skip", nargs="*", default=[])
    ap.add_argument("--stop-at", nargs="*", default=[], help="do not follow these packages' needs when excluding")
    a = ap.parse_args(argv)
    print("\n".join(wanted(Path(a.lock).read_text(encoding="utf-8"), a.root, a.exclude_closure_of, a.skip, a.stop_at)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
