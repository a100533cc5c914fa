"""A support bot over streamable HTTP: one server, several customers, each conversation bound to its own token.

The bot holds one bearer token per customer (issued by the operator with `mcp-invoices token issue`)
and answers each conversation with that customer's token: the server decides who the customer is from
the token, so one customer can never reach another's invoices, even by quoting an id.

    mcp-invoices token issue --provider local --customer cus_alice     # prints mcpi_...
    mcp-invoices token issue --provider local --customer cus_bob
    mcp-invoices serve --transport http --port 8000
    python examples/support_bot_http.py --url http://127.0.0.1:8000/mcp \\
        --token cus_alice=mcpi_... --token cus_bob=mcpi_...
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def answer(url: str, token: str, question: str, ask_about: str | None) -> list[str]:
    """One conversation: what is due, and (if asked) one invoice by id, answered within the token's scope."""
    lines = []
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            summary = await client.call_tool("summarize_invoices", {})
            lines.append(f"Q: {question}\nA: {summary.structured_content['summary']}")
            if ask_about is not None:
                result = await client.call_tool("get_invoice", {"invoice_id": ask_about})
                lines.append(f"   invoice {ask_about}: {describe(result)}")
    return lines


def describe(result: Any) -> str:
    if result.is_error:  # the error object travels as JSON in the text, readable by any client
        error = json.loads(result.content[0].text)
        return f"{error['code']} - {error['message']}"
    invoice = result.structured_content
    return f"{invoice['number']}, {invoice['status']}, due {invoice['amount_due']} {invoice['currency']}"


async def main(url: str, tokens: dict[str, str], ask_about: str | None) -> None:
    results: dict[str, list[str]] = {}

    async def conversation(customer: str, token: str) -> None:
        results[customer] = await answer(url, token, "What do I owe?", ask_about)

    async with anyio.create_task_group() as group:  # the conversations run at the same time
        for customer, token in tokens.items():
            group.start_soon(conversation, customer, token)
    for customer in tokens:
        print(f"[{customer}]")
        print("\n".join(results[customer]))


def parse_token(value: str) -> tuple[str, str]:
    customer, _, token = value.partition("=")
    if not token:
        raise argparse.ArgumentTypeError("use --token CUSTOMER=TOKEN")
    return customer, token


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/mcp", help="the server's /mcp URL")
    parser.add_argument(
        "--token", type=parse_token, action="append", required=True, help="CUSTOMER=TOKEN, repeatable"
    )
    parser.add_argument(
        "--ask-about", help="an invoice id every conversation asks for (another's: not_found)"
    )
    args = parser.parse_args()
    anyio.run(main, args.url, dict(args.token), args.ask_about)
