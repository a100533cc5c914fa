"""LangChain: the server's tools through langchain-mcp-adapters, the model through langchain-openai.

    pip install langchain-mcp-adapters langchain-openai && python examples/frameworks/langchain_agent.py
"""

import asyncio

from _server import COMMAND, MODEL, QUESTION, SERVER_ENV
from langchain_core.messages import HumanMessage
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_openai import ChatOpenAI


async def main() -> str:
    client = MultiServerMCPClient(
        {"invoices": {"transport": "stdio", "command": COMMAND[0], "args": COMMAND[1:], "env": SERVER_ENV}}
    )
    tools = {tool.name: tool for tool in await client.get_tools()}
    model = ChatOpenAI(model=MODEL).bind_tools(list(tools.values()))
    messages = [HumanMessage(QUESTION)]
    for _ in range(5):  # a bounded agent loop: ask, run the tools the model calls, ask again
        reply = await model.ainvoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            return str(reply.content)
        for call in reply.tool_calls:
            messages.append(await tools[call["name"]].ainvoke(call))
    return "no answer within 5 rounds"


if __name__ == "__main__":
    print(asyncio.run(main()))
