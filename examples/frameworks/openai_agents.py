"""The OpenAI Agents SDK: the server's tools (strict schemas) in an agent that answers one question.

    pip install openai-agents && python examples/frameworks/openai_agents.py
"""

import asyncio

from _server import COMMAND, MODEL, QUESTION, SERVER_ENV
from agents import Agent, Runner, set_default_openai_api, set_tracing_disabled
from agents.mcp import MCPServerStdio


async def main() -> str:
    set_tracing_disabled(True)  # traces would go to OpenAI's platform
    set_default_openai_api("chat_completions")  # what every OpenAI-compatible API serves
    params = {"command": COMMAND[0], "args": COMMAND[1:], "env": SERVER_ENV}
    async with MCPServerStdio(params=params, client_session_timeout_seconds=60) as invoices:
        agent = Agent(
            name="invoices",
            model=MODEL,
            mcp_servers=[invoices],
            mcp_config={"convert_schemas_to_strict": True},  # every tool stays strict: no $ref to refuse
        )
        result = await Runner.run(agent, QUESTION)
    return str(result.final_output)


if __name__ == "__main__":
    print(asyncio.run(main()))
