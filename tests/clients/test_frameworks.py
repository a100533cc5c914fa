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


def test_every_tool_stays_strict_through_langchains_chatopenai(schema_report: dict[str, Any]) -> None:
    """``ChatOpenAI.bind_tools(tools, strict=True)`` converts each tool with langchain-core; what it sends
    must keep OpenAI's strict rules (closed objects, every property required, no ``$ref``)."""
    refused = {
        name: tool["langchain_openai_error"]
        for name, tool in schema_report["tools"].items()
        if not tool["langchain_openai_strict"]
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


# -- a get_invoice -> model request round in each framework -----------------------------------------

EXAMPLES = REPO / "examples/frameworks"
FRAMEWORK_EXAMPLES = ["openai_agents.py", "langchain_agent.py", "pydantic_ai_agent.py", "fastmcp_client.py"]
PDF_BASE64_PREFIX = "JVBERi0"  # "%PDF-" in base64: a PDF inlined into a model request


@pytest.fixture(scope="module")
def invoice_ord_1001(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """ord_1001 as the server's own SDK client gets it: what every framework's model must be shown."""
    import anyio

    from tests.conftest import local_client

    async def fetch() -> dict[str, Any]:
        async with local_client(tmp_path_factory.mktemp("ord-1001") / "ledger.sqlite3") as client:
            result = await client.call_tool("get_invoice", {"invoice_id": "ord_1001"})
        assert result.structured_content is not None
        return result.structured_content

    return anyio.run(fetch)


def run_example(example: str, model_url: str, ledger: Path) -> subprocess.CompletedProcess[bytes]:
    require_installed(PYTHON, "the agent frameworks")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "OPENAI_BASE_URL": f"{model_url}/v1",
        "OPENAI_API_KEY": "sk-stand-in",
        "MCP_INVOICES_COMMAND": json.dumps([sys.executable, "-m", "mcp_invoices", "serve"]),
        "MCP_INVOICES_DB": str(ledger),
        "MCP_INVOICES_CUSTOMER": CUSTOMER,
        "MCP_INVOICES_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [str(PYTHON), str(EXAMPLES / example)],
        capture_output=True,
        timeout=TIMEOUT_SECONDS,
        env=env,
        cwd=REPO,
    )


@pytest.mark.parametrize("example", FRAMEWORK_EXAMPLES)
async def test_each_framework_hands_get_invoice_to_the_model_api_and_the_request_is_accepted(
    example: str, tmp_path: Path, invoice_ord_1001: dict[str, Any]
) -> None:
    import anyio.to_thread

    from mcp_invoices.providers.emulation import running_app
    from tests.clients.model_standin import ModelStandIn

    stand_in = ModelStandIn()
    async with running_app(stand_in.app) as model_url:
        completed = await anyio.to_thread.run_sync(
            run_example, example, model_url, tmp_path / "ledger.sqlite3"
        )
    assert completed.returncode == 0, completed.stderr.decode()[-3000:]
    assert stand_in.refused == []
    assert "line by line" in completed.stdout.decode()
    final = stand_in.accepted[-1]
    tool_messages = [message for message in final["messages"] if message["role"] == "tool"]
    assert tool_messages, final["messages"]
    seen = json.dumps(tool_messages, ensure_ascii=False)
    for amount in ("total", "amount_due"):
        assert str(invoice_ord_1001[amount]) in seen, amount
    for line in invoice_ord_1001["line_items"]:
        assert line["description"] in seen and str(line["total"]) in seen, line
    assert "invoice://local/ord_1001/pdf" in seen  # the PDF is named, one resources/read away
    assert PDF_BASE64_PREFIX not in json.dumps(stand_in.accepted), "a PDF was inlined into a model request"
    if example == "openai_agents.py":  # every tool went to the model strict (see the schema tests above)
        tools = stand_in.accepted[0]["tools"]
        assert tools and all(tool["function"].get("strict") is True for tool in tools), tools


# -- every tool, an error, the resources and the prompt as each framework hands them on ---------------

SURFACE_FRAMEWORKS = ["openai-agents", "langchain", "pydantic-ai", "fastmcp"]
INVOICE_URI = "invoice://local/ord_1001"
PDF_URI = "invoice://local/ord_1001/pdf"


@pytest.fixture(scope="module", params=SURFACE_FRAMEWORKS)
def surface(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    from tests.clients.test_independent_clients import CASES

    framework: str = request.param
    plan = stdio_plan(tmp_path_factory.mktemp(f"surface-{framework}") / "ledger.sqlite3") | {
        "framework": framework,
        "cases": {name: {"success": case["success"], "error": case["error"]} for name, case in CASES.items()},
        "resources": [INVOICE_URI, PDF_URI],
        "prompt_arguments": {"invoice_id": "ord_1002"},
    }
    return framework, run_script("surface.py", plan)


def test_each_framework_lists_and_calls_every_tool(surface: tuple[str, dict[str, Any]]) -> None:
    from tests.clients.test_independent_clients import CASES

    _, report = surface
    assert sorted(report["tools"]) == sorted(CASES)
    for name, calls in report["calls"].items():
        shown = calls["success"]
        assert "raised" not in shown and shown["shown"], (name, shown)
        assert '"code":"' not in shown["shown"].replace(" ", "")[:40], (name, shown)


def test_each_framework_shows_the_model_our_error_code(surface: tuple[str, dict[str, Any]]) -> None:
    from tests.clients.test_independent_clients import CASES

    _, report = surface
    for name, calls in report["calls"].items():
        shown = calls["error"]["shown"].replace('\\"', '"')
        assert f'"code":"{CASES[name]["error_code"]}"' in shown.replace(" ", ""), (name, calls["error"])
        assert '"hint":' in shown.replace(" ", ""), (name, calls["error"])


def test_each_framework_reads_the_invoice_resource(surface: tuple[str, dict[str, Any]]) -> None:
    _, report = surface
    read = report["resources"][INVOICE_URI]
    assert "raised" not in read and "INV-2026-0003" in read["shown"] and "ord_1001" in read["shown"], read


def test_each_framework_reads_the_pdf_resource_but_langchains_adapter(
    surface: tuple[str, dict[str, Any]],
) -> None:
    """langchain-mcp-adapters 0.3.2's get_resources decodes a blob as UTF-8 text and raises on a PDF
    (the adapter's limitation, not the server's: the others get the same bytes)."""
    framework, report = surface
    read = report["resources"][PDF_URI]
    if framework == "langchain":
        assert read.get("raised") == "UnicodeDecodeError", read
    else:
        assert "raised" not in read and PDF_BASE64_PREFIX in read["shown"], read


def test_each_framework_gets_the_prompt(surface: tuple[str, dict[str, Any]]) -> None:
    _, report = surface
    prompt = report["prompt"]
    assert (
        "raised" not in prompt and "ord_1002" in prompt["shown"] and "compare_invoices" in prompt["shown"]
    ), prompt
