"""The server as clients we did not write see it: the TypeScript SDK 1.x (what Claude Desktop, VS Code,
Cursor and the Inspector are built on), the Python SDK 1.x, and the MCP Inspector CLI.

Each client runs as its own process from its own pinned install (``scripts/install-client-test-deps.sh``)
against ``mcp-invoices serve`` on a temporary sample ledger, over stdio and over streamable HTTP with
a token from ``mcp-invoices token issue``. A driver script lists the tools and resource templates the
server offers, calls every tool with a succeeding and a failing argument set from ``CASES``, reads every
template, and prints what the client saw; these tests judge it. A result our own SDK accepts but one of
these clients rejects is our bug.

Without the installs the tests skip and say how to install them; under CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.test_transports import http_server, issue_token

HERE = Path(__file__).resolve().parent
CUSTOMER = "cus_alice"
MADE_UP_INVOICE = "inv_made_up_0000"

# One argument set that succeeds and one that fails, per tool name, for the sample ledger's cus_alice.
# The drivers iterate over tools/list: a tool the server offers without an entry here fails the suite.
CASES: dict[str, dict[str, Any]] = {
    "list_invoices": {
        "success": {"limit": 5},
        "error": {"cursor": "not-a-cursor"},
        "error_code": "invalid_argument",
    },
    "list_orders": {"success": {}, "error": {"cursor": "not-a-cursor"}, "error_code": "invalid_argument"},
    "get_invoice": {
        "success": {"invoice_id": "ord_1001"},
        "error": {"invoice_id": MADE_UP_INVOICE},
        "error_code": "not_found",
    },
    "generate_invoice": {
        # ord_1003 is paid and not yet invoiced: the first client generates it, the others get it back.
        "success": {"order_id": "ord_1003"},
        "error": {"order_id": "ord_made_up_0000"},
        "error_code": "not_found",
    },
    "summarize_invoice": {
        "success": {"invoice_id": "ord_1002"},
        "error": {"invoice_id": MADE_UP_INVOICE},
        "error_code": "not_found",
    },
    "summarize_invoices": {
        "success": {},
        "error": {"issued_after": "not-a-date"},
        "error_code": "invalid_argument",
    },
    "compare_invoices": {
        "success": {"invoice_id": "ord_1002", "other_invoice_id": "ord_1001"},
        "error": {"invoice_id": MADE_UP_INVOICE},
        "error_code": "not_found",
    },
}
TEMPLATE_VALUES = {"provider": "local", "invoice_id": "ord_1001"}

# client -> (how to run its driver, the install that must exist, the protocol version it negotiates)
CLIENTS: dict[str, tuple[list[str], Path, str]] = {
    "ts-current": (
        ["node", str(HERE / "drive.mjs"), str(HERE / "ts-current")],
        HERE / "ts-current/node_modules",
        "2025-11-25",
    ),
    "ts-old": (
        ["node", str(HERE / "drive.mjs"), str(HERE / "ts-old")],
        HERE / "ts-old/node_modules",
        "2025-03-26",
    ),
    "py-current": (
        [str(REPO / ".venv-clients/py-current/bin/python"), str(HERE / "drive.py")],
        REPO / ".venv-clients/py-current/bin/python",
        "2025-11-25",
    ),
    "py-old": (
        [str(REPO / ".venv-clients/py-old/bin/python"), str(HERE / "drive.py")],
        REPO / ".venv-clients/py-old/bin/python",
        "2025-03-26",
    ),
}
INSPECTOR = HERE / "inspector/node_modules/.bin/mcp-inspector"
INSPECTOR_STRICT = HERE / "inspector-strict/node_modules/.bin/mcp-inspector"
INSPECTOR_TOOL_ERROR_EXIT = 5
"""The Inspector 2.x CLI's exit code for a tool result with isError (a crash would be 1)."""
MCP_REMOTE = HERE / "mcp-remote/node_modules/.bin/mcp-remote"
# (client, transport) sessions; "mcp-remote" = the client over stdio to mcp-remote, which bridges to HTTP
# with the token in --header, as Claude Desktop's configuration for a remote server does.
SESSIONS = [(client, transport) for client in CLIENTS for transport in ("stdio", "http")] + [
    ("ts-current", "mcp-remote")
]
DRIVER_TIMEOUT_SECONDS = 180


def require_installed(path: Path, what: str) -> None:
    """Skip without the client's install, except in CI, where a missing client is a failure."""
    problem = None
    if shutil.which("node") is None and "node_modules" in str(path):
        problem = f"{what} needs node on PATH"
    elif not path.exists():
        problem = (
            f"{what} is not installed ({path.relative_to(REPO)}): run scripts/install-client-test-deps.sh"
        )
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(problem)
    pytest.skip(problem)


# -- the server the clients talk to -----------------------------------------------------------------


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One sample ledger for every client of this module (SQLite: the clients are the subject here)."""
    ledger = tmp_path_factory.mktemp("independent-clients") / "ledger.sqlite3"
    return {"MCP_INVOICES_DB": str(ledger), "MCP_INVOICES_LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def http_endpoint(server_env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """`mcp-invoices serve --transport http` on loopback, and a token for cus_alice from `token issue`."""
    token = issue_token(server_env, "local", CUSTOMER, "--label", "independent clients")
    with http_server(server_env) as url:
        yield url, token


def plan_for(transport: str, server_env: dict[str, str], http: tuple[str, str] | None) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "transport": transport,
        "cases": {name: {"success": case["success"], "error": case["error"]} for name, case in CASES.items()},
        "template_values": TEMPLATE_VALUES,
        "request_timeout_ms": 60_000,
    }
    if transport == "stdio":
        plan |= {
            "command": sys.executable,
            "args": ["-m", "mcp_invoices", "serve"],
            "env": {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
            | server_env
            | {"MCP_INVOICES_CUSTOMER": CUSTOMER},
            "cwd": str(REPO),
        }
    elif transport == "mcp-remote":
        assert http is not None
        plan |= {
            "transport": "stdio",
            "command": str(MCP_REMOTE),
            "args": [http[0], "--header", f"Authorization: Bearer {http[1]}"],
            # mcp-remote keeps OAuth state under its config directory: a throwaway one, never the user's.
            "env": {"MCP_REMOTE_CONFIG_DIR": str(Path(server_env["MCP_INVOICES_DB"]).parent / "mcp-auth")},
            "cwd": str(HERE),
        }
    else:
        assert http is not None
        plan |= {"url": http[0], "token": http[1]}
    return plan


def run_driver(client: str, plan: dict[str, Any]) -> dict[str, Any]:
    command, install, _ = CLIENTS[client]
    require_installed(install, f"the {client} client")
    completed = subprocess.run(
        command,
        input=json.dumps(plan).encode(),
        capture_output=True,
        timeout=DRIVER_TIMEOUT_SECONDS,
        cwd=HERE,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    report: dict[str, Any] = json.loads(completed.stdout)
    assert "fatal" not in report, report["fatal"]
    return report


@pytest.fixture(
    scope="module",
    params=SESSIONS,
    ids=lambda param: f"{param[0]}-{param[1]}",
)
def session(request: pytest.FixtureRequest, server_env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """One client's whole session (every tool twice, every template once), run once per module."""
    client, transport = request.param
    require_installed(CLIENTS[client][1], f"the {client} client")
    if transport == "mcp-remote":
        require_installed(MCP_REMOTE, "mcp-remote")
    http = request.getfixturevalue("http_endpoint") if transport != "stdio" else None
    return client, run_driver(client, plan_for(transport, server_env, http))


def calls(report: dict[str, Any], case: str) -> list[dict[str, Any]]:
    return [call for call in report["calls"] if call["case"] == case]


# -- what every client must see ---------------------------------------------------------------------


def test_each_client_negotiates_the_protocol_version_it_speaks(session: tuple[str, dict[str, Any]]) -> None:
    client, report = session
    assert report["protocol_version"] == CLIENTS[client][2]


def test_every_tool_the_server_lists_has_a_succeeding_and_a_failing_case(
    session: tuple[str, dict[str, Any]],
) -> None:
    _, report = session
    assert report["tools"], "the client saw no tools"
    assert [call["tool"] for call in calls(report, "missing")] == [], "add these tools to CASES"


def test_every_tool_succeeds_without_the_client_raising(session: tuple[str, dict[str, Any]]) -> None:
    _, report = session
    failures = {
        call["tool"]: call.get("exception") or call.get("texts")
        for call in calls(report, "success")
        if "exception" in call or call["is_error"]
    }
    assert failures == {}
    assert {call["tool"] for call in calls(report, "success")} == set(report["tools"])


def test_every_success_text_is_a_summary_line_then_the_whole_result_as_json(
    session: tuple[str, dict[str, Any]],
) -> None:
    _, report = session
    for call in calls(report, "success"):
        summary, _, body = call["texts"][0].partition("\n")
        assert summary and body, call["tool"]
        data = json.loads(body)
        if call["structured"] is not None:
            assert data == call["structured"], call["tool"]


def test_each_client_gets_the_content_types_its_protocol_version_defines(
    session: tuple[str, dict[str, Any]],
) -> None:
    _, report = session
    successes = {call["tool"]: call for call in calls(report, "success")}
    get_invoice = successes["get_invoice"]
    if report["protocol_version"] >= "2025-06-18":
        assert get_invoice["structured"]["id"] == "ord_1001"
        # MCP_INVOICES_DOCUMENT_LINKS=text (default): the documents are named in text, not linked.
        assert get_invoice["content_types"] == ["text", "text"]
        assert "invoice://local/ord_1001/pdf" in get_invoice["texts"][-1]
    else:  # no resource_link and no structuredContent before 2025-06-18: the text carries both
        assert all("resource_link" not in call["content_types"] for call in successes.values())
        assert all(call["structured"] is None for call in successes.values())
        assert "invoice://local/ord_1001/pdf" in " ".join(get_invoice["texts"])


def test_every_tool_error_reaches_the_client_as_an_is_error_result_with_its_code_in_json_text(
    session: tuple[str, dict[str, Any]],
) -> None:
    _, report = session
    seen = {}
    for call in calls(report, "error"):
        assert "exception" not in call, (call["tool"], call["exception"])
        assert call["is_error"] is True, call["tool"]
        assert call["structured"] is None, call["tool"]
        error = json.loads(call["texts"][0])
        assert error["message"], call["tool"]
        seen[call["tool"]] = error["code"]
    assert seen == {tool: CASES[tool]["error_code"] for tool in report["tools"]}


def test_every_resource_template_reads_as_json_and_pdf(session: tuple[str, dict[str, Any]]) -> None:
    _, report = session
    read = {}
    for resource in report["resources"]:
        assert "exception" not in resource, (resource["uri"], resource["exception"])
        (content,) = resource["contents"]
        read[content["mime_type"]] = content
    assert json.loads(read["application/json"]["text"])["id"] == "ord_1001"
    assert read["application/pdf"]["blob_prefix"] == "%PDF-"


# -- the MCP Inspector CLI --------------------------------------------------------------------------


def inspector(target: list[str], *args: str) -> subprocess.CompletedProcess[bytes]:
    require_installed(INSPECTOR, "the MCP Inspector CLI")
    return subprocess.run(
        [str(INSPECTOR), "--cli", *target, *args],
        capture_output=True,
        timeout=DRIVER_TIMEOUT_SECONDS,
        cwd=HERE / "inspector",
    )


@pytest.fixture(scope="module")
def inspector_http(http_endpoint: tuple[str, str]) -> list[str]:
    url, token = http_endpoint
    return [url, "--transport", "http", "--header", f"Authorization: Bearer {token}"]


@pytest.fixture(scope="module")
def inspector_http_calls(
    inspector_http: list[str],
) -> dict[tuple[str, str], subprocess.CompletedProcess[bytes]]:
    """Every tool's two calls, each a separate Inspector CLI run as a person would type it, run side by
    side (each run spends most of its time waiting, not computing)."""
    listed = inspector(inspector_http, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr.decode()[-2000:]
    runs = {}
    for tool in (entry["name"] for entry in json.loads(listed.stdout)["tools"]):
        for case in ("success", "error"):
            arguments = [f"{name}={value}" for name, value in CASES.get(tool, {}).get(case, {}).items()]
            runs[(tool, case)] = [
                *inspector_http,
                "--method",
                "tools/call",
                "--tool-name",
                tool,
                *(["--tool-arg", *arguments] if arguments else []),
            ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {
            key: pool.submit(inspector, args[: len(inspector_http)], *args[len(inspector_http) :])
            for key, args in runs.items()
        }
        return {key: future.result() for key, future in futures.items()}


def test_inspector_lists_every_tool_over_stdio(server_env: dict[str, str]) -> None:
    stdio = [
        "-e",
        f"MCP_INVOICES_DB={server_env['MCP_INVOICES_DB']}",
        "-e",
        f"MCP_INVOICES_CUSTOMER={CUSTOMER}",
        "-e",
        "MCP_INVOICES_LOG_LEVEL=WARNING",
        "--",
        sys.executable,
        "-m",
        "mcp_invoices",
        "serve",
    ]
    completed = inspector(stdio, "--method", "tools/list")
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    tools = {tool["name"] for tool in json.loads(completed.stdout)["tools"]}
    assert tools and tools <= set(CASES)


def _inspector_strict_stdio(server_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    require_installed(INSPECTOR_STRICT, "the MCP Inspector CLI 2.x")
    environment = [f"MCP_INVOICES_DB={server_env['MCP_INVOICES_DB']}", f"MCP_INVOICES_CUSTOMER={CUSTOMER}"]
    return subprocess.run(
        [str(INSPECTOR_STRICT), "--cli", *args, "--format", "json"]
        + [part for pair in environment for part in ("-e", pair)]
        + ["-e", "MCP_INVOICES_LOG_LEVEL=WARNING", "--", sys.executable, "-m", "mcp_invoices", "serve"],
        capture_output=True,
        timeout=DRIVER_TIMEOUT_SECONDS,
        cwd=HERE / "inspector-strict",
    )


def test_inspector_strict_finds_no_schema_portability_problem_in_tools_list(
    server_env: dict[str, str],
) -> None:
    completed = _inspector_strict_stdio(server_env, "--method", "tools/list", "--strict")
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    envelope = json.loads(completed.stdout)
    assert "schemaFindings" not in envelope, envelope.get("schemaFindings")
    assert {tool["name"] for tool in envelope["result"]["tools"]} == set(CASES)


def test_inspector_2_gets_a_made_up_invoice_as_a_tool_error_naming_not_found(
    server_env: dict[str, str],
) -> None:
    completed = _inspector_strict_stdio(
        server_env,
        "--method",
        "tools/call",
        "--tool-name",
        "get_invoice",
        "--tool-arg",
        "invoice_id=INV-1999-9999",
    )
    assert completed.returncode == INSPECTOR_TOOL_ERROR_EXIT, completed.stderr.decode()[-2000:]
    result = json.loads(completed.stdout)["result"]
    assert result["isError"] is True and "structuredContent" not in result
    assert json.loads(result["content"][0]["text"])["code"] == "not_found"


def test_inspector_calls_every_tool_over_http_without_exiting_1(
    inspector_http_calls: dict[tuple[str, str], subprocess.CompletedProcess[bytes]],
) -> None:
    failed = {
        key: run.stderr.decode().split("security fixes only.")[-1][-400:]
        for key, run in inspector_http_calls.items()
        if run.returncode != 0
    }
    assert failed == {}


def test_inspector_sees_every_tools_success_as_a_result(
    inspector_http_calls: dict[tuple[str, str], subprocess.CompletedProcess[bytes]],
) -> None:
    errors = [
        tool
        for (tool, case), run in inspector_http_calls.items()
        if case == "success" and json.loads(run.stdout).get("isError")
    ]
    assert errors == []


def test_inspector_sees_every_failing_call_as_an_is_error_result_with_its_code(
    inspector_http_calls: dict[tuple[str, str], subprocess.CompletedProcess[bytes]],
) -> None:
    codes = {}
    for (tool, case), run in inspector_http_calls.items():
        if case == "error":
            result = json.loads(run.stdout)
            assert result["isError"] is True, tool
            codes[tool] = json.loads(result["content"][0]["text"])["code"]
    assert codes == {tool: CASES[tool]["error_code"] for tool in codes}


def test_inspector_reads_both_resource_templates_over_http(inspector_http: list[str]) -> None:
    mime_types = []
    for uri in ("invoice://local/ord_1001", "invoice://local/ord_1001/pdf"):
        completed = inspector(inspector_http, "--method", "resources/read", "--uri", uri)
        assert completed.returncode == 0, completed.stderr.decode()[-2000:]
        (content,) = json.loads(completed.stdout)["contents"]
        mime_types.append(content["mimeType"])
    assert mime_types == ["application/json", "application/pdf"]


# -- mcp-remote without a header ------------------------------------------------------------------


def test_mcp_remote_without_a_token_stops_with_an_error_that_says_what_to_send(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    """With no authorization server to find (sign-in off: ``MCP_INVOICES_OAUTH=off``), mcp-remote's fallback
    registration is refused, and the refusal it prints tells the person to configure the header instead.
    With sign-in on (the default) it signs in: tests/browser/test_signin_mcp_remote.py."""
    require_installed(MCP_REMOTE, "mcp-remote")
    with http_server(server_env | {"MCP_INVOICES_OAUTH": "off"}) as url:
        _mcp_remote_is_told_what_to_send(url, tmp_path)


def _mcp_remote_is_told_what_to_send(url: str, tmp_path: Path) -> None:
    initialize = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
        '"capabilities":{},"clientInfo":{"name":"test","version":"0"}}}\n'
    )
    process = subprocess.Popen(
        [str(MCP_REMOTE), url],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=os.environ | {"MCP_REMOTE_CONFIG_DIR": str(tmp_path / "mcp-auth"), "BROWSER": "true"},
    )
    assert process.stdin and process.stderr
    process.stdin.write(initialize.encode())
    process.stdin.flush()
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while (
            b"Registration rejected" not in seen or b"after the server URL." not in seen
        ):  # bounded by the deadline
            remaining = deadline - time.monotonic()
            assert remaining > 0, seen.decode()[-2000:]
            if select.select([process.stderr], [], [], remaining)[0]:
                chunk = os.read(process.stderr.fileno(), 65536)
                assert chunk, seen.decode()[-2000:]
                seen += chunk
    finally:
        process.kill()
        process.wait(timeout=30)
    assert b"Authorization: Bearer <token>" in seen and b"mcp-invoices token issue" in seen
    assert b"No bearer token was sent." in seen and b"with mcp-remote, add the arguments --header" in seen
