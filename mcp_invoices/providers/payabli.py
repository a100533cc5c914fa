"""Payabli: one customer's invoices, read with an organisation-wide API token.

Payabli's ``requestToken`` sees every customer of the organisation, so *this server* enforces the
session's scope (``PAYABLI_CUSTOMER_ID``, or the HTTP token's customer):

- ``get_invoice`` fetches ``GET /Invoice/{idInvoice}`` and compares the record's ``customerId`` (and
  ``Customer.customerId``) with the scope; another customer's invoice gets exactly the ``not_found``
  of a missing one, after the same single request.
- listing always sends ``customerId(eq)=<scope>`` to ``GET /Query/invoices/{entry}`` and drops any
  row of another customer that comes back anyway (Payabli ignores filter keys it does not know).
- the PDF export is requested only after the scoped read succeeded, so another customer's document
  is never fetched; when the export answers something that is not a PDF, the server renders one.

Amounts are JSON numbers in major units, parsed as ``Decimal`` (``parse_json``), so a binary float
never exists. Payabli records state no currency; see ``_currency``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from mcp_invoices.config import ConfigError, RemoteProviderConfig
from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import (
    InvalidArgument,
    NotSupported,
    ProviderTimeout,
    ProviderUnavailable,
    Unauthorized,
)
from mcp_invoices.domain.models import (
    Address,
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceFilter,
    InvoiceStatus,
    LineItem,
    Page,
)
from mcp_invoices.domain.money import ZERO, MoneyError, normalize_currency, parse_amount, quantize
from mcp_invoices.logs import add_secrets, redact
from mcp_invoices.principal import Scope
from mcp_invoices.shared.base import Budget, DocumentStore, SharedState
from mcp_invoices.providers.base import InvoiceProvider, json_uri, pdf_uri
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import ProviderHTTP, RetryPolicy, parse_json, path_segment
from mcp_invoices.providers.paging import fetch_pages, page_count

if TYPE_CHECKING:
    from mcp_invoices.documents.pdf import Seller

__all__ = ["AUTH_HINT", "PROVIDER_ID", "STATUS_MAP", "PayabliProvider"]

logger = logging.getLogger("mcp_invoices.payabli")

PROVIDER_ID = "payabli"
NAME = "Payabli"
AUTH_HINT = "Check PAYABLI_API_TOKEN (an organisation API token)"

STATUS_MAP: Mapping[int, InvoiceStatus] = {
    0: InvoiceStatus.DRAFT,  # draft
    1: InvoiceStatus.OPEN,  # active: sent, awaiting payment
    2: InvoiceStatus.PARTIALLY_PAID,  # partially paid
    4: InvoiceStatus.PAID,  # paid / complete
    99: InvoiceStatus.VOID,  # cancelled
}
"""Payabli ``invoiceStatus`` → normalized status (every documented code).

An undocumented code is kept as ``provider_status`` and read from the amounts instead (see
``_status``), so a new Payabli status never makes an invoice unreadable.
"""
_STATUS_CODES: Mapping[InvoiceStatus, int] = {status: code for code, status in STATUS_MAP.items()}
_SETTLED = frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID})
"""Statuses on which nothing is due, whatever the amounts say."""

DEFAULT_CURRENCY = "USD"
"""Payabli records carry no currency and Payabli paypoints settle in US dollars; a record's
``AdditionalData`` may name another one (``currency``), which then wins."""

PAGE_SIZE = 100
"""Records per Query page when walking everything (summaries); also the most a listing asks for."""
PARALLEL_PAGES = 32
"""Query pages fetched at once when the total is known (summaries over many invoices); below the
HTTP pool's 20 connections, so no page waits for a connection long enough to time out."""

_MAX_INT64 = 2**63 - 1
_INTEGER_ID = re.compile(r"[1-9][0-9]{0,18}")
"""Payabli ids are positive int64s, written canonically (no sign, no leading zero, ASCII digits)."""
_NOT_FOUND_TEXT = re.compile(
    r"not\s+found|(?:can\s*not|can't|could\s+not|unable\s+to)\s+find|does\s*(?:n't|\s+not)\s+exist"
    r"|no\s+(?:such\s+)?(?:invoice|record)|invalid\s+(?:invoice|id)",
    re.IGNORECASE,
)
"""How Payabli words "there is no such invoice" in a 400's ``responseText``."""
_PDF_MEDIA_TYPES = frozenset({"application/pdf", "application/x-pdf", "application/octet-stream"})
_PDF_MAGIC = b"%PDF-"
_CURRENCY_KEYS = frozenset({"currency", "currencycode", "currency_code"})


# --------------------------------------------------------------------------------------------
# Wire shapes (seed 004's GetInvoiceRecord, and the Query answer): only what is read is declared.
# --------------------------------------------------------------------------------------------


class _Wire(BaseModel):
    # Extra fields are ignored; numbers where text is expected are accepted as text.
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class _WireItem(_Wire):
    product_name: str | None = Field(default=None, alias="itemProductName")
    description: str | None = Field(default=None, alias="itemDescription")
    quantity: Decimal | None = Field(default=None, alias="itemQty")
    cost: Decimal | None = Field(default=None, alias="itemCost")
    tax_amount: Decimal | None = Field(default=None, alias="itemTaxAmount")
    total_amount: Decimal | None = Field(default=None, alias="itemTotalAmount")


class _WireCustomer(_Wire):
    """``PayorDataResponse``: the customer record the invoice belongs to."""

    customer_id: int | None = Field(default=None, alias="customerId")
    first_name: str | None = Field(default=None, alias="FirstName")
    last_name: str | None = Field(default=None, alias="LastName")
    company_name: str | None = Field(default=None, alias="CompanyName")
    billing_email: str | None = Field(default=None, alias="BillingEmail")
    billing_address1: str | None = Field(default=None, alias="BillingAddress1")
    billing_address2: str | None = Field(default=None, alias="BillingAddress2")
    billing_city: str | None = Field(default=None, alias="BillingCity")
    billing_state: str | None = Field(default=None, alias="BillingState")
    billing_zip: str | None = Field(default=None, alias="BillingZip")
    billing_country: str | None = Field(default=None, alias="BillingCountry")


class _WireInvoice(_Wire):
    """``GetInvoiceRecord``: the fields this server reads; the rest is ignored."""

    invoice_id: int = Field(alias="invoiceId")
    customer_id: int | None = Field(default=None, alias="customerId")
    invoice_number: str | None = Field(default=None, alias="invoiceNumber")
    invoice_date: str | None = Field(default=None, alias="invoiceDate")
    invoice_due_date: str | None = Field(default=None, alias="invoiceDueDate")
    last_payment_date: str | None = Field(default=None, alias="lastPaymentDate")
    invoice_status: int = Field(alias="invoiceStatus")
    tax: Decimal | None = None
    discount: Decimal | None = None
    invoice_amount: Decimal = Field(alias="invoiceAmount")
    invoice_paid_amount: Decimal | None = Field(default=None, alias="invoicePaidAmount")
    freight_amount: Decimal | None = Field(default=None, alias="freightAmount")
    duty_amount: Decimal | None = Field(default=None, alias="dutyAmount")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    company: str | None = None
    shipping_email: str | None = Field(default=None, alias="shippingEmail")
    items: list[_WireItem] | None = None
    customer: _WireCustomer | None = Field(default=None, alias="Customer")
    paypoint_legal_name: str | None = Field(default=None, alias="PaypointLegalname")
    paypoint_dba_name: str | None = Field(default=None, alias="PaypointDbaname")
    additional_data: dict[str, Any] | None = Field(default=None, alias="AdditionalData")

    def owner_ids(self) -> set[int]:
        """Every customer id the record names (top level and its ``Customer``)."""
        named = {self.customer_id, self.customer.customer_id if self.customer else None}
        return {customer_id for customer_id in named if customer_id is not None}


class _WireSummary(_Wire):
    total_records: int | None = Field(default=None, alias="totalRecords")


class _WireQuery(_Wire):
    records: list[_WireInvoice] = Field(alias="Records")
    summary: _WireSummary | None = Field(default=None, alias="Summary")


def _shape_error(what: str, error: ValidationError) -> ProviderUnavailable:
    # Where the shape broke, never the values (they may be another customer's data).
    where = sorted(
        {".".join(str(part) for part in detail["loc"]) for detail in error.errors(include_input=False)}
    )
    logger.warning(
        "Payabli sent %s of an unexpected shape",
        what,
        extra={"provider": PROVIDER_ID, "fields": ",".join(where[:10])},
    )
    return ProviderUnavailable(
        f"Payabli sent {what} in a shape this server does not understand.",
        hint="Try again later; if it persists, check PAYABLI_BASE_URL points at the Payabli API.",
    )


def _parse_record(payload: Any) -> _WireInvoice:
    try:
        return _WireInvoice.model_validate(payload)
    except ValidationError as error:
        raise _shape_error("an invoice", error) from None


def _parse_query(payload: Any) -> _WireQuery:
    try:
        return _WireQuery.model_validate(payload)
    except ValidationError as error:
        raise _shape_error("an invoice list", error) from None


# --------------------------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    """Payabli writes "" for unset text; both mean unknown."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _joined(*parts: str | None) -> str | None:
    return " ".join(part for part in (_text(p) for p in parts) if part) or None


def _date(value: str | None) -> date | None:
    """A date, from ``2026-01-05`` or a date-time; unreadable is unknown, not an error."""
    text = _text(value)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _datetime(value: str | None) -> datetime | None:
    """A moment; one without an offset is read as UTC (Payabli documents its event times in UTC)."""
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _currency(record: _WireInvoice) -> str:
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
    status = STATUS_MAP.get(code)
    if status is not None:
        return status
    logger.warning(
        "Payabli sent an undocumented invoiceStatus", extra={"provider": PROVIDER_ID, "invoice_status": code}
    )
    if paid is not None and paid > 0:
        return InvoiceStatus.PAID if paid >= total else InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def _line_item(item: _WireItem, currency: str) -> LineItem:
    name, description = _text(item.product_name), _text(item.description)
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


def _billing(record: _WireInvoice, person: str | None) -> Billing:
    """Billed to the company when there is one, else the person; address from the customer record."""
    payor = record.customer
    company = _text(payor.company_name if payor else None) or _text(record.company)
    address = None
    if payor is not None:
        address = Address(
            line1=_text(payor.billing_address1),
            line2=_text(payor.billing_address2),
            postal_code=_text(payor.billing_zip),
            city=_text(payor.billing_city),
            state=_text(payor.billing_state),
            country=_text(payor.billing_country),
        )
        if not any(address.model_dump().values()):
            address = None
    return Billing(name=company or person, address=address)


def normalize_invoice(record: _WireInvoice) -> Invoice:
    """One Payabli record as the normalized invoice of PRODUCT.md.

    - ``total`` is ``invoiceAmount`` as stated (never recomputed); ``amount_paid`` is
      ``invoicePaidAmount`` (when missing: the total on a paid invoice, else 0).
    - ``amount_due`` is ``total - amount_paid`` (never below 0) on draft, open and partially paid
      invoices, and 0 on paid and cancelled ones.
    - ``subtotal`` is the sum of the items' stated ``itemTotalAmount`` (None if any is missing);
      ``shipping`` is ``freightAmount``; ``tax`` is ``tax`` plus ``dutyAmount`` (customs duty is a
      levy on the goods, not a delivery charge).
    """
    currency = _currency(record)
    try:
        total = parse_amount(record.invoice_amount, currency)
        stated_paid = _amount(record.invoice_paid_amount, currency)
        status = _status(record.invoice_status, total, stated_paid)
        if stated_paid is not None:
            paid = stated_paid
        else:
            paid = total if status is InvoiceStatus.PAID else quantize(ZERO, currency)
        due = quantize(ZERO if status in _SETTLED else max(total - paid, ZERO), currency)
        items = [_line_item(item, currency) for item in record.items or []]
        item_totals = [item.total for item in items]
        subtotal = (
            quantize(sum((t for t in item_totals if t is not None), ZERO), currency)
            if items and all(t is not None for t in item_totals)
            else None
        )
        tax, duty = _amount(record.tax, currency), _amount(record.duty_amount, currency)
        if duty is not None and duty != 0:
            tax = quantize((tax or ZERO) + duty, currency)
        discount = _amount(record.discount, currency)
        shipping = _amount(record.freight_amount, currency)
    except MoneyError:
        raise ProviderUnavailable(
            "Payabli sent an invoice amount this server cannot read.",
            hint="Try again later; if it persists, contact Payabli support.",
        ) from None

    payor = record.customer
    person = _joined(payor.first_name, payor.last_name) if payor else None
    person = person or _joined(record.first_name, record.last_name)
    owner = payor.customer_id if payor and payor.customer_id is not None else record.customer_id
    invoice_id = str(record.invoice_id)
    return Invoice(
        provider=PROVIDER_ID,
        id=invoice_id,
        number=_text(record.invoice_number),
        status=status,
        provider_status=str(record.invoice_status),
        currency=currency,
        issued_at=_date(record.invoice_date),
        due_at=_date(record.invoice_due_date),
        paid_at=_datetime(record.last_payment_date) if status is InvoiceStatus.PAID else None,
        customer=Customer(
            id=None if owner is None else str(owner),
            name=person or _text(payor.company_name if payor else None) or _text(record.company),
            email=_text(payor.billing_email if payor else None) or _text(record.shipping_email),
        ),
        billing=_billing(record, person),
        line_items=items,
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        shipping=shipping,
        total=total,
        amount_paid=paid,
        amount_due=due,
        # Payabli hosts no invoice page this server could link to without a credential.
        documents=Documents(
            json_uri=json_uri(PROVIDER_ID, invoice_id), pdf_uri=pdf_uri(PROVIDER_ID, invoice_id)
        ),
    )


def _seller(record: _WireInvoice) -> Seller | None:
    from mcp_invoices.documents.pdf import Seller  # fpdf2 loads on first use, not at start-up

    name = _text(record.paypoint_dba_name) or _text(record.paypoint_legal_name)
    return Seller(name=name) if name else None


# --------------------------------------------------------------------------------------------
# Ids, scope and cursors
# --------------------------------------------------------------------------------------------


def _positive_int64(value: str | None) -> int | None:
    """``value`` as a Payabli id, or None when it cannot be one."""
    if value is None or not _INTEGER_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= _MAX_INT64 else None


def _scope_customer(scope: Scope) -> int:
    """The numeric Payabli customer this session is; refuses a session without one."""
    customer = _positive_int64(scope.customer_id)
    if customer is None:
        raise Unauthorized(
            "This session is not bound to a Payabli customer, so no Payabli invoice can be served.",
            hint="Set PAYABLI_CUSTOMER_ID to the customer's numeric Payabli id (customerId).",
        )
    return customer


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if cursor == "0" or _positive_int64(cursor) is not None:
        return int(cursor)
    raise InvalidArgument(
        "The cursor is not a Payabli listing position.",
        hint="Call list_invoices again without cursor and page on from there.",
    )


@dataclass(frozen=True)
class _QueryPage:
    invoices: list[Invoice]
    """The scope's invoices on this page that match the filter."""
    fetched: int
    """Records Payabli returned (before dropping any), which is how far the position moves."""
    next_offset: int | None
    total: int | None
    """Records Payabli announced for the whole listing (``Summary.totalRecords``), if it did."""


# --------------------------------------------------------------------------------------------
# The provider
# --------------------------------------------------------------------------------------------


class PayabliProvider(InvoiceProvider):
    """Payabli invoices of the session's customer (read-only: Payabli creates them itself)."""

    info = spec(PROVIDER_ID).info

    def __init__(
        self,
        *,
        base_url: str,
        api_token: SecretStr,
        entry: str | None = None,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        token = api_token.get_secret_value()
        add_secrets([token])  # masked verbatim in every log line from now on
        self._token = token
        self._entry = entry
        self._http = ProviderHTTP(
            provider_name=NAME,
            base_url=base_url,
            headers={"requestToken": token},
            auth_hint=AUTH_HINT,
            retry=retry or RetryPolicy(),
            budget=budget,
            transport=transport,
            sleep=sleep,
        )

    @classmethod
    def from_config(
        cls, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> PayabliProvider:
        token = config.credentials.get("api_token")
        if token is None:
            raise ConfigError("Payabli needs PAYABLI_API_TOKEN (an organisation API token).")
        if config.customer_id is not None and _positive_int64(config.customer_id) is None:
            raise ConfigError("PAYABLI_CUSTOMER_ID must be the customer's numeric Payabli id (customerId).")
        try:
            return cls(
                base_url=config.base_url, api_token=token, entry=config.options.get("entry"), budget=budget
            )
        except ValueError:
            raise ConfigError("PAYABLI_BASE_URL must be an http(s) URL with a host.") from None

    def __repr__(self) -> str:
        return f"PayabliProvider(http={self._http!r}, entry={self._entry!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- reads ---------------------------------------------------------------------------------

    async def get_invoice(self, scope: Scope, invoice_id: str) -> Invoice:
        return normalize_invoice(await self._owned_record(scope, invoice_id))

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        page = await self._query(scope, query, offset=_offset(cursor), limit=limit)
        return Page(
            items=page.invoices, next_cursor=None if page.next_offset is None else str(page.next_offset)
        )

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every matching invoice: the first page says how many there are, the rest come in parallel.

        Offsets can shift if invoices are created meanwhile, so ids are de-duplicated; anything
        beyond the announced total is then walked page after page.
        """
        first = await self._query(scope, query, offset=0, limit=PAGE_SIZE)
        pages = [first]
        if first.next_offset is not None and first.total is not None:
            step = first.fetched  # Payabli's effective page size (it may cap limitRecord)
            pages += await fetch_pages(
                lambda number: self._query(scope, query, offset=number * step, limit=step),
                range(1, page_count(first.total, step)),
                concurrency=PARALLEL_PAGES,
            )
        seen: set[str] = set()
        for page in pages:
            for invoice in page.invoices:
                if invoice.id not in seen:
                    seen.add(invoice.id)
                    yield invoice
        offset = pages[-1].next_offset
        while offset is not None:  # ends: every page that continues has moved the offset forward
            page = await self._query(scope, query, offset=offset, limit=PAGE_SIZE)
            for invoice in page.invoices:
                if invoice.id not in seen:
                    seen.add(invoice.id)
                    yield invoice
            offset = page.next_offset

    async def invoice_pdf(self, scope: Scope, invoice_id: str, documents: DocumentStore | None = None) -> bytes:
        """Payabli's own PDF export; rendered here when the export does not give a PDF."""
        record = await self._owned_record(scope, invoice_id)  # scope first: never export another's PDF
        invoice = normalize_invoice(record)
        document: bytes | None = None
        reason: str
        try:
            response = await self._http.request(
                "GET",
                f"Export/invoicePdf/{path_segment(str(record.invoice_id))}",
                headers=self._headers(scope) | {"Accept": "application/pdf"},
                expected=(200, 400, 404),
            )
        except (ProviderUnavailable, ProviderTimeout) as error:
            reason = error.code
        else:
            document = _pdf_document(response) if response.status_code == 200 else None
            reason = "not a PDF" if response.status_code == 200 else f"HTTP {response.status_code}"
        if document is not None:
            return document
        logger.warning(
            "Payabli's PDF export gave no PDF; rendering the invoice instead",
            extra={"provider": PROVIDER_ID, "reason": reason},
        )
        from mcp_invoices.documents.pdf import render_invoice_pdf  # fpdf2 loads on first use

        return await render_invoice_pdf(invoice, _seller(record))

    # -- internals -----------------------------------------------------------------------------

    def _headers(self, scope: Scope) -> dict[str, str]:
        """A per-customer credential carried by the scope replaces the configured token."""
        if scope.credential is None:
            return {}
        return {"requestToken": scope.credential.get_secret_value()}

    def _summary(self, response: httpx2.Response) -> str | None:
        """Payabli's own words about a refusal (``responseText``, ``explanation``), short and scrubbed."""
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            return None
        return self._envelope_text(body)

    def _envelope_text(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return None
        parts = [body.get("responseText")]
        data = body.get("responseData")
        if isinstance(data, dict):
            parts.append(data.get("explanation"))
        text = "; ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
        if not text:
            return None
        text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
        text = redact(text.replace(self._token, "[redacted]")).rstrip(" .")
        return text if len(text) <= 160 else text[:157] + "..."

    async def _owned_record(self, scope: Scope, invoice_id: str) -> _WireInvoice:
        """The record of ``invoice_id`` if it belongs to the scope; ``not_found`` otherwise, alike."""
        customer = _scope_customer(scope)
        number = _positive_int64(invoice_id)
        if number is None:  # cannot exist at Payabli: no request (and nothing learnt from one)
            raise errors.not_found("invoice", invoice_id)
        response = await self._http.request(
            "GET",
            f"Invoice/{path_segment(str(number))}",
            headers=self._headers(scope),
            expected=(200, 400, 404),
        )
        if response.status_code != 200:
            raise self._lookup_failure(response, invoice_id)
        payload = parse_json(response, provider=NAME)
        if isinstance(payload, dict) and payload.get("isSuccess") is False and "invoiceId" not in payload:
            raise self._refusal(self._envelope_text(payload), invoice_id)
        record = _parse_record(payload)
        if record.invoice_id != number:
            raise ProviderUnavailable(
                "Payabli answered with another invoice than the one asked for.",
                hint="Try again later; if it persists, check PAYABLI_BASE_URL.",
            )
        if record.owner_ids() != {customer}:
            raise errors.not_found("invoice", invoice_id)
        return record

    def _lookup_failure(self, response: httpx2.Response, invoice_id: str) -> Exception:
        if response.status_code == 404:
            return errors.not_found("invoice", invoice_id)
        return self._refusal(self._summary(response), invoice_id)

    def _refusal(self, text: str | None, invoice_id: str) -> Exception:
        """A 400 (or ``isSuccess: false``) on one invoice: "no such invoice" → not_found, else unavailable."""
        if text is not None and _NOT_FOUND_TEXT.search(text):
            return errors.not_found("invoice", invoice_id)
        said = f": {text}" if text else ""
        return ProviderUnavailable(
            f"Payabli refused to return the invoice{said}.",
            hint="Try again later; if it persists, check PAYABLI_BASE_URL and the Payabli dashboard.",
        )

    def _require_entry(self) -> str:
        if not self._entry:
            raise NotSupported(
                "Listing Payabli invoices needs the paypoint's entry name, and PAYABLI_ENTRY is not set.",
                hint="Set PAYABLI_ENTRY to the paypoint entry name; get_invoice works without it.",
            )
        return self._entry

    async def _query(self, scope: Scope, query: InvoiceFilter, *, offset: int, limit: int) -> _QueryPage:
        """One Query page of the scope's invoices, filters pushed to Payabli and checked again here."""
        customer = _scope_customer(scope)
        entry = self._require_entry()
        limit = max(1, min(limit, PAGE_SIZE))
        params: dict[str, str | int] = {
            "fromRecord": offset,
            "limitRecord": limit,
            "sortBy": "desc(invoiceDate)",
            "customerId(eq)": customer,
        }
        if query.status is not None:
            code = _STATUS_CODES.get(query.status)
            if code is None:  # refunded, uncollectible, pending: Payabli has no such invoices
                return _QueryPage(invoices=[], fetched=0, next_offset=None, total=0)
            params["invoiceStatus(eq)"] = code
        if query.issued_after is not None:
            params["invoiceDate(ge)"] = query.issued_after.isoformat()
        if query.issued_before is not None:
            params["invoiceDate(le)"] = query.issued_before.isoformat()
        response = await self._http.request(
            "GET",
            f"Query/invoices/{path_segment(entry)}",
            params=params,
            headers=self._headers(scope),
            expected=(200, 400),
        )
        if response.status_code == 400:
            text = self._summary(response)
            said = f": {text}" if text else ""
            raise ProviderUnavailable(
                f"Payabli refused the invoice listing{said}.",
                hint="Check PAYABLI_ENTRY (the paypoint entry name) and PAYABLI_BASE_URL.",
            )
        answer = _parse_query(parse_json(response, provider=NAME))
        invoices: list[Invoice] = []
        foreign = 0
        for record in answer.records:
            if record.owner_ids() != {customer}:
                foreign += 1
                continue
            invoice = normalize_invoice(record)
            if query.matches(invoice):
                invoices.append(invoice)
        if foreign:
            logger.warning(
                "Payabli listed invoices of other customers; they were dropped",
                extra={"provider": PROVIDER_ID, "dropped": foreign},
            )
        fetched = len(answer.records)
        total = answer.summary.total_records if answer.summary else None
        consumed = offset + fetched
        more = fetched > 0 and (consumed < total if total is not None else fetched >= limit)
        return _QueryPage(
            invoices=invoices, fetched=fetched, next_offset=consumed if more else None, total=total
        )


def _pdf_document(response: httpx2.Response) -> bytes | None:
    """The PDF in an export answer: the body itself, or base64 in ``responseData``; else None."""
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    content = response.content
    if content.startswith(_PDF_MAGIC):
        return content if media_type in _PDF_MEDIA_TYPES or not media_type else None
    if media_type.endswith("json"):
        try:
            body = json.loads(content)
        except (ValueError, RecursionError):
            return None
        data = body.get("responseData") if isinstance(body, dict) else None
        if isinstance(data, str):
            try:
                decoded = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError):
                return None
            return decoded if decoded.startswith(_PDF_MAGIC) else None
    return None
