"""The public surface: tools/list snapshot, CLI help, and the demo as a newcomer runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from mcp_invoices.cli import main
from tests.conftest import REPO, local_client

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_local.json"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


async def test_tools_list_matches_the_snapshot(ledger_path: Path) -> None:
    """An accidental change to a tool's name, schema, annotations or _meta (its view) fails here.

    After an intended change: UPDATE_SNAPSHOTS=1 pytest tests/test_surface.py, and review the diff.
    """
    async with local_client(ledger_path) as client:
        tools = (await client.list_tools()).tools
    current = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    if not SNAPSHOT.exists() and IN_CI:
        pytest.fail(
            f"{SNAPSHOT.name} is missing: run UPDATE_SNAPSHOTS=1 pytest tests/test_surface.py and commit it."
        )
    if UPDATE or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


async def test_tool_annotations_are_those_of_the_product_contract(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    read_tools = (
        "list_invoices",
        "list_orders",
        "get_invoice",
        "summarize_invoice",
        "summarize_invoices",
        "compare_invoices",
    )
    for name in read_tools:
        assert tools[name].annotations.read_only_hint is True
        assert tools[name].annotations.open_world_hint is False  # local only: nothing outside the process
    generate = tools["generate_invoice"].annotations
    assert (generate.read_only_hint, generate.destructive_hint, generate.idempotent_hint) == (
        False,
        False,
        True,
    )
    assert all(tool.output_schema and tool.output_schema["type"] == "object" for tool in tools.values())


async def test_no_tool_takes_a_customer_or_account_argument(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert not {"customer", "customer_id", "account", "tenant"} & set(
            tool.input_schema.get("properties", {})
        )


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["demo", "--help"]])
def test_every_command_explains_itself(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "usage: mcp-invoices" in capsys.readouterr().out


def test_demo_walks_the_whole_flow_and_leaves_a_pdf(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mcp_invoices", "demo", "--out", str(tmp_path)],
        capture_output=True,
        timeout=120,
        cwd=REPO,
    )
    output = completed.stdout.decode()
    assert completed.returncode == 0, completed.stderr.decode()
    for step in (
        "list_orders",
        "generate_invoice",
        "get_invoice",
        "summarize_invoice",
        "compare_invoices",
        "read_resource",
    ):
        assert step in output
    pdfs = list(tmp_path.glob("*.pdf"))
    assert len(pdfs) == 1 and f"PDF written to {pdfs[0]}" in output
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdfs[0]).pages)
    assert pdfs[0].stem in text
