"""Every tool, an error, the resources and the prompt as one agent framework hands them to its model.

    .venv-clients/frameworks/bin/python surface.py  < plan.json  > report.json

Run by tests/clients/test_frameworks.py with the frameworks' virtual environment
(scripts/install-client-test-deps.sh). ``plan["framework"]`` is one of ``openai-agents``,
``langchain``, ``pydantic-ai`` or ``fastmcp``; the script connects to ``mcp-invoices serve`` over stdio
through that framework's own MCP client and reports, as text:

- ``tools``: the names the framework lists;
- ``calls``: per tool, for its succeeding and its failing argument set, what the framework would put
  in front of the model (its tool-output conversion; an exception the framework turns into the
  model's tool message is reported as ``raised`` with that message);
- ``resources``: what the framework's resource API gives for the invoice JSON and the PDF;
- ``prompt``: the text of the ``explain_invoice`` messages.

It decides nothing: the pytest test does.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from importlib.metadata import version
from typing import Any

PACKAGES = {
    "openai-agents": "openai-agents",
    "langchain": "langchain-mcp-adapters",
    "pydantic-ai": "pydantic-ai-slim",
    "fastmcp": "fastmcp",
}


def _text(value: Any) -> str:
    """Whatever a framework produced, as the text a test can search (bytes as base64, as they travel)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, str):
        return value
    if hasattr(value, "model_dump"):
        return json.dumps(value.model_dump(mode="json", by_alias=True), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "\n".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=_text)
    for attribute in ("text", "content", "data", "blob"):
        if hasattr(value, attribute):
            return _text(getattr(value, attribute))
    return str(value)


async def _call(invoke: Any) -> dict[str, Any]:
    try:
        return {"shown": _text(await invoke())}
    except Exception as error:
        return {"raised": type(error).__name__, "shown": str(error)}


async def openai_agents(plan: dict[str, Any]) -> dict[str, Any]:
    from agents import RunContextWrapper
    from agents.mcp import MCPServerStdio, MCPUtil

    params = {"command": plan["command"], "args": plan["args"], "env": plan["env"], "cwd": plan["cwd"]}
    report: dict[str, Any] = {"calls": {}}
    async with MCPServerStdio(params=params, client_session_timeout_seconds=60) as server:
        tools = await server.list_tools()
        report["tools"] = [tool.name for tool in tools]
        context = RunContextWrapper(context=None)
        for tool in tools:
            case = plan["cases"].get(tool.name, {})
            report["calls"][tool.name] = {
                outcome: await _call(
                    lambda arguments=arguments, tool=tool: MCPUtil.invoke_mcp_tool(
                        server, tool, context, json.dumps(arguments)
                    )
                )
                for outcome, arguments in case.items()
            }
        report["resources"] = {
            uri: await _call(lambda uri=uri: server.read_resource(uri)) for uri in plan["resources"]
        }
        report["prompt"] = await _call(lambda: server.get_prompt("explain_invoice", plan["prompt_arguments"]))
    return report


async def langchain(plan: dict[str, Any]) -> dict[str, Any]:
    from langchain_mcp_adapters.client import MultiServerMCPClient

    client = MultiServerMCPClient(
        {
            "invoices": {
                "transport": "stdio",
                "command": plan["command"],
                "args": plan["args"],
                "env": plan["env"],
                "cwd": plan["cwd"],
            }
        }
    )
    tools = await client.get_tools()
    report: dict[str, Any] = {"tools": [tool.name for tool in tools], "calls": {}}
    for tool in tools:
        case = plan["cases"].get(tool.name, {})
        # ainvoke with a tool call: the ToolMessage LangChain appends to the conversation for the model.
        report["calls"][tool.name] = {
            outcome: await _call(
                lambda arguments=arguments, tool=tool: tool.ainvoke(
                    {"type": "tool_call", "id": "call_1", "name": tool.name, "args": arguments}
                )
            )
            for outcome, arguments in case.items()
        }
    report["resources"] = {
        uri: await _call(lambda uri=uri: client.get_resources("invoices", uris=[uri]))
        for uri in plan["resources"]
    }
    report["prompt"] = await _call(
        lambda: client.get_prompt("invoices", "explain_invoice", arguments=plan["prompt_arguments"])
    )
    return report


async def pydantic_ai(plan: dict[str, Any]) -> dict[str, Any]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai.mcp import MCPToolset

    transport = StdioTransport(command=plan["command"], args=plan["args"], env=plan["env"], cwd=plan["cwd"])
    toolset = MCPToolset(Client(transport))
    report: dict[str, Any] = {"calls": {}}
    async with toolset:
        tools = await toolset.list_tools()
        report["tools"] = [tool.name for tool in tools]
        for tool in tools:
            case = plan["cases"].get(tool.name, {})
            # direct_call_tool: the value the agent puts in the model's tool-return part; a tool error
            # raises ModelRetry, whose message the agent sends the model as a retry prompt.
            report["calls"][tool.name] = {
                outcome: await _call(
                    lambda arguments=arguments, tool=tool: toolset.direct_call_tool(tool.name, arguments)
                )
                for outcome, arguments in case.items()
            }
        report["resources"] = {
            uri: await _call(lambda uri=uri: toolset.read_resource(uri)) for uri in plan["resources"]
        }
        report["prompt"] = await _call(
            lambda: toolset.get_prompt("explain_invoice", plan["prompt_arguments"])
        )
    return report


async def fastmcp(plan: dict[str, Any]) -> dict[str, Any]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    transport = StdioTransport(command=plan["command"], args=plan["args"], env=plan["env"], cwd=plan["cwd"])
    report: dict[str, Any] = {"calls": {}}
    async with Client(transport) as client:
        tools = await client.list_tools()
        report["tools"] = [tool.name for tool in tools]

        async def text_blocks(name: str, arguments: dict[str, Any]) -> str:
            # fastmcp is not an agent: its text blocks are what an application hands the model
            # (examples/frameworks/fastmcp_client.py); an error result's text too.
            result = await client.call_tool(name, arguments, raise_on_error=False)
            shown = "\n".join(block.text for block in result.content if block.type == "text")
            return ("isError\n" if result.is_error else "") + shown

        for tool in tools:
            case = plan["cases"].get(tool.name, {})
            report["calls"][tool.name] = {
                outcome: await _call(lambda arguments=arguments, tool=tool: text_blocks(tool.name, arguments))
                for outcome, arguments in case.items()
            }
        report["resources"] = {
            uri: await _call(lambda uri=uri: client.read_resource(uri)) for uri in plan["resources"]
        }
        report["prompt"] = await _call(lambda: client.get_prompt("explain_invoice", plan["prompt_arguments"]))
    return report


RUNNERS = {
    "openai-agents": openai_agents,
    "langchain": langchain,
    "pydantic-ai": pydantic_ai,
    "fastmcp": fastmcp,
}


async def main(plan: dict[str, Any]) -> dict[str, Any]:
    framework = plan["framework"]
    report = await RUNNERS[framework](plan)
    report["version"] = version(PACKAGES[framework])
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin))), ensure_ascii=False))
