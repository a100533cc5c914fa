"""``mcp-invoices demo``: the whole flow through a real MCP client, on a sample ledger.

The server runs as a subprocess over stdio, exactly as an MCP host would launch it; the demo is
only a client. No accounts and no network are involved.
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp_types import BlobResourceContents, ResourceLink

__all__ = ["run_demo"]


def _say(text: str = "") -> None:
    print(text, flush=True)


def _step(number: int, title: str) -> None:
    _say()
    _say(f"[{number}] {title}")


def _check(result: Any, tool: str) -> dict[str, Any]:
    if result.is_error:
        error = result.structured_content or {}
        raise RuntimeError(f"{tool} failed: {error.get('code')}: {error.get('message')}")
    return dict(result.structured_content or {})


async def run_demo(out_dir: str, db: str | None, customer: str) -> int:
    workdir = tempfile.TemporaryDirectory(prefix="mcp-invoices-demo-")
    ledger = Path(db).expanduser() if db else Path(workdir.name) / "ledger.sqlite3"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_invoices", "serve"],
        env={
            "MCP_INVOICES_DB": str(ledger),
            "MCP_INVOICES_CUSTOMER": customer,
            "MCP_INVOICES_LOG_LEVEL": "WARNING",
        },
    )
    _say("mcp-invoices demo: a real MCP client talking to `mcp-invoices serve` over stdio")
    _say(f"  ledger:   {ledger}{' (fresh sample data)' if db is None else ''}")
    _say(f"  session:  bound to customer {customer} (MCP_INVOICES_CUSTOMER)")
    try:
        async with Client(params) as client:
            tools = await client.list_tools()
            _say(
                f"  protocol: {client.protocol_version}; tools: {', '.join(tool.name for tool in tools.tools)}"
            )

            _step(1, "list_orders - the orders this customer can invoice")
            orders = _check(await client.call_tool("list_orders", {}), "list_orders")["orders"]
            for order in orders:
                _say(
                    f"    {order['id']:<10} {order['created_at']}  {order['status']:<8} "
                    f"{order['total']:>10} {order['currency']}  invoice: {order['invoice']:<9} "
                    f"billing complete: {'yes' if order['billing_complete'] else 'no'}"
                )
            ready = [o for o in orders if o["paid"] and o["billing_complete"] and o["invoice"] == "none"]
            target = (ready or [o for o in orders if o["invoice"] == "generated"] or [None])[0]
            if target is None:
                _say(f"  customer {customer} has no order to invoice; try --customer cus_alice")
                return 1

            _step(2, f"generate_invoice - order {target['id']} (progress notifications as they arrive)")

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                _say(
                    f"    progress {progress:g}/{total:g}: {message}" if total else f"    progress: {message}"
                )

            generated = _check(
                await client.call_tool(
                    "generate_invoice", {"order_id": target["id"]}, progress_callback=on_progress
                ),
                "generate_invoice",
            )
            _say(f"    {generated['outcome']}: {generated['number']} ({generated['status']})")

            _step(3, f"get_invoice - {generated['number']}")
            result = await client.call_tool("get_invoice", {"invoice_id": generated["id"]})
            invoice = _check(result, "get_invoice")
            _say(
                f"    billed to: {invoice['billing']['name']}; issued {invoice['issued_at']}, due {invoice['due_at']}"
            )
            for line in invoice["line_items"]:
                _say(
                    f"    - {line['description']}: {line['quantity']} x {line['unit_amount']} = {line['total']}"
                )
            _say(
                f"    subtotal {invoice['subtotal']}, discount {invoice['discount']}, tax {invoice['tax']}, "
                f"shipping {invoice['shipping']} -> total {invoice['total']} {invoice['currency']}, "
                f"due {invoice['amount_due']}"
            )
            links = [block for block in result.content if isinstance(block, ResourceLink)]
            for link in links:
                _say(f"    resource link: {link.uri} ({link.mime_type})")

            _step(4, "summarize_invoice")
            _say(
                "    "
                + _check(
                    await client.call_tool("summarize_invoice", {"invoice_id": generated["id"]}),
                    "summarize_invoice",
                )["summary"]
            )

            _step(5, "summarize_invoices - every invoice of this customer")
            summary = _check(await client.call_tool("summarize_invoices", {}), "summarize_invoices")
            _say("    " + summary["summary"])
            for totals in summary["currencies"]:
                _say(
                    f"    {totals['currency']}: {json.dumps({k: totals[k] for k in ('total', 'paid', 'due', 'overdue')})}"
                )

            pdf_uri = invoice["documents"]["pdf_uri"]
            _step(6, f"read_resource {pdf_uri}")
            contents = (await client.read_resource(pdf_uri)).contents[0]
            if not isinstance(contents, BlobResourceContents):
                raise RuntimeError(f"{pdf_uri} did not answer with a PDF document")
            pdf = base64.b64decode(contents.blob)
            out = Path(out_dir).expanduser()
            out.mkdir(parents=True, exist_ok=True)
            path = (out / f"{generated['number'] or generated['id']}.pdf").resolve()
            path.write_bytes(pdf)
            _say(f"    {contents.mime_type}, {len(pdf):,} bytes")
            _say()
            _say(f"PDF written to {path}")
    finally:
        workdir.cleanup()
    return 0
