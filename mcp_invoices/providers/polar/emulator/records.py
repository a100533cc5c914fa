"""Polar's emulator: the JSON it answers with (orders, errors) and the invoice PDF, as Polar serves them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from mcp_invoices.providers.emulation import iso_z, json_response, render_pdf
from mcp_invoices.providers.polar.emulator.seed import POLAR_CUSTOMER_IDS, PolarOrder

if TYPE_CHECKING:
    from mcp_invoices.providers.polar.emulator import PolarState

__all__ = [
    "PolarFaults",
    "error",
    "invoice_pdf",
    "not_found",
    "order_json",
    "unauthorized",
    "validation_error",
]

PRODUCT_ID = "0d0c0000-0000-4000-8000-00000000d001"
PRICE_ID = "0d0c0000-0000-4000-8000-00000000e001"


def error(status: int, name: str, detail: Any, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": name, "detail": detail}, status, headers)


def not_found() -> Response:
    return error(404, "ResourceNotFound", "Not found")


def unauthorized() -> Response:
    return error(401, "Unauthorized", "Unauthorized", {"WWW-Authenticate": 'Bearer realm="polar"'})


def validation_error(loc: list[str | int], msg: str, error_type: str, value: Any) -> Response:
    return error(
        422, "RequestValidationError", [{"type": error_type, "loc": loc, "msg": msg, "input": value}]
    )


_ORGANIZATION_ID = "0d0c0000-0000-4000-8000-00000000f001"

_EPOCH = "2025-01-01T00:00:00Z"

_FAULT_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "NotPermitted",
    404: "ResourceNotFound",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


class PolarFaults:
    def error(self, status: int) -> Response:
        name = _FAULT_NAMES.get(status, "Error")
        headers = {"WWW-Authenticate": 'Bearer realm="polar"'} if status == 401 else None
        return error(status, name, f"Sandbox injected {status}.", headers)

    def rate_limited(self, retry_after: int) -> Response:
        return error(429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": str(retry_after)})


def _product_json() -> dict[str, Any]:
    """The ``CustomerOrderProduct`` every seeded order is for (polar c6c3645 customer_portal/schemas/order.py)."""
    return {
        "id": PRODUCT_ID,
        "created_at": _EPOCH,
        "modified_at": None,
        "trial_interval": None,
        "trial_interval_count": None,
        "name": "Sandbox product",
        "description": None,
        "visibility": "public",
        "recurring_interval": None,
        "recurring_interval_count": None,
        "meter_interval": None,
        "meter_interval_count": None,
        "is_recurring": False,
        "is_archived": False,
        "organization_id": _ORGANIZATION_ID,
        "prices": [],
        "benefits": [],
        "medias": [],
        "organization": {
            "created_at": _EPOCH,
            "modified_at": None,
            "id": _ORGANIZATION_ID,
            "name": "Sandbox organization",
            "slug": "sandbox",
            "avatar_url": None,
            "proration_behavior": "prorate",
            "allow_customer_updates": True,
            "customer_portal_settings": {
                "usage": {"show": True},
                "subscription": {"update_seats": True, "update_plan": True},
            },
        },
    }


def _item_json(order: PolarOrder, index: int, created: str) -> dict[str, Any]:
    item = order.items[index]
    return {
        "created_at": created,
        "modified_at": None,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{order.id}/{index}")),
        "label": item.label,
        "amount": item.amount,
        "tax_amount": item.tax_amount,
        "proration": False,
        "product_price_id": PRICE_ID,
        # polar-sdk 1.0.2 OrderItemSchema requires these (nullable); polar c6c3645 has neither
        "start_timestamp": None,
        "end_timestamp": None,
    }


def order_json(state: PolarState, order: PolarOrder) -> dict[str, Any]:
    """The ``CustomerOrder`` shape of the customer portal, every field Polar serves.

    polar c6c3645 server/polar/customer_portal/schemas/order.py CustomerOrder (OrderBase + product,
    subscription, items, description) and polar-sdk 1.0.2 ``v2026_04.outputs.CustomerOrder``; the same
    in 2026-10 (Polar versions no field of it).
    """
    created = iso_z(order.created_at)
    return {
        "id": order.id,
        "created_at": created,
        "modified_at": created,
        "status": order.status,
        "paid": order.paid,
        "subtotal_amount": order.subtotal_amount,
        "discount_amount": order.discount_amount,
        "net_amount": order.net_amount,
        "tax_amount": order.tax_amount,
        "total_amount": order.total_amount,
        "applied_balance_amount": order.applied_balance_amount,
        "due_amount": order.due_amount,
        "refunded_amount": order.refunded_amount,
        "refunded_tax_amount": order.refunded_tax_amount,
        "currency": order.currency,
        "billing_reason": "purchase",
        "billing_name": order.billing_name,
        "billing_address": dict(order.billing_address) if order.billing_address is not None else None,
        "invoice_number": order.invoice_number,
        "is_invoice_generated": state.is_invoice_generated(order),
        "receipt_number": None,  # the sandbox organisation has receipts disabled
        "seats": None,
        "units": None,
        "customer_id": POLAR_CUSTOMER_IDS[order.customer],
        "product_id": PRODUCT_ID,
        "discount_id": None,
        "subscription_id": None,
        "checkout_id": None,
        "next_payment_attempt_at": None,
        # computed fields of OrderBase, serialized with the rest
        "amount": order.net_amount,
        "from_balance_amount": order.applied_balance_amount,
        "refundable_amount": order.refundable_amount,
        "refundable_tax_amount": order.refundable_tax_amount,
        "product": _product_json(),
        "subscription": None,
        "description": order.description or (order.items[0].label if order.items else ""),
        "items": [_item_json(order, index, created) for index in range(len(order.items))],
    }


def invoice_pdf(order: PolarOrder) -> bytes:
    lines = [
        f"Invoice number: {order.invoice_number or order.id}",
        f"Billed to: {order.billing_name or ''}",
        *(
            f"{item.label}: {item.amount} + tax {item.tax_amount} ({order.currency.upper()} minor units)"
            for item in order.items
        ),
        f"Total: {order.total_amount} {order.currency.upper()} (minor units)",
    ]
    return render_pdf("Polar sandbox invoice", lines)
