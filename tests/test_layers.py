"""The package's layers: which folder may import what.

``contract/`` is the contract as data and knows nothing else; ``checking/`` reads and judges
artifacts; ``record/`` builds, merges and shows the evidence record; ``producer/`` writes
artifacts (and checks its own output); ``testing/`` builds trees and faults for tests;
``plugin/`` is the only part that talks to pytest.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "pytest_torghut_rollout"
NAME = "pytest_torghut_rollout"
#: The folders each folder may import from (besides itself and the package root's version).
ALLOWED: dict[str, frozenset[str]] = {
    "contract": frozenset(),
    "checking": frozenset({"contract"}),
    "record": frozenset({"contract", "checking"}),
    "producer": frozenset({"contract", "checking"}),
    "testing": frozenset({"contract", "checking", "producer"}),
    "plugin": frozenset({"contract", "checking", "record"}),
}


def imported_modules(path: Path, root: Path = PACKAGE.parent) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it (functions too), as an absolute dotted name."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    package = parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def modules_in(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_a_folder_imports_only_the_layers_below_it(folder: str) -> None:
    allowed = ALLOWED[folder] | {folder}
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in modules_in(folder)
        for line, module in imported_modules(path)
        if module.startswith(f"{NAME}.") and module.split(".")[1] in ALLOWED and module.split(".")[1] not in allowed
    ]
    assert not wrong, wrong


def test_only_the_plugin_folder_imports_pytest() -> None:
    outside = [p for p in PACKAGE.rglob("*.py") if "plugin" not in p.relative_to(PACKAGE).parts]
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in outside
        for line, module in imported_modules(path)
        if module.split(".")[0] in ("pytest", "_pytest")
    ]
    assert not wrong, wrong


def test_the_check_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    module = tmp_path / NAME / "checking" / "hidden.py"
    module.parent.mkdir(parents=True)
    module.write_text("def f():\n    from _pytest import nodes\n    from ..plugin import items\n", encoding="utf-8")
    found = {name for _, name in imported_modules(module, root=tmp_path)}
    assert "_pytest" in found
    assert f"{NAME}.plugin.items" in found
