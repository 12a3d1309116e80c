"""The order-flow detectors stay pure: no nautilus and no other RaveBear layer, so actors and research share them as is."""

import ast
from pathlib import Path

import ravebear.strategies.microstructure as package

ALLOWED = ("ravebear.strategies.microstructure", "ravebear.time_units", "ravebear.ranges")


def test_microstructure_imports_only_the_standard_library_and_its_own_modules():
    files = sorted(Path(package.__file__).parent.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith("nautilus_trader"), f"{path.name} imports {name}"
                if name.startswith("ravebear"):
                    assert name.startswith(ALLOWED), f"{path.name} imports {name}"
                else:
                    assert name.split(".")[0] in {"__future__", "collections", "dataclasses", "enum", "functools", "heapq", "math", "typing"}, f"{path.name} imports {name}"
