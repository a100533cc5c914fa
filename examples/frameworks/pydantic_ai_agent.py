"""Pydantic AI: the server as a toolset of an agent on an OpenAI-compatible model.

    pip install "pydantic-ai-slim[openai,fastmcp]" && python examples/frameworks/pydantic_ai_agent.py
"""

import asyncio

from _server import COMMAND, MODEL, QUESTION, SERVER_ENV
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from pydantic_ai import Agent
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.models.openai import OpenAIChatModel


async def main() -> str:
    invoices = MCPToolset(Client(StdioTransport(command=COMMAND[0], args=COMMAND[1:], env=SERVER_ENV)))
    agent = Agent(OpenAIChatModel(MODEL), toolsets=[invoices])
    async with agent:
        result = await agent.run(QUESTION)
    return result.output


if __name__ == "__main__":
    print(asyncio.run(main()))
