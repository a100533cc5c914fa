"""Tool input schemas are published self-contained: no ``$ref``, no ``$defs`` (server/schemas.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_invoices.server.schemas import inline_definitions
from tests.conftest import local_client


async def test_no_tool_input_schema_refers_to_definitions(ledger_path: Path) -> None:
    """The OpenAI Agents SDK's strict conversion refuses a ``$ref`` into ``$defs`` and serves the tool
    non-strict; generate_invoice's billing_address was one (tests/clients/test_frameworks.py runs the
    real converters)."""
    async with local_client(ledger_path) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert "$ref" not in json.dumps(tool.input_schema) and "$defs" not in tool.input_schema, tool.name


async def test_generate_invoices_billing_address_is_published_inline(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    address, null = tools["generate_invoice"].input_schema["properties"]["billing_address"]["anyOf"]
    assert null == {"type": "null"}
    assert address["additionalProperties"] is False
    assert address["required"] == ["line1", "country"]


def test_a_reference_keeps_its_sibling_keywords_beside_the_inlined_definition() -> None:
    schema = {
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        "properties": {"at": {"$ref": "#/$defs/Point", "description": "Where."}},
    }
    assert inline_definitions(schema) == {
        "properties": {
            "at": {"description": "Where.", "type": "object", "properties": {"x": {"type": "integer"}}}
        }
    }


def test_a_reference_to_a_missing_definition_is_refused() -> None:
    with pytest.raises(ValueError, match="does not define"):
        inline_definitions({"properties": {"at": {"$ref": "#/$defs/Nowhere"}}})


def test_a_recursive_definition_is_refused_rather_than_expanded_forever() -> None:
    schema = {
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
        "properties": {"head": {"$ref": "#/$defs/Node"}},
    }
    with pytest.raises(ValueError, match="refers to itself"):
        inline_definitions(schema)
