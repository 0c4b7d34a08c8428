"""The dependency order of workers/ipa_worker/, lowest first (docs/ARCHITECTURE.md, "Python layers"):

    errors, seeding, textdist, the package's __init__ → contract → data → prompts → models → method
    → training → context → evaluation → stages → launch → serve → tools → __main__

A module may import its own folder and the layers below, never one above nor a sibling of its own
layer (so no two folders import each other). Read from the import statements of every module
(lazy imports inside functions included), so a new upward import fails here. The twin of
test/layering.test.ts for the TypeScript side.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "ipa_worker"
PACKAGE = "ipa_worker"

# Layer of each top-level folder and of each module directly in ipa_worker/ (by name, no ".py").
LAYERS: dict[str, int] = {
    "__init__": 0,
    "errors": 0,
    "seeding": 0,
    "textdist": 0,
    "contract": 1,
    "data": 2,
    "prompts": 3,
    "models": 4,
    "method": 5,
    "training": 6,
    "context": 7,
    "evaluation": 8,
    "stages": 9,
    "launch": 10,
    "serve": 11,
    "tools": 12,
    "__main__": 13,
}


def area_of_file(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else Path(rel[0]).stem


def module_of_file(path: Path) -> str:
    parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def area_of_module(module: str) -> str:
    """`ipa_worker.x.y` → x; a name imported from the package itself (`__version__`) is __init__'s."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    name = parts[1]
    return name if (ROOT / name).is_dir() or (ROOT / f"{name}.py").is_file() else "__init__"


def imported_modules(path: Path, source: str) -> list[tuple[int, str]]:
    """(line, absolute module) for each of the package's modules `source` imports."""
    here = module_of_file(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (
                ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                if node.level
                else node.module or ""
            )
            if node.module is None or base == PACKAGE:  # `from . import collective`: the names may be modules
                out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                out.append((node.lineno, base))
    return sorted((line, m) for line, m in out if m == PACKAGE or m.startswith(PACKAGE + "."))


def violations(files: dict[Path, str]) -> list[str]:
    """Every broken rule, one line each, for modules given as path → source text."""
    out: list[str] = []
    for path, source in files.items():
        name = path.relative_to(ROOT).as_posix()
        here = area_of_file(path)
        if here not in LAYERS:
            out.append(f"{name}: ipa_worker/{here} has no layer (add it to LAYERS)")
            continue
        for line, module in imported_modules(path, source):
            there = area_of_module(module)
            if there not in LAYERS:
                out.append(f"{name}:{line}: imports {module} from ipa_worker/{there}, which has no layer")
            elif LAYERS[there] > LAYERS[here]:
                out.append(
                    f"{name}:{line}: imports {module} ({there}, layer {LAYERS[there]}) from layer {LAYERS[here]} ({here})"
                )
            elif LAYERS[there] == LAYERS[here] and there != here:
                out.append(f"{name}:{line}: imports {module} from {there}, a sibling in layer {LAYERS[here]}")
    return out


def package_files() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in sorted(ROOT.rglob("*.py"))}


def test_reads_every_module():
    files = package_files()
    assert len(files) > 80
    assert {area_of_file(p) for p in files} == set(LAYERS)


def test_no_module_imports_a_layer_above_its_own():
    assert violations(package_files()) == []


def test_the_check_catches_an_upward_import_a_sideways_one_and_an_unknown_folder():
    planted = {
        ROOT
        / "data"
        / "x.py": "from ..stages import sample\nimport ipa_worker.serve.server\nfrom .jsonl_io import read_jsonl\n",
        ROOT
        / "training"
        / "x.py": "def f():\n    from ..context import StageContext\n    from . import collective\n    from .. import errors\n",
        ROOT / "errors.py": "from ipa_worker import __version__\nfrom . import seeding\n",
        ROOT
        / "launch"
        / "x.py": "from ..serve import protocol\nfrom ..stages import sample\nfrom .topology import Topology\n",
        ROOT / "contract" / "__init__.py": "from ..data import images\n",
        ROOT / "misc" / "x.py": "",
    }
    assert violations(planted) == [
        "data/x.py:1: imports ipa_worker.stages (stages, layer 9) from layer 2 (data)",
        "data/x.py:2: imports ipa_worker.serve.server (serve, layer 11) from layer 2 (data)",
        "training/x.py:2: imports ipa_worker.context (context, layer 7) from layer 6 (training)",
        "errors.py:1: imports ipa_worker.__version__ from __init__, a sibling in layer 0",
        "errors.py:2: imports ipa_worker.seeding from seeding, a sibling in layer 0",
        "launch/x.py:1: imports ipa_worker.serve (serve, layer 11) from layer 10 (launch)",
        "contract/__init__.py:1: imports ipa_worker.data (data, layer 2) from layer 1 (contract)",
        "misc/x.py: ipa_worker/misc has no layer (add it to LAYERS)",
    ]
