"""docs/architecture.md cannot go stale: every file it names exists, and every ``path::name`` it
names is defined in that file (issue 24).

Lines marked ``<!-- integrator: check after merge -->`` describe a target shape that work in
progress is putting in place; their paths are checked once the mark is removed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARCHITECTURE = REPO / "docs" / "architecture.md"
PENDING_MARK = "<!-- integrator: check after merge -->"
ROOTS = ("mcp_invoices/", "tests/", "docs/", "scripts/", "examples/", ".ci/")
_CODE = re.compile(r"`([^`\s]+)`")


def named_paths(text: str) -> list[tuple[str, str | None]]:
    """Each ``path`` or ``path::name`` in backticks under a repository root, outside pending lines;
    a ``<placeholder>`` segment (how to add a provider) is not a path."""
    named: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        if PENDING_MARK in line:
            continue
        for token in _CODE.findall(line):
            path, _, name = token.partition("::")
            if path.startswith(ROOTS) and "<" not in path:
                named.append((path, name or None))
    return named


def _defines(source: str, name: str) -> bool:
    pattern = rf"^\s*(?:async\s+def|def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*[:=]"
    return re.search(pattern, source, flags=re.MULTILINE) is not None


def test_the_map_names_files_at_all() -> None:
    assert len(named_paths(ARCHITECTURE.read_text(encoding="utf-8"))) >= 30


@pytest.mark.parametrize(
    ("path", "name"), sorted(set(named_paths(ARCHITECTURE.read_text(encoding="utf-8"))), key=str)
)
def test_every_path_the_architecture_names_exists(path: str, name: str | None) -> None:
    target = REPO / path
    assert target.exists(), f"docs/architecture.md names {path}, which does not exist"
    if name is not None:
        assert _defines(target.read_text(encoding="utf-8"), name), f"{path} defines no {name}"


def test_the_checker_catches_a_stale_path_and_a_stale_name() -> None:
    stale = "See `mcp_invoices/nowhere.py` and `mcp_invoices/server/app.py::no_such_function`."
    assert named_paths(stale) == [
        ("mcp_invoices/nowhere.py", None),
        ("mcp_invoices/server/app.py", "no_such_function"),
    ]
    assert not (REPO / "mcp_invoices/nowhere.py").exists()
    assert not _defines((REPO / "mcp_invoices/server/app.py").read_text(encoding="utf-8"), "no_such_function")
    assert named_paths(f"`mcp_invoices/nowhere.py` {PENDING_MARK}") == []


def test_the_readme_links_it() -> None:
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text(encoding="utf-8")
