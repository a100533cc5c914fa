"""Shaping tool results: structured errors, resource links and opaque cursors.

Kept apart from the tool definitions so that every tool fails, links and paginates the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from typing import Any

from mcp_types import CallToolResult, ContentBlock, ResourceLink, TextContent
from pydantic import BaseModel

from mcp_invoices.domain.errors import InvalidArgument, InvoiceError
from mcp_invoices.domain.models import Invoice

__all__ = [
    "error_result",
    "unexpected_error_result",
    "structured_result",
    "invoice_links",
    "encode_cursor",
    "decode_cursor",
]

logger = logging.getLogger("mcp_invoices.tools")


def error_result(error: InvoiceError) -> CallToolResult:
    """An ``isError`` result with ``{code, message, hint}`` for programs and one line for people."""
    text = error.message if not error.hint else f"{error.message} {error.hint}"
    return CallToolResult(
        is_error=True,
        content=[TextContent(type="text", text=text)],
        structured_content=error.to_dict(),
    )


def unexpected_error_result(tool: str) -> CallToolResult:
    """A failure nobody anticipated: logged by type only, reported without internals."""
    return error_result(
        _Unexpected(
            f"The server hit an unexpected error while running {tool}.",
            hint="Try again; if it keeps failing, report it with the server's stderr log.",
        )
    )


class _Unexpected(InvoiceError):
    code = "provider_unavailable"


def structured_result(model: BaseModel, text: str, links: list[ResourceLink] | None = None) -> CallToolResult:
    content: list[ContentBlock] = [TextContent(type="text", text=text)]
    content.extend(links or [])
    return CallToolResult(structured_content=model.model_dump(mode="json"), content=content)


def invoice_links(invoice: Invoice) -> list[ResourceLink]:
    """Links to an invoice's documents: tools point at the PDF, they never inline it."""
    label = invoice.number or invoice.id
    return [
        ResourceLink(
            type="resource_link",
            uri=invoice.documents.json_uri,
            name=f"{label}.json",
            title=f"Invoice {label} (JSON)",
            mime_type="application/json",
        ),
        ResourceLink(
            type="resource_link",
            uri=invoice.documents.pdf_uri,
            name=f"{label}.pdf",
            title=f"Invoice {label} (PDF)",
            mime_type="application/pdf",
        ),
    ]


# -- cursors ---------------------------------------------------------------------------------------
# A cursor names the listing it belongs to (tool, provider, filters) and the provider's own position.
# Scoping never depends on it: every page is read within the caller's scope again.


def _listing_digest(listing: dict[str, Any]) -> str:
    canonical = json.dumps(listing, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(listing: dict[str, Any], position: str | None) -> str | None:
    if position is None:
        return None
    payload = json.dumps({"v": 1, "l": _listing_digest(listing), "p": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(listing: dict[str, Any], cursor: str | None) -> str | None:
    if cursor is None:
        return None
    invalid = InvalidArgument(
        "The cursor does not belong to this listing (it is malformed, or the filters changed).",
        hint="Call the tool again without cursor, with the same filters, and page on from there.",
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != 1
        or payload.get("l") != _listing_digest(listing)
        or not isinstance(payload.get("p"), str)
    ):
        raise invalid
    return payload["p"]
