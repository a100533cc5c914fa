"""What Payabli's refusals say: its own words about them (short, scrubbed), and whether a refusal on one
invoice means "no such invoice" (``not_found``, alike for a missing one and another customer's)."""

from __future__ import annotations

import re
from typing import Any

import httpx2

from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.logs import redact
from mcp_invoices.providers.wire import error_body, text_at

__all__ = ["error_text", "lookup_failure", "refusal"]

_NOT_FOUND_CODES = frozenset({3003})
"""``responseCode`` values that mean "no such invoice" on ``GET /Invoice/{id}`` for a well-formed id:
docs.payabli.com/api-reference/api-responses, 3003 "Invalid parameter value in request" (the id is
the request's only parameter, and it is checked here to be a canonical int64 before it is sent)."""
_NOT_FOUND_TEXT = re.compile(
    r"not\s+found|(?:can\s*not|can't|could\s+not|unable\s+to)\s+find|does\s*(?:n't|\s+not)\s+exist"
    r"|no\s+(?:such\s+)?(?:invoice|record)|invalid\s+(?:invoice|id)",
    re.IGNORECASE,
)
"""How Payabli may word "there is no such invoice" when a refusal carries no ``responseCode``."""


def error_text(token: str, body: Any) -> str | None:
    """Payabli's own words about a refusal (``responseText``, ``explanation``), short and scrubbed."""
    parts = (text_at(body, "responseText"), text_at(body, "responseData", "explanation"))
    text = "; ".join(part.strip() for part in parts if part and part.strip())
    if not text:
        return None
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    text = redact(text.replace(token, "[redacted]")).rstrip(" .")
    return text if len(text) <= 160 else text[:157] + "..."


def lookup_failure(token: str, response: httpx2.Response, invoice_id: str) -> Exception:
    """A lookup's answer other than 200: 404 is not_found, a 400 is read as a refusal."""
    if response.status_code == 404:
        return errors.not_found("invoice", invoice_id)
    return refusal(token, error_body(response), invoice_id)


def refusal(token: str, body: Any, invoice_id: str) -> Exception:
    """A 400 (or ``isSuccess: false``) on one invoice: "no such invoice" → not_found, else unavailable.

    Read from the structured ``responseCode`` (payabli 1.0.19 types/payabli_error_body.py) first;
    the wording of ``responseText`` only when there is no code.
    """
    text = error_text(token, body)
    code = body.get("responseCode") if isinstance(body, dict) else None
    if isinstance(code, int) and not isinstance(code, bool):
        if code in _NOT_FOUND_CODES:
            return errors.not_found("invoice", invoice_id)
    elif text is not None and _NOT_FOUND_TEXT.search(text):
        return errors.not_found("invoice", invoice_id)
    said = f": {text}" if text else ""
    return ProviderUnavailable(
        f"Payabli refused to return the invoice{said}.",
        hint="Try again later; if it persists, check PAYABLI_BASE_URL and the Payabli dashboard.",
    )
