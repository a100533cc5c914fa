"""Prompts: conversations a host can start with one click."""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import UserMessage

__all__ = ["register_prompts"]


def explain_invoice(invoice_id: str, provider: str | None = None) -> list[UserMessage]:
    where = f" (provider {provider})" if provider else ""
    return [
        UserMessage(
            f"Explain invoice {invoice_id!r}{where} to me in plain language. Call get_invoice and "
            "summarize_invoice for it. Say what was billed, what is paid and what is still due and by "
            "when. Then call list_invoices to find the invoice issued before it, and explain briefly "
            "why the amounts differ, line by line where it helps. Quote amounts exactly as the tools "
            "give them."
        )
    ]


def register_prompts(server: MCPServer) -> None:
    server.prompt(
        name="explain_invoice",
        title="Explain an invoice",
        description="Ask the assistant to explain one invoice in plain language, and compare it with the "
        "previous one when there is one.",
    )(explain_invoice)
