"""Payabli's PDF export: the file object it answers with, read as the invoice's PDF.

payabli 1.0.19 invoice/raw_client.py get_invoice_pdf: ``GET Export/invoicePdf/{idInvoice}`` answers a
JSON file object (types/file_content.py: ``fContent`` base64, ``filename``, ``ftype``, ``furl``).
"""

from __future__ import annotations

import base64
import binascii

import httpx2

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.providers import json_guard
from mcp_invoices.providers.http import DOCUMENT_MAX_BYTES

__all__ = ["PDF_ANSWER_MAX_BYTES", "pdf_document"]

_PDF_MEDIA_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/octet-stream"})
_PDF_MAGIC = b"%PDF-"
PDF_ANSWER_MAX_BYTES = DOCUMENT_MAX_BYTES * 4 // 3 + 64 * 1024
"""A file object carries the PDF in base64 (4 bytes per 3) plus a few short fields."""


def _not_a_pdf(what: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"Payabli's PDF export answered {what}, not the invoice's PDF.",
        hint="Try again later; if it persists, check PAYABLI_BASE_URL points at the Payabli API.",
    )


def pdf_document(response: httpx2.Response) -> bytes | None:
    """The PDF in an export answer; None when Payabli says it has none; raises on anything else.

    The answer is a JSON file object (payabli 1.0.19 invoice/raw_client.py get_invoice_pdf parses a
    200 as JSON; types/file_content.py: ``fContent`` base64, ``filename``, ``ftype``, ``furl``). A raw
    PDF body is taken as well, should Payabli ever send the document itself.
    """
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    content = response.content
    if content.startswith(_PDF_MAGIC) and (media_type in _PDF_MEDIA_TYPES or not media_type):
        if len(content) > DOCUMENT_MAX_BYTES:
            raise _not_a_pdf("a file larger than this server reads")
        return content
    if not media_type.endswith("json"):
        raise _not_a_pdf(f"a {media_type or 'untyped'} body")
    try:
        body = json_guard.loads(content)
    except (ValueError, RecursionError):
        raise _not_a_pdf("unreadable JSON") from None
    if not isinstance(body, dict):
        raise _not_a_pdf("JSON that is not a file object")
    data = body.get("fContent")
    if data is None or data == "":
        return None  # a file object without content: Payabli has no document to give
    if not isinstance(data, str):
        raise _not_a_pdf("a file object whose content is not text")
    try:
        decoded = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _not_a_pdf("a file object whose content is not base64") from None
    if not decoded.startswith(_PDF_MAGIC):
        raise _not_a_pdf(f"a file object of type {str(body.get('ftype'))[:20]!r}")
    if len(decoded) > DOCUMENT_MAX_BYTES:
        raise _not_a_pdf("a file larger than this server reads")
    return decoded
