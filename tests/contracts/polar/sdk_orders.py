"""Polar customer-portal responses built with polar-sdk 1.0.2's own models, and a recording Polar on loopback.

The SDK's output models are dataclasses generated from Polar's OpenAPI schema (one package per API
version); a body built from them and checked with ``polar.deserialize`` is a body the SDK says Polar may
send. The documented example order is Polar's own (polar c6c3645 server/emails/src/preview.ts ``order``).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import polar
import polar.v2026_04
import polar.v2026_04.outputs
import polar.v2026_10
import polar.v2027_01
from polar.v2026_04 import outputs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SDK_VERSIONS: dict[str, ModuleType] = {
    "2026-04": polar.v2026_04,
    "2026-10": polar.v2026_10,
    "2027-01": polar.v2027_01,
}
"""polar-sdk 1.0.2's packages by the ``Polar-Version`` their clients send (``Polar.version``)."""

ORDER_STATUSES: tuple[str, ...] = typing.get_args(polar.v2026_04.literals.OrderStatus)
"""Every value of the SDK's ``OrderStatus`` enum."""

ORDER_ID = "0a0a0000-0000-4000-8000-000000000001"
CUSTOMER_ID = "0c0c0000-0000-4000-8000-000000000001"
CREATED = "2026-03-01T10:00:00Z"


def item(label: str, amount: int, tax_amount: int, index: int = 0) -> outputs.OrderItemSchema:
    return outputs.OrderItemSchema(
        created_at=CREATED,
        modified_at=None,
        id=f"0e0e0000-0000-4000-8000-{index:012d}",
        label=label,
        amount=amount,
        tax_amount=tax_amount,
        proration=False,
        product_price_id=None,
        start_timestamp=None,
        end_timestamp=None,
    )


def customer_order(**overrides: Any) -> outputs.CustomerOrder:
    """A ``CustomerOrder`` with every optional field null; amounts of a $110.00 paid order unless overridden."""
    values: dict[str, Any] = {
        "id": ORDER_ID,
        "created_at": CREATED,
        "modified_at": None,
        "status": "paid",
        "paid": True,
        "subtotal_amount": 10000,
        "discount_amount": 0,
        "net_amount": 10000,
        "tax_amount": 1000,
        "total_amount": 11000,
        "applied_balance_amount": 0,
        "due_amount": 11000,
        "refunded_amount": 0,
        "refunded_tax_amount": 0,
        "currency": "usd",
        "billing_reason": "purchase",
        "billing_name": None,
        "billing_address": None,
        "invoice_number": None,
        "is_invoice_generated": True,
        "receipt_number": None,
        "seats": None,
        "units": None,
        "customer_id": CUSTOMER_ID,
        "product_id": None,
        "discount_id": None,
        "subscription_id": None,
        "checkout_id": None,
        "next_payment_attempt_at": None,
        "product": None,
        "subscription": None,
        "items": [item("Pro plan", 10000, 1000)],
        "description": "Pro plan",
        "refundable_amount": 10000,
        "refundable_tax_amount": 1000,
    }
    return outputs.CustomerOrder(**(values | overrides))


def polars_example_order() -> outputs.CustomerOrder:
    """Polar's own example order: paid, $96.12, $5.00 of customer balance applied, ``due_amount`` 9112.

    polar c6c3645 server/emails/src/preview.ts ``order`` (its items carry no tax there; 0 here, and the
    state is the ``US-CA`` Polar stores for ``CA``, server/polar/kit/address.py).
    """
    return customer_order(
        status="paid",
        paid=True,
        invoice_number="INV-2024-001",
        description="Bacon Pro",
        created_at="2024-01-15T10:30:00Z",
        subtotal_amount=9900,
        discount_amount=1000,
        net_amount=8900,
        tax_amount=712,
        total_amount=9612,
        applied_balance_amount=-500,
        due_amount=9112,
        refundable_amount=8400,
        refundable_tax_amount=712,
        billing_name="John Doe",
        billing_address=outputs.Address(
            line1="123 Main Street",
            line2="Apt 4B",
            city="San Francisco",
            state="US-CA",
            postal_code="94105",
            country="US",
        ),
        items=[item("Bacon Pro", 8900, 0, 1), item("Setup Fee", 1000, 0, 2)],
    )


def body_of(model: Any) -> Any:
    """The JSON body of an SDK model, checked to read back as that model."""
    body = dataclasses.asdict(model)
    polar.deserialize(body, type(model))
    return body


def order_page(*orders: outputs.CustomerOrder) -> dict[str, Any]:
    page = outputs.ListResourceCustomerOrder(
        items=list(orders), pagination=outputs.Pagination(total_count=len(orders), max_page=1)
    )
    return typing.cast(dict[str, Any], body_of(page))


# -- a recording Polar -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One request as it reached the wire: what both our client and the SDK are compared on."""

    method: str
    path: str
    query: frozenset[str]
    version: str | None
    authorization: str
    json_keys: frozenset[str]


@dataclass
class RecordingPolar:
    """Answers the customer-portal routes with fixed SDK-built bodies and records every request."""

    order: dict[str, Any]
    sent: list[Sent] = field(default_factory=list)

    def app(self) -> Starlette:
        async def record(request: Request) -> None:
            raw = await request.body()
            keys: frozenset[str] = frozenset()
            if raw:
                parsed = await request.json()
                keys = frozenset(parsed) if isinstance(parsed, dict) else frozenset()
            self.sent.append(
                Sent(
                    method=request.method,
                    path=request.url.path,
                    query=frozenset(request.query_params.keys()),
                    version=request.headers.get("polar-version"),
                    authorization=request.headers.get("authorization", "").split(" ")[0],
                    json_keys=keys,
                )
            )

        async def orders(request: Request) -> Response:
            await record(request)
            return JSONResponse(order_page(polar.deserialize(self.order, outputs.CustomerOrder)))

        async def order(request: Request) -> Response:
            await record(request)
            return JSONResponse(self.order)

        async def invoice(request: Request) -> Response:
            await record(request)
            if request.method == "POST":
                return JSONResponse(None, 202)  # FastAPI serializes the endpoint's None as null
            return JSONResponse(body_of(outputs.CustomerOrderInvoice(url="http://127.0.0.1:9/invoice.pdf")))

        async def sessions(request: Request) -> Response:
            await record(request)
            return JSONResponse({"token": "polar_cst_recorded", "expires_at": "2099-01-01T00:00:00Z"}, 201)

        return Starlette(
            routes=[
                Route("/v1/customer-portal/orders/", orders, methods=["GET"]),
                Route("/v1/customer-portal/orders/{id}", order, methods=["GET", "PATCH"]),
                Route("/v1/customer-portal/orders/{id}/invoice", invoice, methods=["GET", "POST"]),
                Route("/v1/customer-sessions/", sessions, methods=["POST"]),
            ]
        )
