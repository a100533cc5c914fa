"""Shaping tool results: errors every client reads, text that carries the data, links, cursors.

Kept apart from the tool definitions so that every tool fails, links and paginates the same way.

- An error carries no structured content: it would contradict the tool's outputSchema, and clients
  that validate results (the TypeScript SDK 1.x, so Claude Desktop, VS Code, Cursor, the Inspector)
  throw instead of showing it. ``{code, message, hint, retry_after?}`` travels as JSON in the text
  (and again in ``_meta``).
- A success's text is a one-line summary, then the whole structured result as compact JSON: hosts
  that hand the model only the text still see every line and amount.
- A client that negotiated a protocol older than ``resource_link`` gets the links as text, and
  tools without ``outputSchema`` (defined, like ``structuredContent``, from 2025-06-18): a client
  that knows outputSchema but negotiated an older version would otherwise demand structured content
  the server may not send it (the TypeScript SDK 1.12 does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from typing import Any

from mcp_types import CallToolResult, ContentBlock, ListToolsResult, ResourceLink, TextContent
from pydantic import BaseModel

from mcp_invoices.domain.errors import InvalidArgument, InvoiceError
from mcp_invoices.domain.models import Invoice

__all__ = [
    "ERROR_META_KEY",
    "for_protocol",
    "tools_for_protocol",
    "error_result",
    "unexpected_error_result",
    "structured_result",
    "invoice_links",
    "encode_cursor",
    "decode_cursor",
]

logger = logging.getLogger("mcp_invoices.tools")


ERROR_META_KEY = "mcp-invoices/error"
"""The ``_meta`` key that repeats an error's ``{code, message, hint, retry_after?}``."""

RESOURCE_LINK_SINCE = "2025-06-18"
"""The first protocol version that defines ``resource_link`` content (and ``structuredContent``)."""


def _compact_json(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def error_result(error: InvoiceError) -> CallToolResult:
    """An ``isError`` result whose text is the error object as JSON, readable by every client."""
    body = error.to_dict()
    return CallToolResult(
        is_error=True,
        content=[TextContent(type="text", text=_compact_json(body))],
        _meta={ERROR_META_KEY: body},
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


def structured_result(
    model: BaseModel,
    summary: str,
    links: list[ResourceLink] | None = None,
    meta: dict[str, Any] | None = None,
) -> CallToolResult:
    """``summary`` (one line) and the whole result as compact JSON in the text; the same as structured content.

    The model is serialised once, by pydantic-core (compact, UTF-8, the schema's field order); the
    structured content is that text parsed back, which costs less than a second serialisation and
    cannot differ from the text. ``meta`` goes to the result's ``_meta`` (what a view prints beyond
    the data, see ``mcp_invoices.views.invoice_view_data``).
    """
    text = model.model_dump_json()
    content: list[ContentBlock] = [TextContent(type="text", text=f"{summary}\n{text}")]
    content.extend(links or [])
    if meta is None:
        return CallToolResult(structured_content=json.loads(text), content=content)
    return CallToolResult(structured_content=json.loads(text), content=content, _meta=meta)


def for_protocol(
    result: CallToolResult, protocol_version: str | None, document_links: str = "resource_link"
) -> CallToolResult:
    """``result`` as a client of ``protocol_version`` can parse it, with documents linked as configured.

    Before 2025-06-18 there is no ``resource_link`` and no ``structuredContent`` (the text carries it).
    With ``document_links="text"`` (``MCP_INVOICES_DOCUMENT_LINKS``, the default) no version gets
    ``resource_link`` blocks either: agent frameworks turn them into file parts of the next model
    request, which model APIs refuse (LangChain's ``ChatOpenAI``: "does not support file URLs") or which
    the framework fills by reading the resource (Pydantic AI inlines the PDF). Either way the links
    become one text block naming each document's URI, readable with resources/read, and the
    structured content (where defined) names them too. Versions compare as ISO dates; an unknown (None)
    version is served as the newest.
    """
    structured_defined = protocol_version is None or protocol_version >= RESOURCE_LINK_SINCE
    if structured_defined and document_links == "resource_link":
        return result
    links = [block for block in result.content if isinstance(block, ResourceLink)]
    content: list[ContentBlock] = [block for block in result.content if not isinstance(block, ResourceLink)]
    if links:
        listed = "; ".join(f"{link.title or link.name}: {link.uri}" for link in links)
        content.append(TextContent(type="text", text=f"Documents (read with resources/read): {listed}"))
    update: dict[str, Any] = {"content": content}
    if not structured_defined:
        update["structured_content"] = None
    return result.model_copy(update=update)


def tools_for_protocol(result: ListToolsResult, protocol_version: str | None) -> ListToolsResult:
    """``tools/list`` as a client of ``protocol_version`` reads it: no ``outputSchema`` before 2025-06-18.

    Such a client is sent no structured content (see ``for_protocol``), so it must not be promised any.
    """
    if protocol_version is None or protocol_version >= RESOURCE_LINK_SINCE:
        return result
    tools = [tool.model_copy(update={"output_schema": None}) for tool in result.tools]
    return result.model_copy(update={"tools": tools})


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
    position = payload.get("p") if isinstance(payload, dict) else None
    if not isinstance(position, str) or payload.get("v") != 1 or payload.get("l") != _listing_digest(listing):
        raise invalid
    return position
