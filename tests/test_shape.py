"""Module and function sizes (issue 24): no module in ``mcp_invoices/`` over 450 lines and no function
over 60, apart from the allow-list below (the emulators' seed tables and the migrations).
"""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "mcp_invoices"
MODULE_LINES = 450
FUNCTION_LINES = 60

SEED_TABLES = "mcp_invoices/providers/*/emulator/seed.py"
"""The emulators' seed data: one literal row per seeded invoice or order, read as a table (functions
there may be long; the module is still held to ``MODULE_LINES``). Any provider's, by its place."""
ALLOWED_UNDER = (
    # Migrations are frozen history: a migration is never edited (nor split) once released.
    "mcp_invoices/storage/migrations/versions/",
)


def _functions(node: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    """Every function under ``node`` as (qualified name, lines from ``def`` to its last line)."""
    found: list[tuple[str, int]] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            assert child.end_lineno is not None
            found.append((prefix + child.name, child.end_lineno - child.lineno + 1))
            found += _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            found += _functions(child, f"{prefix}{child.name}.")
    return found


def oversized(root: Path = PACKAGE) -> dict[str, int]:
    """Each module over ``MODULE_LINES`` and function over ``FUNCTION_LINES`` outside the allow-list."""
    sizes: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root.parent).as_posix()
        if name.startswith(ALLOWED_UNDER):
            continue
        source = path.read_text(encoding="utf-8")
        if (lines := len(source.splitlines())) > MODULE_LINES:
            sizes[name] = lines
        for function, length in _functions(ast.parse(source)):
            if length > FUNCTION_LINES and not fnmatch.fnmatchcase(name, SEED_TABLES):
                sizes[f"{name}::{function}"] = length
    return sizes


def test_no_module_or_function_is_too_long() -> None:
    assert oversized() == {}, "split it (or, for seed data or a migration, allow-list it with the reason)"


def test_the_allow_list_names_what_exists() -> None:
    seeds = [path for path in REPO.glob(SEED_TABLES) if path.is_file()]
    assert len(seeds) >= 4, "every emulated provider keeps its seed in emulator/seed.py"
    assert all((REPO / under).is_dir() for under in ALLOWED_UNDER)


def test_the_measure_sees_a_long_module_and_a_long_function(tmp_path: Path) -> None:
    package = tmp_path / "mcp_invoices"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    (package / "long.py").write_text(f"def long():\n{body}\n" + "\n" * MODULE_LINES, encoding="utf-8")
    (package / "short.py").write_text("def short():\n    return 1\n", encoding="utf-8")
    assert oversized(package) == {
        "mcp_invoices/long.py": FUNCTION_LINES + 1 + MODULE_LINES,
        "mcp_invoices/long.py::long": FUNCTION_LINES + 1,
    }
