"""Asking Polar to generate an order's invoice: saving billing details first, then the one POST.

Each Polar answer maps to one outcome: scheduled, already there, or the error a person can act on
(not paid, missing billing details, draft or void order, refused details). Kept apart from the
provider so that the provider reads as the flow (lock, claim, wait) and this as the wire.
"""

from __future__ import annotations

from typing import Any, Final

from mcp_invoices.domain.errors import (
    InvalidArgument,
    MissingBillingDetails,
    NotPaid,
    ProviderUnavailable,
    not_found,
)
from mcp_invoices.domain.models import Billing
from mcp_invoices.principal import Scope
from mcp_invoices.providers.http import path_segment
from mcp_invoices.providers.polar_portal import PolarPortal
from mcp_invoices.providers.polar_wire import DISPLAY_NAME, UNREADABLE_HINT, WireOrder
from mcp_invoices.providers.wire import error_body, read_body, text_at

__all__ = ["ORDERS", "invoice_path", "order_path", "request_generation", "update_billing"]

ORDERS: Final = "/v1/customer-portal/orders/"


def order_path(order_id: str) -> str:
    return f"{ORDERS}{path_segment(order_id)}"


def invoice_path(order_id: str) -> str:
    return f"{order_path(order_id)}/invoice"


async def update_billing(
    portal: PolarPortal, scope: Scope, order: WireOrder, billing: Billing
) -> WireOrder | None:
    """Save the billing name and/or address on the order; None when its invoice exists already (409)."""
    body: dict[str, Any] = {}
    if billing.name is not None:
        body["billing_name"] = billing.name
    if billing.address is not None:
        body["billing_address"] = billing.address.model_dump()
    if not body:
        return order
    response = await portal.request(
        scope,
        "PATCH",
        order_path(order.id),
        json=body,
        expected=(200, 404, 409, 422),
        idempotent=True,
    )
    if response.status_code == 404:
        raise not_found("order", order.id)
    if response.status_code == 409:
        return None  # the invoice came into existence meanwhile
    if response.status_code == 422:
        raise InvalidArgument(
            f"Polar refused the billing details for order {order.id!r}.",
            hint="Pass billing_name and a billing_address with line1, postal_code, city and a two-letter "
            "country code.",
        )
    return read_body(WireOrder, response, provider=DISPLAY_NAME, what="an order", hint=UNREADABLE_HINT)


async def request_generation(portal: PolarPortal, scope: Scope, order: WireOrder) -> bool:
    """Ask Polar to generate; True when it scheduled it, False when the invoice already existed."""
    # Not idempotent for the retry layer: a POST that may have reached Polar is never repeated.
    response = await portal.request(
        scope,
        "POST",
        invoice_path(order.id),
        expected=(200, 201, 202, 204, 404, 409, 422),
        idempotent=False,
    )
    status = response.status_code
    if status in (200, 201, 202, 204):
        return True  # 202 with a JSON null or with {}: both mean scheduled
    error = text_at(error_body(response), "error")
    if status == 404:
        raise not_found("order", order.id)
    if status == 409:
        if error == "InvoiceAlreadyExists":
            return False
        if order.status in ("draft", "void"):
            raise InvalidArgument(
                f"Order {order.id!r} is {order.status}, and Polar does not invoice draft or void orders.",
                hint="Only paid orders can be invoiced; call list_orders to find one.",
            )
        raise NotPaid(
            f"Order {order.id!r} is not eligible for an invoice: Polar invoices only paid orders "
            f"(this one is {order.status}).",
            hint="Generate the invoice once the order is paid.",
        )
    if status == 422:
        if error == "MissingInvoiceBillingDetails":
            raise MissingBillingDetails(
                f"Polar needs a billing name and address before it can invoice order {order.id!r}.",
                hint="Call generate_invoice again with billing_name and billing_address "
                "(line1, postal_code, city, country).",
            )
        if error == "NotPaidOrder":
            raise NotPaid(
                f"Order {order.id!r} is not paid, so Polar cannot invoice it yet.",
                hint="Generate the invoice once the order is paid.",
            )
        if error == "RequestValidationError":
            raise not_found("order", order.id)
    raise ProviderUnavailable(
        f"Polar refused to generate the invoice of order {order.id!r} "
        "for a reason this server does not know.",
        hint="Try again later; if it persists, check the order in Polar's customer portal.",
    )
