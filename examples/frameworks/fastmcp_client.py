"""fastmcp's client calls get_invoice; its text goes to an OpenAI-compatible model as the tool's result.

    pip install fastmcp openai && python examples/frameworks/fastmcp_client.py
"""

import asyncio
import json

from _server import COMMAND, MODEL, QUESTION, SERVER_ENV
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from openai import AsyncOpenAI


async def main() -> str:
    transport = StdioTransport(command=COMMAND[0], args=COMMAND[1:], env=SERVER_ENV)
    async with Client(transport) as invoices:
        result = await invoices.call_tool("get_invoice", {"invoice_id": "ord_1001"})
    text = "\n".join(block.text for block in result.content if block.type == "text")
    call = {"id": "call_1", "type": "function", "function": {"name": "get_invoice", "arguments": json.dumps({"invoice_id": "ord_1001"})}}
    answer = await AsyncOpenAI().chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": text},
        ],
    )
    return answer.choices[0].message.content or ""


if __name__ == "__main__":
    print(asyncio.run(main()))
