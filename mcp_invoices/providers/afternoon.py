"""Afternoon (``api.afternoon.co``): invoices read with a company-wide API key, scoped by this server.

Wire format: seed 002 (``GET /v1/invoices/{id}`` → ``{success, invoice, request_id}``, amounts in
integer minor units named ``*_cents``) and the README's notes (``GET /v1/invoices?customer_id=
&status=&limit=&cursor=``; 401 codes ``UNAUTHORIZED`` / ``INVALID_API_KEY`` / ``API_KEY_REVOKED``;
429 when over 1,000 requests a minute).

The key sees every customer of the organisation, so Afternoon enforces nothing for us: **this
module is the scope**. Every call needs ``scope.customer_id``; a fetched invoice of another
customer is answered exactly like a missing one, and listed rows of another customer are dropped
even though the list is already asked for ``customer_id=<scope>``.

Afternoon has no PDF endpoint (``public_invoice_url`` is a hosted payment page on another host),
so the PDF resource is the server's own rendering (the base class), after the scoped fetch.
Afternoon does not generate invoices from orders here: ``list_orders`` and ``generate_invoice``
keep the base class's ``not_supported``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

import anyio
import httpx2
from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr, ValidationError

from mcp_invoices.config import ConfigError, RemoteProviderConfig
from mcp_invoices.domain import errors
from mcp_invoices.domain.errors import InvalidArgument, ProviderUnavailable, Unauthorized
from mcp_invoices.domain.models import (
    Billing,
    Customer,
    Documents,
    Invoice,
    InvoiceFilter,
    InvoiceStatus,
    LineItem,
    Page,
)
from mcp_invoices.domain.money import MoneyError, from_minor_units, normalize_currency
from mcp_invoices.principal import Scope
from mcp_invoices.shared.base import Budget, SharedState
from mcp_invoices.providers.base import InvoiceProvider, json_uri, pdf_uri
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.http import ProviderHTTP, RetryPolicy, parse_json, path_segment

__all__ = ["AFTERNOON_STATUSES", "DEFAULT_BASE_URL", "AfternoonProvider"]

logger = logging.getLogger("mcp_invoices.afternoon")

PROVIDER_ID = "afternoon"
DEFAULT_BASE_URL = "https://api.afternoon.co"
AUTH_HINT = "Check AFTERNOON_API_KEY (an organisation key, ak_live_… or ak_test_…)"

AFTERNOON_STATUSES: Mapping[str, InvoiceStatus] = {
    "draft": InvoiceStatus.DRAFT,
    "open": InvoiceStatus.OPEN,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
    "uncollectible": InvoiceStatus.UNCOLLECTIBLE,
}
"""Every ``InvoiceStatus`` of seed 002, to the normalized status. Anything else: ``_fallback_status``."""

_STATUS_FILTERS: Mapping[InvoiceStatus, str] = {normal: native for native, normal in AFTERNOON_STATUSES.items()}
"""The ``status=`` to send for a normalized filter; a status missing here has no Afternoon invoice."""

MAX_PAGE_SIZE = 100
"""Afternoon's largest ``limit``."""
MAX_FETCHES_PER_PAGE = 10
"""Upstream pages one ``list_invoices`` call may read to fill a page whose rows are filtered here."""
MAX_PAGES_PER_WALK = 10_000
"""Upper bound on pages ``iter_invoices`` follows (a million invoices): a cursor chain never loops forever."""

_UNSCOPED_MARKER = "(provider session token)"
"""``server.runtime.TOKEN_SCOPED``: what a scope says when the credential itself names the customer.
An Afternoon key never does, so this marker is refused like a missing customer."""

_DEFAULT_RETRY = RetryPolicy()

_UNREADABLE_HINT = "Try again in a moment; if it persists, check AFTERNOON_BASE_URL and Afternoon's status page."


# -- wire models (only the fields this module relies on; extra fields are ignored) -----------------


def _whole_number(value: object) -> object:
    """Minor units must be integral: an int, or a Decimal with no fraction (JSON ``1000.0``)."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):  # no strings, no fractions, no booleans
        raise ValueError("expected an integer number of minor units")  # noqa: TRY004 - pydantic reports ValueErrors
    return value


def _quantity(value: object) -> object:
    """A JSON number only (already int or Decimal): a string or boolean quantity is a shape error."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("expected a number")  # noqa: TRY004 - pydantic reports ValueErrors
    return value


Cents = Annotated[int, BeforeValidator(_whole_number)]
Number = Annotated[Decimal, BeforeValidator(_quantity)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _WireLineItem(_Wire):
    description: str | None = None
    quantity: Number | None = None
    unit_amount_cents: Cents | None = None
    tax_amount_cents: Cents | None = None
    total_amount_cents: Cents | None = None
    period_start: str | None = None
    period_end: str | None = None


class _WireInvoice(_Wire):
    id: str
    customer_id: str | None = None
    status: str
    currency: str
    invoice_number: str | None = None
    public_invoice_url: str | None = None
    due_date: str | None = None
    subtotal_cents: Cents | None = None
    discount_cents: Cents | None = None
    tax_cents: Cents | None = None
    total_cents: Cents
    finalized_at: str | None = None
    paid_at: str | None = None
    created_at: str | None = None
    line_items: list[_WireLineItem] = []


def _unreadable(what: str, error: ValidationError | None = None) -> ProviderUnavailable:
    """The failure for a body we cannot use: names the first bad field's location, never its value."""
    where = ""
    if error is not None and error.errors():
        location = ".".join(str(part) for part in error.errors()[0]["loc"])
        where = f" (at {location})" if location else ""
    return ProviderUnavailable(f"Afternoon sent {what} this server cannot read{where}.", hint=_UNREADABLE_HINT)


# -- normalization -------------------------------------------------------------------------------


def _instant(value: str | None) -> datetime | None:
    """An ISO-8601 timestamp as an aware UTC datetime; unreadable or missing → None (optional fields)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # Afternoon writes UTC ("...Z"); a bare date or naive time is read as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _day(value: str | None) -> date | None:
    moment = _instant(value)
    return moment.date() if moment is not None else None


def _fallback_status(wire: _WireInvoice) -> InvoiceStatus:
    """The normalized status of a status seed 002 does not list (the raw one stays in provider_status).

    Rather than one fixed guess, the invoice's own lifecycle timestamps decide: paid_at set means
    money arrived (paid); finalized_at set means it was issued and nothing says it was settled, so
    it is still owed (open, which keeps it visible in what is due instead of hiding a debt); neither
    means it was never issued (draft).
    """
    if _instant(wire.paid_at) is not None:
        return InvoiceStatus.PAID
    if _instant(wire.finalized_at) is not None:
        return InvoiceStatus.OPEN
    return InvoiceStatus.DRAFT


def _document_url(url: str | None, api_key: str) -> str | None:
    """Afternoon's hosted invoice page, unless it is not a plain http(s) URL or could carry a credential."""
    if not url:
        return None
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo or api_key in url:
        return None
    return url


class _Normalizer:
    """Seed 002's ``Invoice`` to the normalized ``Invoice``; remembers which unknown statuses it warned about."""

    def __init__(self, api_key: SecretStr) -> None:
        self._api_key = api_key
        self._warned_statuses: set[str] = set()

    def invoice(self, wire: _WireInvoice) -> Invoice:
        try:
            return self._invoice(wire)
        except (MoneyError, ValidationError):
            raise _unreadable("an invoice whose currency or amounts") from None

    def _status(self, wire: _WireInvoice) -> InvoiceStatus:
        known = AFTERNOON_STATUSES.get(wire.status.strip().lower())
        if known is not None:
            return known
        if wire.status not in self._warned_statuses:
            self._warned_statuses.add(wire.status)
            logger.warning(
                "Afternoon sent an invoice status this server does not know; deriving it from the invoice's dates",
                extra={"provider": PROVIDER_ID, "provider_status": wire.status[:40]},
            )
        return _fallback_status(wire)

    def _invoice(self, wire: _WireInvoice) -> Invoice:
        currency = normalize_currency(wire.currency)

        def amount(cents: int | None) -> Decimal | None:
            return None if cents is None else from_minor_units(cents, currency)

        status = self._status(wire)
        total = from_minor_units(wire.total_cents, currency)
        # Afternoon states no paid/due amounts: they follow from the status. A draft's amount_due is
        # what it will ask for (as Stripe-style APIs report it); a void invoice asks for nothing.
        # Partial payments are not visible in seed 002, so paid is all or nothing.
        if status is InvoiceStatus.PAID:
            amount_paid, amount_due = total, from_minor_units(0, currency)
        elif status is InvoiceStatus.VOID:
            amount_paid = amount_due = from_minor_units(0, currency)
        else:
            amount_paid, amount_due = from_minor_units(0, currency), total
        return Invoice(
            provider=PROVIDER_ID,
            id=wire.id,
            number=wire.invoice_number,
            status=status,
            provider_status=wire.status,
            currency=currency,
            # Issued when finalized; a draft (never finalized) is dated by its creation so that it
            # still sorts and filters by date like Afternoon's own newest-first list.
            issued_at=_day(wire.finalized_at) or _day(wire.created_at),
            due_at=_day(wire.due_date),
            paid_at=_instant(wire.paid_at),
            customer=Customer(id=wire.customer_id),
            billing=Billing(),  # seed 002 carries no billing name or address
            line_items=[
                LineItem(
                    description=line.description if line.description is not None else "(no description)",
                    quantity=line.quantity,
                    unit_amount=amount(line.unit_amount_cents),
                    discount=None,  # Afternoon discounts are per invoice only
                    tax=amount(line.tax_amount_cents),
                    total=amount(line.total_amount_cents),
                    period_start=_day(line.period_start),
                    period_end=_day(line.period_end),
                )
                for line in wire.line_items
            ],
            subtotal=amount(wire.subtotal_cents),
            discount=amount(wire.discount_cents),
            tax=amount(wire.tax_cents),
            shipping=None,  # no shipping in Afternoon's model
            total=total,  # as stated, never recomputed from the lines
            amount_paid=amount_paid,
            amount_due=amount_due,
            documents=Documents(
                json_uri=json_uri(PROVIDER_ID, wire.id),
                pdf_uri=pdf_uri(PROVIDER_ID, wire.id),
                url=_document_url(wire.public_invoice_url, self._api_key.get_secret_value()),
            ),
        )


# -- the provider -----------------------------------------------------------------------------------


_REFUSALS: Mapping[str, str] = {
    "API_KEY_REVOKED": "Afternoon says the configured API key has been revoked.",
    "INVALID_API_KEY": "Afternoon does not recognise the configured API key.",
    "UNAUTHORIZED": "Afternoon refused the request as unauthenticated (the API key is missing or malformed).",
}


def _error_code(response: httpx2.Response) -> str | None:
    """``error.code`` of seed 002's ``ErrorResponse``, or None when the body is not one."""
    try:
        body = parse_json(response, provider="Afternoon")
    except ProviderUnavailable:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


class AfternoonProvider(InvoiceProvider):
    """Afternoon invoices for one customer per call, read with the organisation's API key."""

    info = spec(PROVIDER_ID).info

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy = _DEFAULT_RETRY,
        budget: Budget | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if not api_key.get_secret_value().strip():
            raise ValueError("Afternoon needs a non-empty API key.")
        self._normalizer = _Normalizer(api_key)
        self._http = ProviderHTTP(
            provider_name="Afternoon",
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key.get_secret_value().strip()}"},
            auth_hint=AUTH_HINT,
            retry=retry,
            budget=budget,
            transport=transport,
            sleep=sleep,
        )

    @classmethod
    def from_config(
        cls, config: RemoteProviderConfig, *, shared: SharedState | None = None, budget: Budget | None = None
    ) -> AfternoonProvider:
        """Built by the registry. The customer scope is not taken from here: it arrives with each call."""
        api_key = config.credentials.get("api_key")
        if api_key is None or not api_key.get_secret_value().strip():
            raise ConfigError("Afternoon needs AFTERNOON_API_KEY (an organisation key, ak_live_… or ak_test_…).")
        return cls(api_key=api_key, base_url=config.base_url, budget=budget)

    def __repr__(self) -> str:
        return f"AfternoonProvider(http={self._http!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- scope ----------------------------------------------------------------------------------

    @staticmethod
    def _customer(scope: Scope) -> str:
        """The one customer this call may see. An organisation key never serves an unscoped session."""
        customer = (scope.customer_id or "").strip()
        if not customer or customer == _UNSCOPED_MARKER:
            raise Unauthorized(
                "This session has no Afternoon customer scope, and an organisation key never serves an "
                "unscoped session.",
                hint="Set AFTERNOON_CUSTOMER_ID to the one customer this session serves "
                "(over HTTP, issue the token for a customer).",
            )
        return customer

    # -- reads ------------------------------------------------------------------------------------

    async def get_invoice(self, scope: Scope, invoice_id: str) -> Invoice:
        """One request; another customer's invoice gets exactly the not_found of a missing one."""
        customer = self._customer(scope)
        response = await self._http.request(
            "GET", f"/v1/invoices/{path_segment(invoice_id)}", expected=(200, 400, 401, 403, 404)
        )
        if response.status_code in (401, 403):
            raise self._refusal(response)
        if response.status_code in (400, 404):
            # The id is this request's only input: an id Afternoon rejects as malformed is as absent
            # as an unknown one, and both are the one not_found.
            raise errors.not_found("invoice", invoice_id)
        body = parse_json(response, provider="Afternoon")
        if not isinstance(body, dict) or body.get("success") is False or not isinstance(body.get("invoice"), dict):
            raise _unreadable("a response")
        raw = body["invoice"]
        # Scope first, before anything else is read, so that no property of another customer's
        # invoice (not even a malformed one) can change the answer.
        if raw.get("customer_id") != customer:
            raise errors.not_found("invoice", invoice_id)
        try:
            wire = _WireInvoice.model_validate(raw)
        except ValidationError as error:
            raise _unreadable("an invoice", error) from None
        return self._normalizer.invoice(wire)

    async def list_invoices(
        self, scope: Scope, query: InvoiceFilter, *, limit: int, cursor: str | None
    ) -> Page[Invoice]:
        """Newest first. Status goes to Afternoon; dates (which it cannot filter) and scope are checked here.

        Each upstream request asks only for the rows still missing from the page, so the cursor
        Afternoon returns always points just past the last row consumed and no row is skipped or
        repeated, however many rows the local checks drop.
        """
        customer = self._customer(scope)
        native_status: str | None = None
        if query.status is not None:
            native_status = _STATUS_FILTERS.get(query.status)
            if native_status is None:  # e.g. partially_paid: Afternoon has no such invoices
                return Page(items=[], next_cursor=None)
        wanted = max(1, min(limit, MAX_PAGE_SIZE))
        items: list[Invoice] = []
        position = cursor
        for _ in range(MAX_FETCHES_PER_PAGE):
            rows, next_position = await self._fetch_page(
                customer, native_status, limit=wanted - len(items), cursor=position
            )
            items.extend(invoice for invoice in rows if query.matches(invoice))
            if next_position is not None and next_position == position:
                raise ProviderUnavailable(
                    "Afternoon returned the same page cursor twice, so its list cannot be walked.",
                    hint=_UNREADABLE_HINT,
                )
            position = next_position
            if position is None or len(items) >= wanted:
                break
        return Page(items=items, next_cursor=position)

    async def iter_invoices(self, scope: Scope, query: InvoiceFilter) -> AsyncIterator[Invoice]:
        """Every matching invoice in scope, once each, following the cursor chain to its end.

        Unlike the default, a page left empty by the local date checks does not end the walk (its
        cursor still leads on), and a cursor seen before stops it with an error instead of looping.
        """
        cursor: str | None = None
        seen_cursors: set[str] = set()
        seen_ids: set[str] = set()
        for _ in range(MAX_PAGES_PER_WALK):
            page = await self.list_invoices(scope, query, limit=MAX_PAGE_SIZE, cursor=cursor)
            for invoice in page.items:
                if invoice.id not in seen_ids:
                    seen_ids.add(invoice.id)
                    yield invoice
            if page.next_cursor is None:
                return
            if page.next_cursor in seen_cursors:
                raise ProviderUnavailable(
                    "Afternoon's list led back to a page already read, so it cannot be walked to the end.",
                    hint=_UNREADABLE_HINT,
                )
            seen_cursors.add(page.next_cursor)
            cursor = page.next_cursor
        raise ProviderUnavailable(
            f"Afternoon's list did not end within {MAX_PAGES_PER_WALK} pages.", hint=_UNREADABLE_HINT
        )

    # -- internals -------------------------------------------------------------------------------

    async def _fetch_page(
        self, customer: str, status: str | None, *, limit: int, cursor: str | None
    ) -> tuple[list[Invoice], str | None]:
        """One upstream page: the scope's rows, normalized, and Afternoon's next cursor (None at the end)."""
        params: dict[str, str | int] = {"customer_id": customer, "limit": limit}
        if status is not None:
            params["status"] = status
        if cursor is not None:
            params["cursor"] = cursor
        response = await self._http.request("GET", "/v1/invoices", params=params, expected=(200, 400, 401, 403))
        if response.status_code in (401, 403):
            raise self._refusal(response)
        if response.status_code == 400:
            if cursor is not None and _error_code(response) == "VALIDATION_ERROR":
                raise InvalidArgument(
                    "Afternoon no longer accepts this page cursor.",
                    hint="Call list_invoices again without cursor and page on from there.",
                )
            raise ProviderUnavailable(
                "Afternoon refused the list request as invalid (HTTP 400).",
                hint="Check AFTERNOON_BASE_URL; if it persists, the Afternoon API may have changed.",
            )
        body = parse_json(response, provider="Afternoon")
        # The README names the list endpoint but not its body. Read the seed's envelope with the plural
        # key (``invoices``, as the emulator documents) or the common ``data``, plus ``next_cursor``.
        rows = body.get("invoices", body.get("data")) if isinstance(body, dict) else None
        if not isinstance(rows, list) or body.get("success") is False:
            raise _unreadable("a list response")
        next_cursor = body.get("next_cursor")
        has_more = body.get("has_more")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise _unreadable("a list response", None)
        if not next_cursor:
            if has_more is True:
                raise ProviderUnavailable(
                    "Afternoon said more invoices exist but gave no cursor to read them.", hint=_UNREADABLE_HINT
                )
            next_cursor = None
        elif has_more is False:
            next_cursor = None
        invoices: list[Invoice] = []
        foreign = 0
        for raw in rows:
            # The request asked for this customer only; a row of anyone else is dropped unread even so.
            if not isinstance(raw, dict) or raw.get("customer_id") != customer:
                foreign += 1
                continue
            try:
                wire = _WireInvoice.model_validate(raw)
            except ValidationError as error:
                raise _unreadable("an invoice in a list", error) from None
            invoices.append(self._normalizer.invoice(wire))
        if foreign:
            logger.warning(
                "Afternoon listed invoices outside the requested customer; they were dropped",
                extra={"provider": PROVIDER_ID, "dropped": foreign},
            )
        return invoices, next_cursor

    def _refusal(self, response: httpx2.Response) -> Unauthorized:
        """401/403 as Unauthorized, saying revoked or unknown where Afternoon does (never the key)."""
        code = _error_code(response)
        message = _REFUSALS.get(code or "", "Afternoon refused the configured API key.")
        logger.warning(
            "Afternoon refused the API key",
            extra={"provider": PROVIDER_ID, "status": response.status_code, "code": (code or "")[:40]},
        )
        return Unauthorized(message, hint=AUTH_HINT)
