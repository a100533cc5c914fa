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
from mcp_types import BlobResourceContents, ResourceLink, TextContent

from mcp_invoices.domain.breakdown import breakdown_of
from mcp_invoices.domain.models import Invoice

__all__ = ["run_demo"]


def _say(text: str = "") -> None:
    print(text, flush=True)


def _step(number: int, title: str) -> None:
    _say()
    _say(f"[{number}] {title}")


def _check(result: Any, tool: str) -> dict[str, Any]:
    """The structured result, or a readable failure built from the error JSON in the text."""
    if result.is_error:
        text = next((block.text for block in result.content if isinstance(block, TextContent)), "{}")
        error = json.loads(text)
        raise RuntimeError(
            f"{tool} failed: {error.get('code')}: {error.get('message')} {error.get('hint') or ''}"
        )
    return dict(result.structured_content or {})


async def _call(client: Client, tool: str, arguments: dict[str, Any], **options: Any) -> dict[str, Any]:
    return _check(await client.call_tool(tool, arguments, **options), tool)


async def _list_orders(client: Client) -> list[dict[str, Any]]:
    _step(1, "list_orders - the orders this customer can invoice")
    orders: list[dict[str, Any]] = (await _call(client, "list_orders", {}))["orders"]
    for order in orders:
        _say(
            f"    {order['id']:<10} {order['created_at']}  {order['status']:<8} "
            f"{order['total']:>10} {order['currency']}  invoice: {order['invoice']:<9} "
            f"billing complete: {'yes' if order['billing_complete'] else 'no'}"
        )
    return orders


async def _generate(client: Client, order_id: str) -> dict[str, Any]:
    _step(2, f"generate_invoice - order {order_id} (progress notifications as they arrive)")

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        _say(f"    progress {progress:g}/{total:g}: {message}" if total else f"    progress: {message}")

    generated = await _call(client, "generate_invoice", {"order_id": order_id}, progress_callback=on_progress)
    _say(f"    {generated['outcome']}: {generated['number']} ({generated['status']})")
    return generated


async def _get_by_number(client: Client, number: str) -> dict[str, Any]:
    _step(3, f"get_invoice - by the number printed on it, {number}")
    result = await client.call_tool("get_invoice", {"invoice_id": number.lower()})
    invoice = _check(result, "get_invoice")
    _say(
        f"    billed to: {invoice['billing']['name']}; issued {invoice['issued_at']}, due {invoice['due_at']}"
    )
    # The same rule as the PDF and the view: net + tax = gross per line, the nets sum to the subtotal.
    amounts = breakdown_of(Invoice.model_validate(invoice))
    for line in amounts.lines:
        item = line.item
        _say(
            f"    - {item.description}: {item.quantity} x {item.unit_amount}: "
            f"net {line.net} + tax {line.tax} = {line.gross}"
        )
    _say(
        f"    {amounts.equation(str)} = total {invoice['total']} {invoice['currency']}, "
        f"due {invoice['amount_due']}"
    )
    for link in (block for block in result.content if isinstance(block, ResourceLink)):
        _say(f"    resource link: {link.uri} ({link.mime_type})")
    return invoice


async def _summaries(client: Client, invoice_id: str) -> None:
    _step(4, "summarize_invoice")
    _say("    " + (await _call(client, "summarize_invoice", {"invoice_id": invoice_id}))["summary"])
    _step(5, "summarize_invoices - every invoice of this customer")
    summary = await _call(client, "summarize_invoices", {})
    _say("    " + summary["summary"])
    for totals in summary["currencies"]:
        figures = {key: totals[key] for key in ("total", "paid", "due", "overdue")}
        _say(f"    {totals['currency']}: {json.dumps(figures)}")


async def _compare(client: Client, invoice_id: str) -> None:
    _step(6, "compare_invoices - against the invoice issued just before it")
    result = await client.call_tool("compare_invoices", {"invoice_id": invoice_id})
    try:
        comparison = _check(result, "compare_invoices")
    except RuntimeError as error:  # a first invoice has nothing before it: the error says so
        _say(f"    {error}")
        return
    _say("    " + comparison["summary"])
    for line in comparison["lines"]:
        if line["change"] != "unchanged":
            _say(f"    {line['change']:<8} {line['description']}: {line['difference']}")


async def _save_pdf(client: Client, pdf_uri: str, out_dir: str, name: str) -> None:
    _step(7, f"read_resource {pdf_uri}")
    contents = (await client.read_resource(pdf_uri)).contents[0]
    if not isinstance(contents, BlobResourceContents):
        raise RuntimeError(f"{pdf_uri} did not answer with a PDF document")
    pdf = base64.b64decode(contents.blob)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    path = (out / f"{name}.pdf").resolve()
    path.write_bytes(pdf)
    _say(f"    {contents.mime_type}, {len(pdf):,} bytes")
    _say()
    _say(f"PDF written to {path}")


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
            orders = await _list_orders(client)
            ready = [o for o in orders if o["paid"] and o["billing_complete"] and o["invoice"] == "none"]
            target = next(iter(ready or [o for o in orders if o["invoice"] == "generated"]), None)
            if target is None:
                _say(f"  customer {customer} has no order to invoice; try --customer cus_alice")
                return 1
            generated = await _generate(client, target["id"])
            invoice = await _get_by_number(client, generated["number"] or generated["id"])
            await _summaries(client, invoice["id"])
            await _compare(client, invoice["id"])
            await _save_pdf(
                client, invoice["documents"]["pdf_uri"], out_dir, generated["number"] or generated["id"]
            )
    finally:
        workdir.cleanup()
    return 0
