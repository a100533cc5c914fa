"""A provider is one folder: its id is spelled only in its own package (issue 24).

Every fact about a provider (its variables, secret prefixes, whether it generates invoices, whether
its credential is one customer's, the name the sign-in pages give it) is derived from its
``ProviderSpec`` (``providers/<id>/spec.py``), listed once in ``providers/catalog.py``. This test
reads every module of the package and fails on a provider id written as a string anywhere else, so a
fact restated by hand cannot come back. Docstrings and comments are prose and are not read.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mcp_invoices.providers.catalog import CATALOG

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "mcp_invoices"
REMOTE_IDS = {entry.id for entry in CATALOG if entry.info.remote}

ALLOWED = {
    # The list of provider packages: the one catalog line per provider.
    "mcp_invoices/providers/catalog.py",
}


def _spellings(provider: str) -> re.Pattern[str]:
    """The id as a word of its own, alone or inside a longer string ("/polar", "local and polar"), and
    as the prefix of a variable's name ("POLAR_BASE_URL"); not inside another word, nor capitalised
    as prose says a provider's name ("a Polar order")."""
    return re.compile(rf"(?<![A-Za-z0-9]){provider}(?![A-Za-z0-9])|(?<![A-Za-z0-9]){provider.upper()}_")


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


def spelled_ids(root: Path = PACKAGE) -> dict[str, list[str]]:
    patterns = {provider: _spellings(provider) for provider in REMOTE_IDS}
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root.parent).as_posix()
        if name in ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in prose:
                continue
            for provider, pattern in patterns.items():
                if not name.startswith(f"mcp_invoices/providers/{provider}/") and pattern.search(node.value):
                    found.setdefault(name, []).append(f"line {node.lineno}: {node.value[:60]!r}")
    return found


def test_no_provider_id_is_spelled_outside_its_own_package_and_the_catalog() -> None:
    assert spelled_ids() == {}, "derive it from the provider's spec (providers.catalog.spec(...))"


def test_the_check_sees_an_id_spelled_by_hand_alone_or_in_a_longer_string(tmp_path: Path) -> None:
    package = tmp_path / "mcp_invoices"
    (package / "providers" / "polar").mkdir(parents=True)
    (package / "providers" / "polar" / "own.py").write_text(
        'ID = "polar"\nMOUNT = "/polar"\n', encoding="utf-8"
    )
    (package / "sandbox.py").write_text(
        '"""Mounts Polar at /polar (prose)."""\n'
        'MOUNT = "/polar"\n'
        'VARIABLE = f"{base}"; NAME = "POLAR_BASE_URL"\n'
        'HINT = "works with the local and polar providers"\n'
        'ID = "bagisto"\n',
        encoding="utf-8",
    )
    (package / "clean.py").write_text(
        'HELP = "serve emulators of Polar, Afternoon, Bagisto and Payabli"\n'
        'NAMES = ("polarity", "bipolar", "POLARIS", "xpayabli_")\n',
        encoding="utf-8",
    )
    assert spelled_ids(package) == {
        "mcp_invoices/sandbox.py": [
            "line 2: '/polar'",
            "line 3: 'POLAR_BASE_URL'",
            "line 4: 'works with the local and polar providers'",
            "line 5: 'bagisto'",
        ]
    }


def spelled_in_assets(root: Path = PACKAGE) -> dict[str, list[str]]:
    """The same check over what the package ships besides Python (the view's HTML and script)."""
    patterns = {provider: _spellings(provider) for provider in REMOTE_IDS}
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix in {".html", ".js", ".css", ".json"}):
        name = path.relative_to(root.parent).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for provider, pattern in patterns.items():
                if not name.startswith(f"mcp_invoices/providers/{provider}/") and pattern.search(line):
                    found.setdefault(name, []).append(f"line {number}: {line.strip()[:60]!r}")
    return found


def test_no_provider_id_is_spelled_in_the_packages_html_or_scripts() -> None:
    """The view names a provider as its data says (``invoice_view_data``'s ``provider_name``)."""
    assert spelled_in_assets() == {}, "send it with the view's data, from the provider's spec"


def test_the_asset_check_sees_a_provider_map_written_into_a_view(tmp_path: Path) -> None:
    package = tmp_path / "mcp_invoices"
    (package / "views").mkdir(parents=True)
    (package / "views" / "view.html").write_text(
        '<p>Polar and Payabli, in prose</p>\n<script>const NAMES = { polar: "Polar" };</script>\n',
        encoding="utf-8",
    )
    assert spelled_in_assets(package) == {
        "mcp_invoices/views/view.html": ["line 2: '<script>const NAMES = { polar: \"Polar\" };</script>'"]
    }


def test_the_catalog_is_one_package_per_provider_each_declaring_its_own_spec() -> None:
    for entry in CATALOG:
        assert (PACKAGE / "providers" / entry.id / "spec.py").is_file(), entry.id
    for entry in (entry for entry in CATALOG if entry.info.remote):
        assert entry.factory.startswith(f"mcp_invoices.providers.{entry.id}."), entry.factory
        assert entry.emulator.startswith(f"mcp_invoices.providers.{entry.id}."), entry.emulator


def test_each_remote_provider_names_its_emulator_and_the_mounts_do_not_overlap() -> None:
    """The sandbox mounts what the specs name (``ProviderSpec.emulator``): each an ``Emulator``."""
    from mcp_invoices.providers.emulation.emulator import Emulator

    mounts = []
    for entry in (entry for entry in CATALOG if entry.info.remote):
        declared = entry.emulation()
        assert isinstance(declared, Emulator), entry.emulator
        assert declared.mount.startswith("/") and not declared.mount.endswith("/"), declared.mount
        mounts.append(declared.mount)
    assert not [a for a in mounts for b in mounts if a != b and (a + "/").startswith(b + "/")]


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
