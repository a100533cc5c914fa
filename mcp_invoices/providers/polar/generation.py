"""Asking Polar to generate an order's invoice: saving billing details first, then the one POST.

Each Polar answer maps to one outcome: scheduled, or the error a person can act on (missing billing
details, a draft or void order, refused details). Polar itself invoices unpaid (pending) orders too.
Kept apart from the provider so that the provider reads as the flow (lock, claim, wait) and this as
the wire.
"""

from __future__ import annotations

from typing import Any, Final

from mcp_invoices.domain.errors import (
    InvalidArgument,
    MissingBillingDetails,
    NotPaid,
    NotSupported,
    ProviderUnavailable,
    not_found,
)
from mcp_invoices.domain.models import Billing
from mcp_invoices.principal import Scope
from mcp_invoices.providers.http import path_segment
from mcp_invoices.providers.polar.portal import PolarPortal
from mcp_invoices.providers.polar.wire import ORDER, WireOrder
from mcp_invoices.providers.wire import error_body, text_at

__all__ = [
    "ORDERS",
    "invoice_path",
    "locked_address_fields",
    "order_path",
    "request_generation",
    "update_billing",
]

ORDERS: Final = "/v1/customer-portal/orders/"


def order_path(order_id: str) -> str:
    return f"{ORDERS}{path_segment(order_id)}"


def invoice_path(order_id: str) -> str:
    return f"{order_path(order_id)}/invoice"


def locked_address_fields(body: Any) -> list[str]:
    """The billing address fields a PATCH 422 says cannot change (``country``, ``state``), in that order.

    polar c6c3645 server/polar/order/service.py OrderService.update: once an order has a billing address,
    a different country or state is a PolarRequestValidationError at ("body", "billing_address", field)
    with msg "Country cannot be changed" / "State cannot be changed".
    """
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list):
        return []
    found: set[str] = set()
    for error in detail:
        loc = error.get("loc") if isinstance(error, dict) else None
        message = text_at(error, "msg") or ""
        if (
            isinstance(loc, list)
            and loc[-2:] in (["billing_address", "country"], ["billing_address", "state"])
            and "cannot be changed" in message
        ):
            found.add(str(loc[-1]))
    return [field for field in ("country", "state") if field in found]


async def update_billing(portal: PolarPortal, scope: Scope, order: WireOrder, billing: Billing) -> WireOrder:
    """Save the billing name and/or address on the order (Polar accepts this whether or not it is invoiced)."""
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
        expected=(200, 404, 422),
        idempotent=True,
    )
    if response.status_code == 404:
        raise not_found("order", order.id)
    if response.status_code == 422:
        locked = locked_address_fields(error_body(response))
        if locked:
            current = order.billing_address
            stated = ", ".join(
                f"{field} {getattr(current, field)!r}" for field in locked if current is not None
            )
            raise InvalidArgument(
                f"Polar does not let the {' and '.join(locked)} of order {order.id!r}'s billing address "
                f"change once it is set{f' (it is {stated})' if stated else ''}.",
                hint="Pass billing_address with the country and state named here and change only its other "
                "lines; Polar cannot invoice this order to another country or state.",
            )
        raise InvalidArgument(
            f"Polar refused the billing details for order {order.id!r}.",
            hint="Pass billing_name and a billing_address with line1, postal_code, city and a two-letter "
            "country code.",
        )
    return ORDER.read(response, what="an order")


async def request_generation(portal: PolarPortal, scope: Scope, order: WireOrder) -> None:
    """Ask Polar to generate the invoice of an order that has none yet (it is then scheduled).

    Called only for an order whose invoice does not exist: on one that does, Polar answers 202 too and
    regenerates the invoice when its inputs changed (polar c6c3645 server/polar/order/service.py
    trigger_invoice_generation: checksum), which an existing invoice must never undergo here.
    """
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
        return  # polar c6c3645 customer_portal/endpoints/order.py generate_invoice: 202, a JSON null
    body = error_body(response)
    error = text_at(body, "error")
    reason = text_at(body, "detail")
    if status == 404:
        raise not_found("order", order.id)
    if status == 409:
        # polar c6c3645 server/polar/order/service.py: OrderNotEligibleForInvoice, draft and void orders
        # only; the endpoint's one 409.
        raise NotSupported(
            f"Polar does not invoice order {order.id!r}: "
            + (reason or f"it is not eligible for an invoice (status {order.status}).").rstrip(".")
            + ".",
            hint="Polar invoices orders that are pending or paid, not draft or void ones; call list_orders "
            "to find one.",
        )
    if status == 422:
        if error == "MissingInvoiceBillingDetails":
            raise MissingBillingDetails(
                f"Polar needs a billing name and address before it can invoice order {order.id!r}.",
                hint="Call generate_invoice again with billing_name and billing_address "
                "(line1, postal_code, city, country).",
            )
        if error == "NotPaidOrder":
            # Older deployments (seed tests/sandbox/seeds/001_757ee1a45c644c68.txt) refused unpaid orders this way; current Polar invoices them.
            raise NotPaid(
                f"Order {order.id!r} is not paid, and this Polar deployment invoices only paid orders.",
                hint="Generate the invoice once the order is paid.",
            )
        if error == "RequestValidationError":
            raise not_found("order", order.id)
    raise ProviderUnavailable(
        f"Polar refused to generate the invoice of order {order.id!r} "
        "for a reason this server does not know.",
        hint="Try again later; if it persists, check the order in Polar's customer portal.",
    )
