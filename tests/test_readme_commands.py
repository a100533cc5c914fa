"""Every command the README shows, taken from its shell blocks, is run or checked here (issue 22).

The list is not written here: it is read from the README's ```bash blocks, and each command is
handled by its first word. A command of a kind this file does not know fails
``test_every_command_in_the_readme_is_one_this_file_checks`` until it is given a check, so the
README cannot show a command nobody tried.

- ``mcp-invoices …``: parsed by the CLI's own parser (every subcommand, flag and value as written);
  those that finish on their own are also run on a fresh ledger, and what the README says they print
  (a ``# prints …`` comment under them) is what they print. ``serve`` over HTTP is run by
  ``tests/test_readme.py``; ``demo`` by ``tests/test_examples.py``.
- ``python3 -m venv``, ``.``, ``pip install``, ``pytest``: the two copy-paste commands, which ``.ci/run``
  runs on a fresh machine; here the extras and markers they name exist.
- ``claude mcp add``: a host's CLI, not ours; the server command it embeds is parsed by our CLI and
  the variables it sets are documented settings.
- ``export``: the variable is a documented setting, or one the test suite reads.
- ``python -c``: run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mcp_invoices.cli import _parser

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
MCP_INVOICES = [sys.executable, "-m", "mcp_invoices"]


def _commands() -> list[tuple[str, str]]:
    """(command, what the README says it prints: the text after a following ``# prints``, or "")."""
    found: list[tuple[str, str]] = []
    for block in re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", README, flags=re.DOTALL):
        lines = block.splitlines()
        for index, line in enumerate(lines):
            text = re.sub(r"\s+#\s.*$", "", line).strip()
            if not text or text.startswith("#"):
                continue
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            prints = re.match(r"#\s*prints\s+(\S+)", following)
            for command in text.split("&&"):
                found.append((command.strip(), prints.group(1) if prints else ""))
    return found


COMMANDS = _commands()


def _kind(command: str) -> str:
    words = shlex.split(command)
    if words[:1] == ["mcp-invoices"]:
        return "ours"
    if words[:3] == ["python3", "-m", "venv"] or words[:1] in (["."], ["pip"], ["pytest"]):
        return "install"
    if words[:3] == ["claude", "mcp", "add"]:
        return "host"
    if words[:1] == ["export"]:
        return "export"
    if words[:2] == ["python", "-c"]:
        return "python"
    return "unknown"


def _documented_settings() -> set[str]:
    return set(re.findall(r"`((?:MCP_INVOICES|POLAR|AFTERNOON|BAGISTO|PAYABLI)_[A-Z_]+)`", README))


def test_every_command_in_the_readme_is_one_this_file_checks() -> None:
    assert len(COMMANDS) >= 15, "the README's shell blocks were not found"
    unknown = [command for command, _ in COMMANDS if _kind(command) == "unknown"]
    assert unknown == [], "give these README commands a check in this file"


@pytest.mark.parametrize("command", sorted({c for c, _ in COMMANDS if _kind(c) == "ours"}))
def test_each_mcp_invoices_command_parses_as_written(command: str) -> None:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        try:
            _parser().parse_args(shlex.split(command)[1:])
        except SystemExit as exit:  # argparse's way of refusing
            pytest.fail(f"{command!r}: {errors.getvalue() or exit}")


def test_the_commands_that_finish_do_what_the_readme_says(tmp_path: Path) -> None:
    """``token issue`` and ``migrate`` on a fresh ledger; ``migrate --check`` passes once migrated."""
    env = {**os.environ, "MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3")}
    env.pop("MCP_INVOICES_DATABASE_URL", None)
    runnable = [
        (c, p) for c, p in COMMANDS if _kind(c) == "ours" and shlex.split(c)[1] in ("token", "migrate")
    ]
    assert {shlex.split(c)[1] for c, _ in runnable} == {"token", "migrate"}
    for command, prints in sorted(runnable, key=lambda pair: "--check" in pair[0]):
        done = subprocess.run(
            [*MCP_INVOICES, *shlex.split(command)[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
        assert done.returncode == 0, f"{command}: {done.stderr[-2000:]}"
        if prints:
            assert done.stdout.strip().startswith(prints.rstrip(".")), f"{command} prints {done.stdout!r}"


def test_the_install_commands_name_extras_and_markers_that_exist() -> None:
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    markers = {line.split(":")[0] for line in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]}
    installs = [c for c, _ in COMMANDS if _kind(c) == "install"]
    named = {extra for c in installs for extra in re.findall(r"\.\[([a-z]+)\]", c)}
    assert named and named <= extras, named - extras
    for command in installs:
        words = shlex.split(command)
        if words[0] == "pytest" and "-m" in words:
            assert words[words.index("-m") + 1] in markers


def test_a_hosts_command_starts_our_server_with_documented_settings() -> None:
    hosts = [c for c, _ in COMMANDS if _kind(c) == "host"]
    assert hosts
    settings = _documented_settings()
    for command in hosts:
        words = shlex.split(command)
        for value in (words[i + 1] for i, word in enumerate(words) if word == "--env"):
            assert value.split("=")[0] in settings, value
        if "--" in words:
            server = words[words.index("--") + 1 :]
            assert server[0] == "mcp-invoices"
            _parser().parse_args(server[1:])
        else:
            assert re.search(r"http://127\.0\.0\.1:\d+/mcp", command), command


def test_each_exported_variable_is_a_setting_the_readme_documents_or_the_tests_read() -> None:
    settings = _documented_settings()
    test_settings = {"MCP_INVOICES_TEST_DATABASE_URL", "MCP_INVOICES_TEST_REDIS_URL"}
    for command in (c for c, _ in COMMANDS if _kind(c) == "export"):
        name = shlex.split(command)[1].split("=")[0]
        assert name in settings | test_settings, name
        for script in re.findall(r"\$\((scripts/[\w.-]+)", command):
            assert (REPO / script).is_file(), script


def test_the_python_one_liners_run() -> None:
    for command in (c for c, _ in COMMANDS if _kind(c) == "python"):
        done = subprocess.run(
            [sys.executable, *shlex.split(command)[1:]], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0 and done.stdout.strip(), command
