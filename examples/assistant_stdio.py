"""An assistant-style client over stdio: "what do I owe that is overdue, and why is that invoice what it is?"

It launches `mcp-invoices serve` the way an MCP host does (a subprocess speaking stdio, the customer
chosen by the environment, never by a tool argument), then does what an assistant would do with the
tools: summarise everything, page through the invoices to find the overdue ones, and explain one.

    python examples/assistant_stdio.py                      # Alice, on a fresh sample ledger
    python examples/assistant_stdio.py --customer cus_bob --db ~/ledger.sqlite3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters


def server(db: Path, customer: str) -> StdioServerParameters:
    """`mcp-invoices serve` as a host launches it: stdio, scoped by the environment."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_invoices", "serve"],
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(db.parent)),
            "MCP_INVOICES_DB": str(db),
            "MCP_INVOICES_CUSTOMER": customer,
            "MCP_INVOICES_LOG_LEVEL": "WARNING",
        },
    )


def is_overdue(row: dict[str, Any], today: date) -> bool:
    """What the server calls overdue: something still due, and a due date already past."""
    return (
        Decimal(row["amount_due"]) > 0
        and row["due_at"] is not None
        and date.fromisoformat(row["due_at"]) < today
    )


async def find_overdue(client: Client) -> list[dict[str, Any]]:
    """Every overdue invoice: list_invoices page by page (bounded), filtered as the server defines overdue."""
    today = date.today()
    overdue: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):  # 100 pages of 100 is far more than a session has; never loop forever
        arguments: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await client.call_tool("list_invoices", arguments)).structured_content or {}
        overdue += [row for row in page["invoices"] if is_overdue(row, today)]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return overdue


async def main(db: Path, customer: str) -> None:
    async with Client(server(db, customer)) as client:
        everything = await client.call_tool("summarize_invoices", {})
        print(f"Overall: {everything.structured_content['summary']}")

        overdue = await find_overdue(client)
        if not overdue:
            print("Nothing is overdue.")
            return
        print(f"Overdue ({len(overdue)}):")
        for row in overdue:
            print(f"  {row['number']}: {row['amount_due']} {row['currency']} due since {row['due_at']}")

        first = overdue[0]
        explained = await client.call_tool("summarize_invoice", {"invoice_id": first["id"]})
        invoice = (await client.call_tool("get_invoice", {"invoice_id": first["id"]})).structured_content
        print(f"\nAbout {first['number']}: {explained.structured_content['summary']}")
        for line in invoice["line_items"]:
            print(f"  - {line['description']}: {line['quantity']} x {line['unit_amount']} = {line['total']}")
        print(
            f"  total {invoice['total']}, paid {invoice['amount_paid']}, due {invoice['amount_due']} {invoice['currency']}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customer", default="cus_alice", help="the customer the session is bound to")
    parser.add_argument(
        "--db", type=Path, help="a ledger file (default: a fresh sample ledger in a temp dir)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        anyio.run(main, args.db or Path(scratch) / "ledger.sqlite3", args.customer)
