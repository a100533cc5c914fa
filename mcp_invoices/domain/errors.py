"""The failures a user can see, each with a stable ``code`` (the README lists them).

Providers raise these; the MCP layer turns them into ``isError`` results with structured
``{code, message, hint}``. Messages are one sentence for a person and never carry a secret.
"""

from __future__ import annotations

from typing import ClassVar, Literal

__all__ = [
    "ErrorCode",
    "InvoiceError",
    "NotFound",
    "NotPaid",
    "MissingBillingDetails",
    "NotSupported",
    "InvalidArgument",
    "Unauthorized",
    "RateLimited",
    "ProviderUnavailable",
    "ProviderTimeout",
    "ServiceUnavailable",
    "not_found",
]

ErrorCode = Literal[
    "not_found",
    "not_paid",
    "missing_billing_details",
    "not_supported",
    "invalid_argument",
    "unauthorized",
    "rate_limited",
    "provider_unavailable",
    "timeout",
    "service_unavailable",
]


class InvoiceError(Exception):
    """Base of every expected failure; ``str()`` is the message for a person."""

    code: ClassVar[ErrorCode]

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class NotFound(InvoiceError):
    code = "not_found"


class NotPaid(InvoiceError):
    code = "not_paid"


class MissingBillingDetails(InvoiceError):
    code = "missing_billing_details"


class NotSupported(InvoiceError):
    code = "not_supported"


class InvalidArgument(InvoiceError):
    code = "invalid_argument"


class Unauthorized(InvoiceError):
    code = "unauthorized"


class RateLimited(InvoiceError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return body


class ProviderUnavailable(InvoiceError):
    code = "provider_unavailable"


class ProviderTimeout(InvoiceError):
    code = "timeout"


class ServiceUnavailable(InvoiceError):
    """The server's own database or shared store does not answer (not the provider's fault)."""

    code = "service_unavailable"


def not_found(kind: Literal["invoice", "order"], object_id: str) -> NotFound:
    """The one not-found answer, for a missing object and for another customer's alike.

    Built in one place so that the two cases cannot drift apart in code, wording or hint.
    """
    shown = object_id if len(object_id) <= 80 else object_id[:77] + "..."
    list_tool = "list_invoices" if kind == "invoice" else "list_orders"
    return NotFound(
        f"No {kind} {shown!r} was found for this session.",
        hint=f"Check the id, or call {list_tool} to see the {kind}s this session can access.",
    )
