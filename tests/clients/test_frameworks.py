"""The server as agent frameworks see it, each from its own pinned install: the OpenAI Agents SDK,
LangChain's MCP adapters with ``langchain-openai``, Pydantic AI and fastmcp.

``scripts/install-client-test-deps.sh`` installs them into ``.venv-clients/frameworks``
(``tests/clients/frameworks/requirements.txt``); the scripts beside that file run in it and report JSON,
which these tests judge. Without the install the tests skip and say how to install it; under CI
(``CI=true``) they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clients.test_independent_clients import CUSTOMER, require_installed
from tests.conftest import REPO

HERE = Path(__file__).resolve().parent
FRAMEWORKS = HERE / "frameworks"
PYTHON = REPO / ".venv-clients/frameworks/bin/python"
TIMEOUT_SECONDS = 180


def run_script(script: str, plan: dict[str, Any]) -> dict[str, Any]:
    """``script`` (beside the frameworks' requirements) with the frameworks' interpreter; its JSON report."""
    require_installed(PYTHON, "the agent frameworks")
    completed = subprocess.run(
        [str(PYTHON), str(FRAMEWORKS / script)],
        input=json.dumps(plan).encode(),
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
        cwd=FRAMEWORKS,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def stdio_plan(ledger: Path) -> dict[str, Any]:
    """``mcp-invoices serve`` over stdio for cus_alice on a sample ledger, as a host launches it."""
    return {
        "command": sys.executable,
        "args": ["-m", "mcp_invoices", "serve"],
        "env": {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "MCP_INVOICES_DB": str(ledger),
            "MCP_INVOICES_CUSTOMER": CUSTOMER,
            "MCP_INVOICES_LOG_LEVEL": "WARNING",
        },
        "cwd": str(REPO),
    }


# -- strict schemas ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ledger = tmp_path_factory.mktemp("frameworks-schemas") / "ledger.sqlite3"
    report = run_script("schemas.py", stdio_plan(ledger))
    assert report["tools"], "the Agents SDK listed no tools"
    return report


def test_every_tool_stays_strict_in_the_openai_agents_sdk(schema_report: dict[str, Any]) -> None:
    """The Agents SDK makes an MCP tool non-strict, silently, when its schema cannot be converted: a
    ``$ref`` into ``$defs`` (``generate_invoice``'s ``billing_address``) was such a schema."""
    not_strict = {
        name: tool["agents_error"]
        for name, tool in schema_report["tools"].items()
        if not tool["agents_strict"]
    }
    assert not_strict == {}


def test_pydantic_ais_openai_transformer_accepts_every_tool_in_strict_mode(
    schema_report: dict[str, Any],
) -> None:
    refused = {
        name: tool["pydantic_ai_openai_error"]
        for name, tool in schema_report["tools"].items()
        if not tool["pydantic_ai_openai_strict"]
    }
    assert refused == {}


def _property_tree(schema: Any) -> Any:
    """The names of every property at every depth (through anyOf and items): what a converter must keep."""
    if isinstance(schema, list):
        return [_property_tree(item) for item in schema]
    if not isinstance(schema, dict):
        return None
    tree: dict[str, Any] = {}
    for key in ("anyOf", "items"):
        if key in schema:
            tree[key] = _property_tree(schema[key])
    if isinstance(schema.get("properties"), dict):
        tree["properties"] = {name: _property_tree(value) for name, value in schema["properties"].items()}
    return tree


def test_every_tool_reaches_gemini_through_pydantic_ai_whole_and_without_references(
    schema_report: dict[str, Any],
) -> None:
    for name, tool in schema_report["tools"].items():
        sent = tool["pydantic_ai_google"]
        assert "$ref" not in json.dumps(sent) and "$defs" not in sent, name
        assert _property_tree(sent) == _property_tree(tool["input_schema"]), name


def test_the_servers_input_schemas_are_self_contained(schema_report: dict[str, Any]) -> None:
    for name, tool in schema_report["tools"].items():
        assert "$ref" not in json.dumps(tool["input_schema"]) and "$defs" not in tool["input_schema"], name
