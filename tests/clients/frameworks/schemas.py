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
- ``pydantic_ai_google``: the schema Pydantic AI's ``GoogleJsonSchemaTransformer`` hands Gemini.

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
from pydantic_ai.profiles.google import GoogleJsonSchemaTransformer
from pydantic_ai.profiles.openai import OpenAIJsonSchemaTransformer


class _Remember(logging.Handler):
    """The Agents SDK logs, at INFO, why a schema could not be made strict; keep the last reason."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


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
        "versions": {name: version(name) for name in ("openai-agents", "pydantic-ai-slim")},
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
            except Exception as error:  # noqa: BLE001 - reported, judged by the test
                entry["pydantic_ai_openai_strict"] = False
                entry["pydantic_ai_openai_error"] = f"{type(error).__name__}: {error}"
            entry["pydantic_ai_google"] = GoogleJsonSchemaTransformer(copy.deepcopy(tool.inputSchema)).walk()
            report["tools"][tool.name] = entry
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
