"""Payabli's invoice record (seed tests/sandbox/seeds/004_4e68ac3de9a066ab.txt's ``GetInvoiceRecord``) and Query answer, and the normalized invoice.

Amounts are JSON numbers in major units, read as ``Decimal`` from their literals (``wire.MajorUnits``),
so a binary float never exists. Payabli records state no currency; see ``_currency``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Generic, TypeVar

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.domain.models import (
    Address,
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceStatus,
    LineItem,
)
from mcp_invoices.domain.money import ZERO, MoneyError, normalize_currency, parse_amount, quantize
from mcp_invoices.domain.parties import Seller
from mcp_invoices.domain.rules import Settlement, settle
from mcp_invoices.domain.summary import InvoiceFacts
from mcp_invoices.providers.base import json_uri, pdf_uri
from mcp_invoices.providers.payabli.spec import SPEC
from mcp_invoices.providers.wire import (
    UNSET,
    MajorUnits,
    StatusTable,
    Wire,
    WireModel,
    bounded,
    day,
    field,
    instant,
    text,
    unexpected,
)

__all__ = [
    "NAME",
    "PROVIDER_ID",
    "STATUSES",
    "UNREADABLE_HINT",
    "WIRE",
    "WireInvoice",
    "WireInvoiceFacts",
    "WireOutcome",
    "WireQueryOf",
    "invoice_facts",
    "normalize_invoice",
    "seller_of",
]


PROVIDER_ID = SPEC.id
NAME = SPEC.display_name
"""How every message names the provider (its spec's display name)."""

_PAID_CODE = 4

# docs.payabli.com/guides/pay-in-invoices-lifecycle ("Invoice statuses"); payabli 1.0.19 types/invoicestatus.py: int.
STATUSES = StatusTable[int](
    NAME,
    {
        0: InvoiceStatus.DRAFT,  # draft: not sent yet
        1: InvoiceStatus.OPEN,  # active/open: sent, not paid yet
        2: InvoiceStatus.PARTIALLY_PAID,  # partially paid
        _PAID_CODE: InvoiceStatus.PAID,  # paid/complete: paid in full, or marked as paid
        99: InvoiceStatus.VOID,  # canceled
    },
)
"""Payabli ``invoiceStatus`` → normalized status (every documented code).

An undocumented code is kept as ``provider_status`` and read from the amounts instead (see
``_status``), so a new Payabli status never makes an invoice unreadable.
"""

DEFAULT_CURRENCY = "USD"
"""Payabli records carry no currency and Payabli paypoints settle in US dollars; a record's
``AdditionalData`` may name another one (``currency``), which then wins."""

_CURRENCY_KEYS = frozenset({"currency", "currencycode", "currency_code"})


# --------------------------------------------------------------------------------------------
# Wire shapes (GetInvoiceRecord of tests/sandbox/seeds/004_4e68ac3de9a066ab.txt, and the Query answer): only what is read is declared.
# Text fields may arrive as numbers (read with ``text``).
# --------------------------------------------------------------------------------------------


class WireItem(WireModel):
    product_name: str | int | None = field(default=None, name="itemProductName")
    description: str | int | None = field(default=None, name="itemDescription")
    quantity: MajorUnits | None = field(default=None, name="itemQty")
    cost: MajorUnits | None = field(default=None, name="itemCost")
    tax_amount: MajorUnits | None = field(default=None, name="itemTaxAmount")
    total_amount: MajorUnits | None = field(default=None, name="itemTotalAmount")

    def __post_init__(self) -> None:
        bounded(self.quantity, self.cost, self.tax_amount, self.total_amount)


class WireOwner(WireModel):
    """Who a record belongs to, as its ``Customer`` states it (all a summary reads of it)."""

    customer_id: int | None = field(default=None, name="customerId")


class WireCustomer(WireOwner):
    """``PayorDataResponse``: the customer record the invoice belongs to."""

    first_name: str | int | None = field(default=None, name="FirstName")
    last_name: str | int | None = field(default=None, name="LastName")
    company_name: str | int | None = field(default=None, name="CompanyName")
    billing_email: str | int | None = field(default=None, name="BillingEmail")
    billing_address1: str | int | None = field(default=None, name="BillingAddress1")
    billing_address2: str | int | None = field(default=None, name="BillingAddress2")
    billing_city: str | int | None = field(default=None, name="BillingCity")
    billing_state: str | int | None = field(default=None, name="BillingState")
    billing_zip: str | int | None = field(default=None, name="BillingZip")
    billing_country: str | int | None = field(default=None, name="BillingCountry")


class WireInvoiceFacts(WireModel):
    """``GetInvoiceRecord`` as a summary reads it: owner, number, dates, status, amounts, currency.

    ``WireInvoice`` is this and the rest of the record; a summary's page decodes only this part."""

    invoice_id: int = field(name="invoiceId")
    invoice_status: int = field(name="invoiceStatus")
    invoice_amount: MajorUnits = field(name="invoiceAmount")
    customer_id: int | None = field(default=None, name="customerId")
    invoice_number: str | int | None = field(default=None, name="invoiceNumber")
    invoice_date: str | int | None = field(default=None, name="invoiceDate")
    invoice_due_date: str | int | None = field(default=None, name="invoiceDueDate")
    invoice_paid_amount: MajorUnits | None = field(default=None, name="invoicePaidAmount")
    customer: WireOwner | None = field(default=None, name="Customer")
    additional_data: dict[str, Any] | None = field(default=None, name="AdditionalData")

    def __post_init__(self) -> None:
        bounded(self.invoice_amount, self.invoice_paid_amount)

    def owned_by(self, customer: int) -> bool:
        """The record names ``customer`` (top level or in its ``Customer``) and no one else."""
        return _owned_by(customer, self.customer_id, self.customer.customer_id if self.customer else None)


class WireInvoice(WireInvoiceFacts):
    """``GetInvoiceRecord``: the fields this server reads; the rest is skipped."""

    last_payment_date: str | int | None = field(default=None, name="lastPaymentDate")
    tax: MajorUnits | None = None
    discount: MajorUnits | None = None
    freight_amount: MajorUnits | None = field(default=None, name="freightAmount")
    duty_amount: MajorUnits | None = field(default=None, name="dutyAmount")
    first_name: str | int | None = field(default=None, name="firstName")
    last_name: str | int | None = field(default=None, name="lastName")
    company: str | int | None = None
    shipping_email: str | int | None = field(default=None, name="shippingEmail")
    items: list[WireItem] | None = None
    customer: WireCustomer | None = field(default=None, name="Customer")
    paypoint_legal_name: str | int | None = field(default=None, name="PaypointLegalname")
    paypoint_dba_name: str | int | None = field(default=None, name="PaypointDbaname")

    def __post_init__(self) -> None:
        super().__post_init__()
        bounded(self.tax, self.discount, self.freight_amount, self.duty_amount)


class WireOutcome(WireModel):
    """Whether an answer is a refusal (``isSuccess: false`` and no record), read before the record."""

    is_success: Any = field(default=None, name="isSuccess")
    invoice_id: Any = field(default=UNSET, name="invoiceId")

    @property
    def refused(self) -> bool:
        return self.is_success is False and self.invoice_id is UNSET


class WireSummary(WireModel):
    total_records: int | None = field(default=None, name="totalRecords")


W = TypeVar("W", bound=WireInvoiceFacts)


class WireQueryOf(WireModel, Generic[W]):
    """A Query answer whose records are read as ``W`` (whole invoices, or a summary's facts)."""

    records: list[W] = field(name="Records")
    summary: WireSummary | None = field(default=None, name="Summary")


def _owned_by(customer: int, *named: int | None) -> bool:
    named_any = False
    for owner in named:
        if owner is not None:
            if owner != customer:
                return False
            named_any = True
    return named_any


UNREADABLE_HINT = "Try again later; if it persists, check PAYABLI_BASE_URL points at the Payabli API."
WIRE = Wire(NAME, UNREADABLE_HINT)


# --------------------------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------------------------


def _joined(*parts: str | int | None) -> str | None:
    return " ".join(part for part in (text(p) for p in parts) if part) or None


def _currency(record: WireInvoiceFacts) -> str:
    """``AdditionalData.currency`` when the merchant recorded one, otherwise US dollars."""
    for key, value in (record.additional_data or {}).items():
        if key.lower() in _CURRENCY_KEYS and isinstance(value, str):
            try:
                return normalize_currency(value)
            except MoneyError:
                break
    return DEFAULT_CURRENCY


def _status(code: int, total: Decimal, paid: Decimal | None) -> InvoiceStatus:
    """The documented mapping; an undocumented code is read from what has been paid."""
    return STATUSES.read(code, lambda: _undocumented_status(total, paid))


def _undocumented_status(total: Decimal, paid: Decimal | None) -> InvoiceStatus:
    if paid is not None and paid > 0:
        return InvoiceStatus.PAID if paid >= total else InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def _line_item(item: WireItem, currency: str) -> LineItem:
    name, description = text(item.product_name), text(item.description)
    if name and description and description != name:
        label = f"{name} - {description}"
    else:
        label = name or description or "Item"
    return LineItem(
        description=label,
        quantity=item.quantity,
        unit_amount=_amount(item.cost, currency),
        tax=_amount(item.tax_amount, currency),
        total=_amount(item.total_amount, currency),
    )


def _amount(value: Decimal | None, currency: str) -> Decimal | None:
    return None if value is None else parse_amount(value, currency)


def _billing(record: WireInvoice, person: str | None) -> Billing:
    """Billed to the company when there is one, else the person; address from the customer record."""
    payor = record.customer
    company = text(payor.company_name if payor else None) or text(record.company)
    address = None
    if payor is not None:
        address = Address(
            line1=text(payor.billing_address1),
            line2=text(payor.billing_address2),
            postal_code=text(payor.billing_zip),
            city=text(payor.billing_city),
            state=text(payor.billing_state),
            country=text(payor.billing_country),
        )
        if not any(address.model_dump().values()):
            address = None
    return Billing(name=company or person, address=address)


def _subtotal(items: list[LineItem], currency: str) -> Decimal | None:
    """The sum of the items' stated totals; None when there are none or one is missing."""
    totals = [item.total for item in items]
    if not items or any(total is None for total in totals):
        return None
    return quantize(sum((total for total in totals if total is not None), ZERO), currency)


def _tax(record: WireInvoice, currency: str) -> Decimal | None:
    """``tax`` plus ``dutyAmount``: customs duty is a levy on the goods, not a delivery charge."""
    tax, duty = _amount(record.tax, currency), _amount(record.duty_amount, currency)
    if duty is not None and duty != 0:
        tax = quantize((tax or ZERO) + duty, currency)
    return tax


def _person(record: WireInvoice) -> str | None:
    payor = record.customer
    person = _joined(payor.first_name, payor.last_name) if payor else None
    return person or _joined(record.first_name, record.last_name)


def _customer(record: WireInvoice, person: str | None) -> Customer:
    payor = record.customer
    owner = payor.customer_id if payor and payor.customer_id is not None else record.customer_id
    return Customer(
        id=None if owner is None else str(owner),
        name=person or text(payor.company_name if payor else None) or text(record.company),
        email=text(payor.billing_email if payor else None) or text(record.shipping_email),
    )


def _unreadable_amount() -> ProviderUnavailable:
    return unexpected(
        NAME,
        "an invoice amount this server cannot read",
        hint="Try again later; if it persists, contact Payabli support.",
    )


def _settled(record: WireInvoiceFacts, currency: str) -> tuple[Decimal, InvoiceStatus, Settlement]:
    """Total, status and what is paid and due, as ``normalize_invoice`` states them (raises MoneyError)."""
    total = parse_amount(record.invoice_amount, currency)
    stated_paid = _amount(record.invoice_paid_amount, currency)
    status = _status(record.invoice_status, total, stated_paid)
    if record.invoice_status == _PAID_CODE and stated_paid is not None and stated_paid < total:
        # docs.payabli.com/guides/pay-in-invoices-lifecycle: 4 is "paid in full or you mark it as
        # paid", so a paid invoice is paid in full whatever invoicePaidAmount recorded.
        stated_paid = total
    return total, status, settle(status, total, currency, paid=stated_paid)


def invoice_facts(record: WireInvoiceFacts) -> InvoiceFacts:
    """What a summary needs of one record, read by the same rules as ``normalize_invoice``."""
    currency = _currency(record)
    try:
        total, status, settled = _settled(record, currency)
    except MoneyError:
        raise _unreadable_amount() from None
    invoice_id = str(record.invoice_id)
    return InvoiceFacts(
        id=invoice_id,
        number=text(record.invoice_number),
        status=status,
        currency=currency,
        issued_at=day(text(record.invoice_date)),
        due_at=day(text(record.invoice_due_date)),
        total=total,
        amount_paid=settled.paid,
        amount_due=settled.due,
        uri=json_uri(PROVIDER_ID, invoice_id),
    )


def normalize_invoice(record: WireInvoice) -> Invoice:
    """One Payabli record as the normalized invoice.

    - ``total`` is ``invoiceAmount`` as stated (never recomputed); ``amount_paid`` is
      ``invoicePaidAmount`` (when missing: the total on a paid invoice, else 0), and the whole total
      on a paid invoice (status 4 also means "marked as paid", whatever was recorded as paid).
    - ``amount_due`` is ``total - amount_paid`` (never below 0) on draft, open and partially paid
      invoices, and 0 on paid and cancelled ones.
    - ``subtotal`` is the sum of the items' stated ``itemTotalAmount`` (None if any is missing);
      ``shipping`` is ``freightAmount``; ``tax`` is ``tax`` plus ``dutyAmount`` (customs duty is a
      levy on the goods, not a delivery charge).
    """
    currency = _currency(record)
    try:
        total, status, settled = _settled(record, currency)
        items = [_line_item(item, currency) for item in record.items or []]
        subtotal = _subtotal(items, currency)
        tax = _tax(record, currency)
        discount = _amount(record.discount, currency)
        shipping = _amount(record.freight_amount, currency)
    except MoneyError:
        raise _unreadable_amount() from None

    person = _person(record)
    invoice_id = str(record.invoice_id)
    return Invoice(
        provider=PROVIDER_ID,
        id=invoice_id,
        number=text(record.invoice_number),
        status=status,
        provider_status=str(record.invoice_status),
        currency=currency,
        issued_at=day(text(record.invoice_date)),
        due_at=day(text(record.invoice_due_date)),
        paid_at=instant(text(record.last_payment_date)) if status is InvoiceStatus.PAID else None,
        customer=_customer(record, person),
        billing=_billing(record, person),
        line_items=items,
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        shipping=shipping,
        total=total,
        amount_paid=settled.paid,
        amount_due=settled.due,
        # Payabli hosts no invoice page this server could link to without a credential.
        documents=Documents(
            json_uri=json_uri(PROVIDER_ID, invoice_id), pdf_uri=pdf_uri(PROVIDER_ID, invoice_id)
        ),
        seller=seller_of(record),
    )


def seller_of(record: WireInvoice) -> Seller | None:
    """The paypoint's trading (DBA) name, else its legal name: on every record (payabli SDK
    ``GetInvoiceRecord``, ``QueryInvoiceResponseRecordsItem``), so no extra request per invoice."""
    name = text(record.paypoint_dba_name) or text(record.paypoint_legal_name)
    return Seller(name=name) if name else None
