"""The layout of ``tests/``: folders that say what they hold, test modules that share code
only through ``tests.support``."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

TESTS = ROOT / "tests"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_test_modules_import_no_other_test_module() -> None:
    """A helper two test files need lives in tests/support, not in one of them; and the
    support package never reaches back into the tests."""
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in imported_modules(path):
            leaf = module.rsplit(".", 1)[-1]
            if module.startswith("tests.") and (leaf.startswith("test_") or leaf == "conftest"):
                offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_every_folder_says_what_it_holds() -> None:
    folders = [p for p in TESTS.rglob("*") if p.is_dir() and p.name != "__pycache__"]
    assert len(folders) >= 10
    undocumented = []
    for folder in [TESTS, *folders]:
        init = folder / "__init__.py"
        text = init.read_text(encoding="utf-8") if init.is_file() else ""
        if not text or ast.get_docstring(ast.parse(text)) is None:
            undocumented.append(str(folder.relative_to(ROOT)))
    assert undocumented == []


def test_every_test_module_sits_in_a_folder_of_its_kind() -> None:
    kinds = {"unit", "emulator", "flows", "e2e", "browser"}
    loose = [
        str(path.relative_to(ROOT))
        for path in TESTS.rglob("test_*.py")
        if path.relative_to(TESTS).parts[0] not in kinds
    ]
    assert loose == []
    assert {p.name for p in TESTS.iterdir() if p.is_dir()} >= kinds | {"support"}
