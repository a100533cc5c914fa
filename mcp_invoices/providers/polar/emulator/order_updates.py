"""Polar's emulator: what changes an order, generating its invoice and editing its billing details."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from mcp_invoices.providers.emulation import json_response
from mcp_invoices.providers.polar.emulator.records import error, order_json, validation_error
from mcp_invoices.providers.polar.emulator.seed import PolarOrder

if TYPE_CHECKING:
    from mcp_invoices.providers.polar.emulator import PolarState

__all__ = ["generate_invoice", "patch_order"]


def generate_invoice(state: PolarState, order: PolarOrder) -> Response:
    # polar c6c3645 server/polar/order/service.py trigger_invoice_generation: draft and void are the only
    # ineligible statuses (409); pending orders are invoiced.
    if order.status in ("draft", "void") or (state.legacy_not_paid_422 and order.status == "pending"):
        if state.legacy_not_paid_422:
            return error(422, "NotPaidOrder", "Order is not paid.")
        return error(
            409,
            "OrderNotEligibleForInvoice",
            f"Order {order.id} is not eligible for invoice generation (current status: {order.status}).",
        )
    # same function: billing_name or billing_address None → 422 MissingInvoiceBillingDetails
    if order.billing_name is None or order.billing_address is None:
        return error(
            422,
            "MissingInvoiceBillingDetails",
            "Billing name and address are required to generate an invoice for this order.",
        )
    state.generation_requests[order.id] += 1
    checksum = order.invoice_checksum()
    if order.invoice_ready_at is None:
        order.invoice_ready_at = state.now() + state.generation_delay
    elif order.invoice_inputs is not None and order.invoice_inputs != checksum:
        # same function: an existing invoice whose checksum no longer matches is generated again (202)
        state.regenerations[order.id] += 1
    order.invoice_inputs = checksum
    return json_response(None, 202)


_ADDRESS_FIELDS = ("line1", "line2", "postal_code", "city", "state", "country")


def _normalized_state(country: str, region: str | None) -> str | None:
    # polar c6c3645 server/polar/kit/address.py Address.validate_state: US and CA states get a prefix
    if region and country in ("US", "CA") and not region.startswith(f"{country}-"):
        return f"{country}-{region}"
    return region or None


async def patch_order(request: Request, state: PolarState, order: PolarOrder) -> Response:
    try:
        body = await request.json()
    except ValueError:
        return validation_error(["body"], "JSON decode error", "json_invalid", None)
    if not isinstance(body, dict):
        return validation_error(["body"], "Input should be a valid dictionary", "dict_type", body)
    # polar c6c3645 customer_portal/endpoints/order.py update: no invoice check, an invoiced order is updated too
    name = body.get("billing_name", order.billing_name)
    if name is not None and not isinstance(name, str):
        return validation_error(
            ["body", "billing_name"], "Input should be a valid string", "string_type", name
        )
    address = order.billing_address
    if "billing_address" in body:
        raw = body["billing_address"]
        if raw is None:
            address = None
        elif not isinstance(raw, dict) or not isinstance(raw.get("country"), str) or len(raw["country"]) != 2:
            return validation_error(["body", "billing_address", "country"], "Field required", "missing", raw)
        else:
            address = {key: raw.get(key) or None for key in _ADDRESS_FIELDS}
            country = str(raw["country"]).upper()
            address["country"] = country
            address["state"] = _normalized_state(country, address["state"])
            current = order.billing_address
            if current is not None:
                # polar c6c3645 server/polar/order/service.py OrderService.update: country and state are fixed
                errors = [
                    {
                        "type": "value_error",
                        "loc": ["body", "billing_address", key],
                        "msg": f"{key.capitalize()} cannot be changed",
                        "input": address[key],
                    }
                    for key in ("country", "state")
                    if address[key] != current.get(key)
                ]
                if errors:
                    return error(422, "PolarRequestValidationError", errors)
    order.billing_name = name
    order.billing_address = address
    return json_response(order_json(state, order))
