"""The README for the person arriving (issue 22): the way in comes first, and what it says a command
does is what the command does."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
HEADINGS = re.findall(r"^## (.+)$", README, flags=re.MULTILINE)
MCP_INVOICES = [sys.executable, "-m", "mcp_invoices"]


def _line_of(text: str) -> int:
    return README[: README.index(text)].count("\n") + 1


def test_the_first_screen_says_what_it_is_shows_it_and_gives_both_copy_paste_commands() -> None:
    assert _line_of("![") < 20, "a picture of the view in the first screen"
    assert _line_of("pip install . && mcp-invoices demo") < 30
    assert _line_of('pip install -e ".[test]" && pytest') < 30


def test_adding_it_to_an_assistant_comes_right_after_install_and_names_every_host() -> None:
    assert HEADINGS[0] == "Add it to your assistant"
    section = README.split("## Add it to your assistant", 1)[1].split("\n## ", 1)[0]
    for host in ("Claude Desktop", "Claude Code", "VS Code", "Cursor", "Windsurf"):
        assert f"**{host}" in section, host
    assert '"command": "mcp-invoices"' in section and "http://127.0.0.1:8000/mcp" in section  # stdio and HTTP


def test_the_performance_section_is_one_table_and_the_history_lives_with_the_benchmarks() -> None:
    section = README.split("## Performance", 1)[1].split("\n## ", 1)[0]
    assert section.count("\n| ") >= 10 and "tests/bench/README.md" in section
    assert "What each change bought" not in section
    assert "What each change bought" in (REPO / "tests" / "bench" / "README.md").read_text(encoding="utf-8")


def test_every_picture_in_the_readme_is_one_the_browser_tests_draw() -> None:
    names = re.findall(r"docs/screenshots/([\w.-]+\.png)", README)
    assert names
    for name in names:
        # tests/browser/test_views_in_browser.py::show names each view shot scenario-provider-theme[-Npx].png;
        # tests/browser/test_signin_in_browser.py names each sign-in page signin-page-theme.png.
        assert re.fullmatch(
            r"(invoice|generated|summary|comparison)-(local|payabli)-(light|dark)(-\d+px)?\.png", name
        ) or re.fullmatch(r"signin-(email|code-error|consent)-(light|dark)\.png", name), name
        assert (REPO / "docs" / "screenshots" / name).is_file(), name


@pytest.mark.parametrize(
    "command",
    sorted(set(re.findall(r"^(?:\$ )?mcp-invoices ((?:token )?[a-z]+)", README, flags=re.MULTILINE))),
)
def test_every_cli_command_the_readme_shows_exists(command: str) -> None:
    done = subprocess.run(
        [*MCP_INVOICES, *command.split(), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_serve_over_http_prints_what_the_readme_says(tmp_path: Path) -> None:
    """The README's "logs ... listening on http://127.0.0.1:8000/mcp (streamable HTTP)", on a free port."""
    documented = re.search(r'"(listening on http://127\.0\.0\.1:8000/mcp \(streamable HTTP\))"', README)
    assert documented, "the README shows what serve --transport http logs"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    expected = documented.group(1).replace(":8000/", f":{port}/")
    env = {**os.environ, "MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3")}
    server = subprocess.Popen(
        [*MCP_INVOICES, "serve", "--transport", "http", "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            seen.append(line)
            if expected in line:
                found.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert found.wait(timeout=60), "".join(seen)[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=20)
