"""A provider is one folder: its id is spelled only in its own package (issue 24).

Every fact about a provider (its variables, secret prefixes, whether it generates invoices, whether
its credential is one customer's, the name the sign-in pages give it) is derived from its
``ProviderSpec`` (``providers/<id>/spec.py``), listed once in ``providers/catalog.py``. This test
reads every module of the package and fails on a provider id written as a string anywhere else, so a
fact restated by hand cannot come back. Docstrings and comments are prose and are not read.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mcp_invoices.providers.catalog import CATALOG

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "mcp_invoices"
REMOTE_IDS = {entry.id for entry in CATALOG if entry.info.remote}

ALLOWED = {
    # The list of provider packages: the one catalog line per provider.
    "mcp_invoices/providers/catalog.py",
    # Still spelled by hand, each with the reason (issue 24, open): the sandbox mounts each emulator
    # and names its environment variables; moving that onto a per-emulator registration is next.
    "mcp_invoices/sandbox/__init__.py",
}


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            ids.add(id(node.value))  # attribute docstrings
    return ids


def spelled_ids() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in prose:
                continue
            for provider in REMOTE_IDS:
                own = f"mcp_invoices/providers/{provider}/"
                if node.value == provider and not name.startswith(own) and name not in ALLOWED:
                    found.setdefault(name, []).append(f"line {node.lineno}: {provider!r}")
    return found


def test_no_provider_id_is_spelled_outside_its_own_package_and_the_catalog() -> None:
    assert spelled_ids() == {}, "derive it from the provider's spec (providers.catalog.spec(...))"


def test_the_check_sees_an_id_spelled_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.ALLOWED", {"mcp_invoices/providers/catalog.py"})
    assert "mcp_invoices/sandbox/__init__.py" in spelled_ids()


def test_the_catalog_is_one_package_per_provider_each_declaring_its_own_spec() -> None:
    for entry in CATALOG:
        assert (PACKAGE / "providers" / entry.id / "spec.py").is_file(), entry.id
    for entry in (entry for entry in CATALOG if entry.info.remote):
        assert entry.factory.startswith(f"mcp_invoices.providers.{entry.id}."), entry.factory


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return {name for name in names if name.startswith("mcp_invoices")}


def test_the_specs_are_leaves_below_configuration_and_the_providers() -> None:
    """Layers run one way: specs and ``ConfigError`` import nothing of ours (but the spec types), so both
    ``config.py`` and the providers can stand on them without a cycle."""
    leaves = [PACKAGE / "errors.py", PACKAGE / "providers" / "spec.py", *PACKAGE.glob("providers/*/spec.py")]
    for leaf in leaves:
        assert _imports(leaf) <= {"mcp_invoices.providers.spec"}, leaf
    assert not {name for name in _imports(PACKAGE / "providers" / "catalog.py") if "config" in name}
