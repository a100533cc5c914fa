"""Prompts: conversations a host can start with one click."""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import UserMessage

__all__ = ["PROMPTS", "register_prompts"]

PROMPTS = frozenset({"explain_invoice"})
"""Every prompt takes ``invoice_id`` and ``provider``, which ``completion/complete`` completes."""


def explain_invoice(invoice_id: str, provider: str | None = None) -> list[UserMessage]:
    where = f" (provider {provider})" if provider else ""
    arguments = f"invoice_id {invoice_id!r}" + (f" and provider {provider!r}" if provider else "")
    return [
        UserMessage(
            f"Explain invoice {invoice_id!r}{where} to me in plain language. Call summarize_invoice for "
            "it (and get_invoice if you need its lines). Say what was billed, what is paid and what is "
            f"still due and by when. Then call compare_invoices with {arguments}: it finds the invoice "
            "issued before it and gives the exact differences. Explain why the amounts differ from its "
            "summary and lines rather than working differences out yourself; if there is no earlier "
            "invoice, say so. Quote amounts exactly as the tools give them."
        )
    ]


def register_prompts(server: MCPServer) -> None:
    server.prompt(
        name="explain_invoice",
        title="Explain an invoice",
        description="Ask the assistant to explain one invoice in plain language, and how it differs from the "
        "previous one (through compare_invoices) when there is one.",
    )(explain_invoice)
