"""What each agent framework shows its user when the server answers 401 (one token, or none).

    .venv-clients/frameworks/bin/python sign_in.py  < plan.json  > report.json

plan: {"url": ..., "token": str | null}. Reports, per framework, the text of the error it raises
(exception groups unwrapped, the chain's messages joined). Decides nothing: the test does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any


def _messages(error: BaseException) -> str:
    seen: list[str] = []
    stack: list[BaseException] = [error]
    while stack and len(seen) < 20:  # bounded: groups, causes and contexts
        current = stack.pop(0)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
            continue
        seen.append(f"{type(current).__name__}: {current}")
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return "\n".join(seen)


async def _attempt(connect: Any) -> str:
    try:
        await asyncio.wait_for(connect(), timeout=60)
    except BaseException as error:
        return _messages(error)
    return "no error"


async def main(plan: dict[str, Any]) -> dict[str, str]:
    url, token = plan["url"], plan["token"]
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def openai_agents() -> None:
        from agents.mcp import MCPServerStreamableHttp

        async with MCPServerStreamableHttp(params={"url": url, "headers": headers}) as server:
            await server.list_tools()

    async def langchain() -> None:
        from langchain_mcp_adapters.client import MultiServerMCPClient

        client = MultiServerMCPClient({"i": {"transport": "streamable_http", "url": url, "headers": headers}})
        await client.get_tools()

    async def pydantic_ai() -> None:
        from fastmcp import Client
        from fastmcp.client.transports import StreamableHttpTransport
        from pydantic_ai.mcp import MCPToolset

        async with MCPToolset(Client(StreamableHttpTransport(url, headers=headers))) as toolset:
            await toolset.list_tools()

    async def fastmcp() -> None:
        from fastmcp import Client
        from fastmcp.client.transports import StreamableHttpTransport

        async with Client(StreamableHttpTransport(url, headers=headers)) as client:
            await client.list_tools()

    runners = {
        "openai-agents": openai_agents,
        "langchain": langchain,
        "pydantic-ai": pydantic_ai,
        "fastmcp": fastmcp,
    }
    return {name: await _attempt(run) for name, run in runners.items()}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
