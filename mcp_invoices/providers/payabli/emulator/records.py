"""Payabli's emulator: the JSON records and the PDF it answers with (``GetInvoiceRecord``, a Query
listing's record, the PDF export's file object).
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from mcp_invoices.providers.emulation import render_pdf
from mcp_invoices.providers.payabli.emulator.seed import (
    PAYABLI_CUSTOMER_IDS,
    PAYABLI_ENTRY,
    PAYABLI_PARENT_ORG_ID,
    PAYABLI_PAYPOINT_ID,
    PEOPLE,
    PayabliInvoice,
    PayabliItem,
)

__all__ = ["file_object", "invoice_json", "invoice_pdf"]


def _customer_json(customer: str) -> dict[str, Any]:
    first, last, company, address, city, state, zip_code, phone = PEOPLE[customer]
    customer_id = PAYABLI_CUSTOMER_IDS[customer]
    return {
        "AdditionalData": None,
        "BillingAddress1": address,
        "BillingAddress2": None,
        "BillingCity": city,
        "BillingCountry": "US",
        "BillingEmail": f"{customer}@example.com",
        "BillingPhone": phone,
        "BillingState": state,
        "BillingZip": zip_code,
        "CompanyName": company or None,
        "customerId": customer_id,
        "CustomerNumber": f"C-{customer_id}",
        "customerStatus": 1,
        "FirstName": first,
        "Identifiers": ["customerNumber"],
        "LastName": last,
        "ShippingAddress1": None,
        "ShippingAddress2": None,
        "ShippingCity": None,
        "ShippingCountry": None,
        "ShippingState": None,
        "ShippingZip": None,
    }


def _events(invoice: PayabliInvoice) -> list[dict[str, Any]]:
    # extraData is an object: sdk-rust 0c28d94 src/api/types/general_events.rs (HashMap) and the
    # API definition's own example ({"key": "value"}); payabli 1.0.19 types/general_events.py says str.
    events = [
        {
            "description": "Invoice created",
            "eventTime": invoice.created_at,
            "extraData": {},
            "refData": "",
            "source": "api",
        }
    ]
    if invoice.sent_at:
        events.append(
            {
                "description": "Invoice sent",
                "eventTime": invoice.sent_at,
                "extraData": {},
                "refData": "",
                "source": "api",
            }
        )
    return events


def _shipping_json(invoice: PayabliInvoice) -> dict[str, Any]:
    first, last, company, address, city, state, zip_code, phone = PEOPLE[invoice.customer]
    return {
        "firstName": first,
        "lastName": last,
        "company": company,
        "shippingAddress1": address,
        "shippingAddress2": "",
        "shippingCity": city,
        "shippingState": state,
        "shippingZip": zip_code,
        "shippingFromZip": "",
        "shippingCountry": "US",
        "shippingEmail": f"{invoice.customer}@example.com",
        "shippingPhone": phone,
    }


def _item_json(item: PayabliItem) -> dict[str, Any]:
    return {
        "itemCategories": [],
        "itemCommodityCode": "",
        "itemCost": item.cost,
        "itemDescription": item.description,
        "itemMode": 0,
        "itemProductCode": item.product_code,
        "itemProductName": item.name,
        "itemQty": item.qty,
        "itemTaxAmount": item.tax_amount,
        "itemTaxRate": item.tax_rate,
        "itemTotalAmount": item.total,
        "itemUnitOfMeasure": "EA",
    }


def invoice_json(invoice: PayabliInvoice, *, query_record: bool = False) -> dict[str, Any]:
    """``GetInvoiceRecord`` (``GET /Invoice``), or with ``query_record`` a Query listing's record."""
    record: dict[str, Any] = {
        "invoiceId": invoice.id,
        "customerId": PAYABLI_CUSTOMER_IDS[invoice.customer],
        "paypointId": PAYABLI_PAYPOINT_ID,
        "invoiceNumber": invoice.number,
        "invoiceDate": invoice.invoice_date,
        "invoiceDueDate": invoice.due_date,
        # payabli 1.0.19 types/get_invoice_record.py: a date-time; query_invoice_response_records_item.py:
        # a date (the API definition's examples agree: "2025-10-19T00:00:00Z" / "2025-03-05").
        "invoiceSentDate": (invoice.sent_at[:10] if query_record else invoice.sent_at)
        if invoice.sent_at
        else None,
        "invoiceEndDate": None,
        "lastPaymentDate": invoice.last_payment_at,
        "createdAt": invoice.created_at,
        "invoiceStatus": invoice.status,
        "invoiceType": 0,
        "frequency": "onetime",
        "paymentTerms": "NET30",
        "termsConditions": None,
        "notes": invoice.notes,
        "tax": invoice.tax,
        "discount": invoice.discount,
        "invoiceAmount": invoice.amount,
        "invoicePaidAmount": invoice.paid_amount,
        "freightAmount": invoice.freight,
        "dutyAmount": Decimal(0),
        "purchaseOrder": "",
        **_shipping_json(invoice),
        "summaryCommodityCode": "",
        "items": [_item_json(item) for item in invoice.items],
        "Customer": _customer_json(invoice.customer),
        "paylinkId": "",
        "billEvents": _events(invoice),
        "scheduledOptions": {"includePaylink": False, "includePdf": True},
        "PaypointLegalname": "Sandbox Goods LLC",
        "PaypointDbaname": "Sandbox Goods",
        "PaypointEntryname": PAYABLI_ENTRY,
        "ParentOrgName": "Sandbox Org",
        "AdditionalData": {},
        "DocumentsRef": {"filelist": [], "zipfile": ""},
        "externalPaypointID": "",
    }
    if query_record:
        # payabli 1.0.19 types/query_invoice_response_records_item.py: ParentOrgId is required there.
        record["ParentOrgId"] = PAYABLI_PARENT_ORG_ID
    return record


def invoice_pdf(invoice: PayabliInvoice) -> bytes:
    lines = [f"{item.qty} x {item.name} @ {item.cost} = {item.total}" for item in invoice.items]
    lines += [
        f"Tax: {invoice.tax}",
        f"Invoice amount: {invoice.amount} USD",
        f"Paid: {invoice.paid_amount} USD",
    ]
    return render_pdf(f"Invoice {invoice.number}", lines)


def file_object(invoice: PayabliInvoice) -> dict[str, Any]:
    """The PDF export's answer: payabli 1.0.19 types/file_content.py (fContent base64, filename, ftype)."""
    content = base64.b64encode(invoice_pdf(invoice)).decode("ascii")
    return {"fContent": content, "filename": f"{invoice.number}.pdf", "ftype": "pdf", "furl": None}
