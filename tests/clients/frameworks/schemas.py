"""Every tool's input schema through the agent frameworks' own converters, as they meet it over MCP.

    .venv-clients/frameworks/bin/python schemas.py  < plan.json  > report.json

Run by tests/clients/test_frameworks.py with the frameworks' virtual environment
(scripts/install-client-test-deps.sh). Connects to ``mcp-invoices serve`` over stdio through the OpenAI
Agents SDK's ``MCPServerStdio`` and reports, per tool:

- ``agents_strict``: whether the Agents SDK's MCP-to-function-tool conversion with
  ``convert_schemas_to_strict=True`` kept the tool strict (it falls back to non-strict silently, logging
  the reason, which is reported as ``agents_error``);
- ``pydantic_ai_openai_strict``: Pydantic AI's ``OpenAIJsonSchemaTransformer`` with ``strict=True``
  walked the schema without refusing it (``pydantic_ai_openai_error`` otherwise);
- ``pydantic_ai_google``: the schema Pydantic AI's ``GoogleJsonSchemaTransformer`` hands Gemini;
- ``langchain_openai_strict``: what ``ChatOpenAI.bind_tools(..., strict=True)`` sends (langchain-core's
  ``convert_to_openai_tool(strict=True)``) keeps OpenAI's strict rules: every object closed
  (``additionalProperties: false``) with every property required, no ``$ref`` (``langchain_openai_error``
  names the first place that breaks them).

It decides nothing: the pytest test does.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import sys
from importlib.metadata import version
from typing import Any

from agents.mcp import MCPServerStdio, MCPUtil
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic_ai.profiles.google import GoogleJsonSchemaTransformer
from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer


class _Remember(logging.Handler):
    """The Agents SDK logs, at INFO, why a schema could not be made strict; keep the last reason."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def strict_breach(schema: Any, where: str = "parameters") -> str | None:
    """The first place ``schema`` breaks OpenAI's strict rules (closed objects, all properties required,
    no references), or None."""
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            breach = strict_breach(item, f"{where}[{index}]")
            if breach:
                return breach
        return None
    if not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        return f"{where}: $ref"
    properties = schema.get("properties")
    if schema.get("type") == "object" or isinstance(properties, dict):
        if schema.get("additionalProperties") is not False:
            return f"{where}: additionalProperties is not false"
        if sorted(schema.get("required", [])) != sorted(properties or {}):
            return f"{where}: not every property is required"
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            for name, child in value.items():
                breach = strict_breach(child, f"{where}.{key}.{name}")
                if breach:
                    return breach
        elif key in ("items", "anyOf", "oneOf", "allOf"):
            breach = strict_breach(value, f"{where}.{key}")
            if breach:
                return breach
    return None


async def main(plan: dict[str, Any]) -> dict[str, Any]:
    remembered = _Remember()
    agents_logger = logging.getLogger("openai.agents")
    agents_logger.addHandler(remembered)
    agents_logger.setLevel(logging.INFO)
    server = MCPServerStdio(
        params={"command": plan["command"], "args": plan["args"], "env": plan["env"], "cwd": plan["cwd"]},
        client_session_timeout_seconds=60,
    )
    report: dict[str, Any] = {
        "versions": {name: version(name) for name in ("openai-agents", "pydantic-ai-slim", "langchain-core")},
        "tools": {},
    }
    async with server:
        for tool in await server.list_tools():
            remembered.messages.clear()
            function_tool = MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True)
            entry: dict[str, Any] = {
                "input_schema": tool.inputSchema,
                "agents_strict": function_tool.strict_json_schema,
                "agents_error": " | ".join(m for m in remembered.messages if "strict" in m) or None,
            }
            try:
                OpenAIJsonSchemaTransformer(copy.deepcopy(tool.inputSchema), strict=True).walk()
                entry["pydantic_ai_openai_strict"] = True
            except Exception as error:
                entry["pydantic_ai_openai_strict"] = False
                entry["pydantic_ai_openai_error"] = f"{type(error).__name__}: {error}"
            entry["pydantic_ai_google"] = GoogleJsonSchemaTransformer(copy.deepcopy(tool.inputSchema)).walk()
            try:
                sent = convert_to_openai_tool(
                    {
                        "name": tool.name,
                        "description": tool.description or "",
                        "parameters": copy.deepcopy(tool.inputSchema),
                    },
                    strict=True,
                )
                breach = strict_breach(sent["function"]["parameters"])
                entry["langchain_openai_strict"] = breach is None and sent["function"].get("strict") is True
                entry["langchain_openai_error"] = breach
            except Exception as error:
                entry["langchain_openai_strict"] = False
                entry["langchain_openai_error"] = f"{type(error).__name__}: {error}"
            report["tools"][tool.name] = entry
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
