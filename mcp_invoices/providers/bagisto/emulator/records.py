"""Bagisto's emulator: the JSON it answers with (REST and GraphQL) and the PDF, as bagisto-api 5ab9ff2 does."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from mcp_invoices.providers.bagisto.emulator.graphql import connection
from mcp_invoices.providers.bagisto.emulator.seed import BagistoInvoice, BagistoItem
from mcp_invoices.providers.emulation import render_pdf

__all__ = ["graphql_invoice", "invoice_json", "invoice_pdf", "item_iri", "item_json"]


def _php_float(value: Decimal) -> Decimal:
    """A DECIMAL column cast to PHP ``float`` and json_encoded: ``110.0``, ``0.3``, ``59.97``.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoice.php: amounts cast 'float'.
    """
    normalized = value.normalize()
    return normalized.quantize(Decimal("0.1")) if normalized == normalized.to_integral_value() else normalized


def item_iri(item: BagistoItem) -> str:
    """A skolem IRI: the item resource has no operations, so API Platform names it ``/.well-known/genid``.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoiceItem.php: ``operations: []``; nothing serves the IRI.
    """
    return "/api/.well-known/genid/" + hashlib.sha256(f"item-{item.id}".encode()).hexdigest()[:20]


def item_json(item: BagistoItem) -> dict[str, Any]:
    # bagisto-api 5ab9ff2 src/Models/CustomerInvoiceItem.php: qty int, price/total/taxAmount/discountAmount floats.
    return {
        "id": item.id,
        "sku": item.sku,
        "name": item.name,
        "qty": item.qty,
        "price": _php_float(item.price),
        "total": _php_float(item.total),
        "taxAmount": _php_float(item.tax_amount),
        "discountAmount": _php_float(item.discount_amount),
    }


def invoice_json(invoice: BagistoInvoice, embed_items: bool = False) -> dict[str, Any]:
    """The REST invoice: the model's columns in camelCase, amounts as PHP floats, ``downloadUrl`` appended.

    bagisto-api 5ab9ff2 src/Models/CustomerInvoice.php ($casts, $appends) and tests/Feature/RestApi/CustomerInvoiceTest.php.
    """
    shipping_tax = Decimal("0.00")
    sub_incl = invoice.sub_total + invoice.tax_amount
    money = {
        "subTotal": invoice.sub_total,
        "baseSubTotal": invoice.sub_total,
        "grandTotal": invoice.grand_total,
        "baseGrandTotal": invoice.grand_total,
        "shippingAmount": invoice.shipping_amount,
        "baseShippingAmount": invoice.shipping_amount,
        "taxAmount": invoice.tax_amount,
        "baseTaxAmount": invoice.tax_amount,
        "discountAmount": invoice.discount_amount,
        "baseDiscountAmount": invoice.discount_amount,
        "shippingTaxAmount": shipping_tax,
        "baseShippingTaxAmount": shipping_tax,
        "subTotalInclTax": sub_incl,
        "baseSubTotalInclTax": sub_incl,
        "shippingAmountInclTax": invoice.shipping_amount + shipping_tax,
        "baseShippingAmountInclTax": invoice.shipping_amount + shipping_tax,
    }
    return {
        "id": invoice.id,
        "incrementId": invoice.increment_id,
        "state": invoice.state,
        "totalQty": sum(item.qty for item in invoice.items),
        "emailSent": invoice.email_sent,
        **{name: _php_float(value) for name, value in money.items()},
        "baseCurrencyCode": invoice.currency,
        "channelCurrencyCode": invoice.currency,
        "orderCurrencyCode": invoice.currency,
        "transactionId": invoice.transaction_id,
        "reminders": invoice.reminders,
        "nextReminderAt": invoice.next_reminder_at,
        "orderId": invoice.order_id,
        "items": [item_json(item) if embed_items else item_iri(item) for item in invoice.items],
        "createdAt": invoice.created_at,
        "updatedAt": invoice.created_at,
        "downloadUrl": f"/api/shop/customer-invoices/{invoice.id}/pdf",
    }


def invoice_pdf(invoice: BagistoInvoice) -> bytes:
    lines = [f"{item.qty} x {item.name} @ {item.price} = {item.total}" for item in invoice.items]
    lines += [
        f"Shipping: {invoice.shipping_amount}",
        f"Tax: {invoice.tax_amount}",
        f"Discount: {invoice.discount_amount}",
        f"Grand total: {invoice.grand_total} {invoice.currency}",
    ]
    return render_pdf(f"Invoice {invoice.increment_id}", lines)


def graphql_invoice(invoice: BagistoInvoice) -> dict[str, Any]:
    row = invoice_json(invoice)
    row["_id"] = row["id"]
    row["id"] = f"/api/shop/customer-invoices/{invoice.id}"
    items = []
    for item in invoice.items:
        node = item_json(item)
        node["_id"] = node["id"]
        node["id"] = item_iri(item)
        node["invoiceId"] = invoice.id
        items.append(node)
    # Nested connections page like any other (config/api-platform.php pagination_items_per_page 10).
    row["items"] = connection(items, {})
    return row
