"""The import directions of docs/ARCHITECTURE.md hold for every module of the package (read with ast, imports inside
functions included): a layer imports only the layers below it, so backtest, paper and live share code one way."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ravebear"
ALLOWED = {  # layer -> the RaveBear layers it may import (besides itself and time_units)
    "optimize": {"platform", "adapters", "catalog", "ledger", "reports", "research", "risk", "simulators", "strategies"},
    "platform": {"optimize", "adapters", "catalog", "ledger", "reports", "research", "risk", "simulators", "strategies"},
    "research": {"reports", "strategies", "catalog", "ledger"},
    "reports": {"risk", "catalog"},
    "strategies": {"risk", "catalog"},
    "risk": {"catalog"},
    "adapters": {"catalog"},
    "simulators": {"catalog"},
    "ledger": {"catalog"},
    "catalog": set(),
}


def imported_layers(path: Path) -> set[tuple[str, int]]:
    """(layer, line) of every `ravebear.<layer>` import in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "ravebear" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def test_every_layer_imports_only_the_layers_below_it():
    modules = sorted(PACKAGE.rglob("*.py"))
    layers_seen = {path.relative_to(PACKAGE).parts[0] for path in modules if len(path.relative_to(PACKAGE).parts) > 1}
    assert layers_seen == set(ALLOWED)  # a new top-level package must get its place in the rules (and ARCHITECTURE.md)
    wrong = []
    for path in modules:
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) == 1:  # ravebear/__init__.py, time_units.py: import no layer
            assert not {layer for layer, _ in imported_layers(path) if layer in ALLOWED}, relative
            continue
        layer = relative.parts[0]
        for imported, line in sorted(imported_layers(path)):
            if imported in ALLOWED and imported != layer and imported not in ALLOWED[layer]:
                wrong.append(f"ravebear/{relative}:{line} ({layer}) imports ravebear.{imported}")
    assert wrong == []


def test_the_checker_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ravebear.platform.nodes import composer\n")
    assert imported_layers(module) == {("platform", 2)}


def _imports_of(path: Path, prefix: str) -> list[int]:
    """Lines of `path` that import a module under `prefix` (e.g. 'ravebear.platform.cli')."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        lines += [node.lineno for name in names if name == prefix or name.startswith(prefix + ".")]
    return lines


def test_optimize_sits_between_the_nodes_and_the_cli():
    # optimize composes backtests (platform.nodes); only the CLI uses optimize, and optimize never imports the CLI
    wrong = [f"{p.relative_to(PACKAGE)}:{line}" for p in sorted((PACKAGE / "platform").rglob("*.py")) if "cli" not in p.relative_to(PACKAGE).parts
             for line in _imports_of(p, "ravebear.optimize")]  # fmt: skip
    wrong += [f"{p.relative_to(PACKAGE)}:{line}" for p in sorted((PACKAGE / "optimize").rglob("*.py")) for line in _imports_of(p, "ravebear.platform.cli")]
    assert wrong == []
