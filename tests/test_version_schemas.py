"""Each handshake version's answers validate against that version's own schema, extra fields forbidden.

The schemas are the specification's (``tests/schemas/mcp/<version>/schema.json``, see the README
there). A client generated from an older schema (or validating against it strictly) rejects a field
its version does not define, so every object definition is closed (``additionalProperties: false``)
except where the specification leaves it open on purpose: JSON Schemas of tool inputs and outputs,
``_meta`` and other maps that already say what they allow.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import REPO, local_client
from tests.test_protocol_versions import RawStdioSession

SCHEMAS = REPO / "tests/schemas/mcp"
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
OPEN_ON_PURPOSE = frozenset({"inputSchema", "outputSchema", "structuredContent", "_meta", "data"})
"""Properties whose value is the peer's own JSON (a JSON Schema, a structured result, metadata, error
data): closing them would judge our payload, not the protocol."""


def _close(node: Any) -> Any:
    """Every object definition without an ``additionalProperties`` of its own gets ``false``."""
    if isinstance(node, list):
        return [_close(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _close(value) for key, value in node.items() if key != "properties"}
    if isinstance(node.get("properties"), dict):
        closed["properties"] = {
            name: value if name in OPEN_ON_PURPOSE else _close(value)
            for name, value in node["properties"].items()
        }
        closed.setdefault("additionalProperties", False)
    return closed


@cache
def _closed_schema(version: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / version / "schema.json").read_text())
    return _close(schema)  # type: ignore[no-any-return]


def violations(version: str, definition: str, instance: Any) -> list[str]:
    """What ``instance`` breaks of ``definition`` in ``version``'s closed schema, one line per problem."""
    schema = _closed_schema(version)
    key = "$defs" if "$defs" in schema else "definitions"
    root = {**copy.copy(schema), "$ref": f"#/{key}/{definition}"}
    validator = jsonschema.validators.validator_for(schema)(root)
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(instance)
    )


@pytest.fixture(params=HANDSHAKE_VERSIONS)
def session(
    request: pytest.FixtureRequest, ledger_path: Path, server_logs: list[Path], tmp_path: Path
) -> Iterator[tuple[str, RawStdioSession, dict]]:
    version = request.param
    stderr_path = tmp_path / "server-stderr.log"
    server_logs.append(stderr_path)
    raw = RawStdioSession(ledger_path, stderr_path)
    try:
        answer = raw.request(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
        )
        raw.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        yield version, raw, answer
    finally:
        raw.close()


def _result(message: dict[str, Any]) -> Any:
    assert "result" in message, message
    return message["result"]


def test_initialize_answers_with_what_the_version_defines(session) -> None:
    version, _, answer = session
    assert violations(version, "InitializeResult", _result(answer)) == []


@pytest.mark.parametrize(
    ("method", "definition"),
    [
        ("tools/list", "ListToolsResult"),
        ("resources/list", "ListResourcesResult"),
        ("resources/templates/list", "ListResourceTemplatesResult"),
        ("prompts/list", "ListPromptsResult"),
    ],
)
def test_each_list_answers_with_what_the_version_defines(session, method: str, definition: str) -> None:
    version, raw, _ = session
    assert violations(version, definition, _result(raw.request(method))) == []


def test_tool_results_and_errors_are_what_the_version_defines(session) -> None:
    version, raw, _ = session
    for arguments in ({"invoice_id": "ord_1001"}, {"invoice_id": "inv_made_up"}):
        result = _result(raw.request("tools/call", {"name": "get_invoice", "arguments": arguments}))
        assert violations(version, "CallToolResult", result) == [], arguments


def test_progress_notifications_are_what_the_version_defines(session) -> None:
    version, raw, _ = session
    notifications = raw.request_with_notifications(
        "tools/call",
        {"name": "generate_invoice", "arguments": {"order_id": "ord_1003"}, "_meta": {"progressToken": "p1"}},
    )
    progress = [message for message in notifications if message.get("method") == "notifications/progress"]
    assert progress, "generate_invoice reported no progress"
    schema = _closed_schema(version)
    defines_envelope = (
        "jsonrpc" in schema.get("$defs", schema.get("definitions", {}))["ProgressNotification"]["properties"]
    )
    for message in progress:
        # Before 2025-11-25 a notification's definition leaves the JSON-RPC envelope to JSONRPCNotification.
        body = (
            message
            if defines_envelope
            else {key: value for key, value in message.items() if key != "jsonrpc"}
        )
        assert violations(version, "ProgressNotification", body) == [], message


def test_a_prompt_is_what_the_version_defines(session) -> None:
    version, raw, _ = session
    prompts = _result(raw.request("prompts/list"))["prompts"]
    for prompt in prompts:
        arguments = {argument["name"]: "ord_1001" for argument in prompt.get("arguments", [])}
        answer = _result(raw.request("prompts/get", {"name": prompt["name"], "arguments": arguments}))
        assert violations(version, "GetPromptResult", answer) == [], prompt["name"]


def _error_definition(version: str) -> str:
    return "JSONRPCErrorResponse" if version >= "2025-11-25" else "JSONRPCError"


def test_a_missing_resource_is_minus_32002_with_our_code_in_data(session) -> None:
    """Every handshake version's specification says: "Resource not found: -32002"."""
    version, raw, _ = session
    for uri in (
        "invoice://local/inv_made_up",
        "invoice://local/inv_made_up/pdf",
        "invoice://local/ord_1001/pdf/x",
    ):
        answer = raw.request("resources/read", {"uri": uri})
        assert violations(version, _error_definition(version), answer) == []
        assert answer["error"]["code"] == -32002, uri
        assert answer["error"]["data"]["code"] == "not_found", uri
        assert answer["error"]["data"]["uri"] == uri


@pytest.mark.parametrize(
    "uri",
    ["invoice://", "invoice://local/%E2%80%AEx", "invoice://local/" + "a" * 300, "invoice://nope/ord_1001"],
)
def test_an_unusable_resource_uri_is_invalid_params_with_our_code_in_data_never_an_internal_error(
    session, uri: str
) -> None:
    version, raw, _ = session
    answer = raw.request("resources/read", {"uri": uri})
    error = answer["error"]
    assert error["code"] in (-32602, -32002), error
    assert error["data"]["code"] in ("invalid_argument", "not_found"), error
    assert error["message"] and error["data"]["hint"], error


@pytest.mark.parametrize(
    "params",
    [
        {"name": "test_simple_prompt"},
        {"name": "explain_invoice"},
        {"name": "explain_invoice", "arguments": {"invoice_id": 5}},
    ],
    ids=["unknown prompt", "missing argument", "argument not a string"],
)
def test_a_prompt_error_is_invalid_params_with_our_code_in_data(session, params: dict[str, Any]) -> None:
    """Every version's specification says: "Invalid prompt name: -32602", "Missing required arguments:
    -32602" (the SDK alone answers code 0, which JSON-RPC does not define; the conformance suite's
    prompts-get scenarios showed it)."""
    version, raw, _ = session
    answer = raw.request("prompts/get", params)
    assert violations(version, _error_definition(version), answer) == []
    error = answer["error"]
    assert error["code"] == -32602, error
    assert error["data"]["code"] == "invalid_argument", error
    assert error["message"] == error["data"]["message"] and error["data"]["hint"], error
    assert repr(params["name"]) in error["message"]


async def test_an_unknown_prompt_is_invalid_params_in_the_stateless_era_too(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        assert client.protocol_version == "2026-07-28"
        with pytest.raises(MCPError) as raised:
            await client.get_prompt("test_simple_prompt", {})
    assert raised.value.code == -32602
    assert raised.value.error.data["code"] == "invalid_argument"
    assert "prompts/list" in raised.value.error.data["hint"]
