"""A summary's lean page reading keeps every guarantee of the whole wire (``providers/lean.py``).

Narrow checks on response bodies; the summaries themselves are checked against their emulators in
``tests/test_summary_paths.py`` (equal to the domain summary on every provider) and against a
hostile provider in ``tests/faults/test_provider_faults.py``.
"""

from __future__ import annotations

from decimal import Decimal

import httpx2
import msgspec
import pytest

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.providers import json_guard
from mcp_invoices.providers.afternoon.wire import LeanList
from mcp_invoices.providers.lean import LeanModel, LeanReader, amount, field, minor_units
from mcp_invoices.providers.payabli.query import FACTS, WHOLE
from mcp_invoices.providers.payabli.wire import invoice_facts, normalize_invoice


class _Row(LeanModel):
    amount: Decimal
    extra: dict[str, object] | None = field(default=None, name="Extra")


_ROWS = LeanReader(list[_Row])


def _read(body: bytes) -> list[_Row]:
    return _ROWS.read(httpx2.Response(200, content=body), provider="Acme", what="a list", hint="Retry.")


def test_amounts_are_exact_decimals_from_their_literals_and_no_float_is_ever_made() -> None:
    rows = _read(b'[{"amount": 12345678901234567.89, "Extra": {"n": 0.1, "deep": [1.5e3]}, "x": 2.5}]')
    assert rows[0].amount == Decimal("12345678901234567.89")  # a binary float would give ...568
    extra = rows[0].extra
    assert extra == {"n": Decimal("0.1"), "deep": [Decimal("1.5e3")]}
    assert isinstance(extra["n"], Decimal)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<html>", "Acme sent a response that is not valid JSON."),
        (b'[{"amount": NaN}]', "Acme sent a response that is not valid JSON."),
        (b"[" * 100_000 + b"]" * 100_000, "Acme sent a"),
        (b'[{"amount": true}]', "Acme sent a list in a shape this server does not understand (at 0.amount)."),
        (b'[{"amount": 1}, {"amount": "x"}]', "(at 1.amount)"),
        (b'{"amount": 1}', "Acme sent a list in a shape this server does not understand."),
    ],
)
def test_a_body_that_is_not_json_or_not_the_shape_is_provider_unavailable_naming_where(
    body: bytes, said: str
) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        _read(body)
    assert said in caught.value.message


def test_an_integer_beyond_64_bits_where_one_is_declared_is_refused_not_converted() -> None:
    reader = LeanReader(list[int])
    with pytest.raises(ProviderUnavailable, match=r"\(at 0\)"):
        reader.read(httpx2.Response(200, content=b"[" + b"9" * 5000 + b"]"), provider="A", what="x", hint="h")


@pytest.mark.parametrize(
    "value", [Decimal("1e100000"), Decimal("-1e21"), Decimal("1e-31"), Decimal("NaN"), Decimal("Infinity")]
)
def test_an_amount_beyond_json_guards_bounds_is_refused(value: Decimal) -> None:
    with pytest.raises(json_guard.NumberOutOfRange):
        json_guard.bounded(value)
    with pytest.raises(ProviderUnavailable, match="number far too large"):
        amount(value, "Acme")


def test_an_amount_within_bounds_passes_unchanged_and_a_zero_loses_its_exponent() -> None:
    assert amount(Decimal("0.30"), "Acme") == Decimal("0.30")
    assert str(amount(Decimal("0e99999"), "Acme")) == "0"
    long_but_plausible = Decimal("1." + "0" * 200)  # a long literal of a small magnitude rounds cheaply
    assert amount(long_but_plausible, "Acme") == 1


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        (b"1000", 1000),
        (b"-250", -250),
        (b"1000.0", 1000),
        (b"1e3", 1000),
        (b"12.5", None),
        (b'"1000"', None),
        (b"true", None),
        (b"null", None),
    ],
)
def test_minor_units_read_a_literal_as_the_whole_wire_reads_minor_units(
    literal: bytes, expected: int | None
) -> None:
    assert minor_units(msgspec.Raw(literal), "Acme") == expected


@pytest.mark.parametrize("literal", [b"1e100000", b"9" * 5000, b"1" + b"0" * 22])
def test_minor_units_beyond_bounds_are_refused_before_conversion(literal: bytes) -> None:
    with pytest.raises(ProviderUnavailable, match="number far too large"):
        minor_units(msgspec.Raw(literal), "Acme")


def test_a_payabli_page_read_lean_gives_the_same_facts_as_the_whole_invoices() -> None:
    record = (
        b'{"invoiceId": 7, "customerId": 1001, "invoiceNumber": 42, "invoiceDate": "2026-01-05",'
        b' "invoiceDueDate": "2026-02-04T00:00:00Z", "invoiceStatus": 2, "invoiceAmount": 120.005,'
        b' "invoicePaidAmount": 20, "AdditionalData": {"Currency": "eur", "weight": 1.5},'
        b' "items": [{"itemProductName": "Tea", "itemCost": 120.005, "itemQty": 1}],'
        b' "Customer": {"customerId": 1001, "FirstName": "Alice"}}'
    )
    response = httpx2.Response(200, content=b'{"Records": [' + record + b'], "Summary": {"totalRecords": 1}}')
    (lean,), lean_total = FACTS.page(response)
    (whole,), whole_total = WHOLE.page(response)
    invoice = normalize_invoice(whole)
    facts = invoice_facts(lean)
    assert lean_total == whole_total == 1
    assert (facts.id, facts.number, facts.status, facts.currency) == (
        invoice.id,
        invoice.number,
        invoice.status,
        invoice.currency,
    )
    assert (facts.issued_at, facts.due_at) == (invoice.issued_at, invoice.due_at)
    assert (facts.total, facts.amount_paid, facts.amount_due) == (
        invoice.total,
        invoice.amount_paid,
        invoice.amount_due,
    )
    assert str(facts.total) == "120.00" and facts.currency == "EUR"  # half-even, at the currency's precision


def test_an_afternoon_list_reads_its_cursor_and_rows_under_either_key() -> None:
    reader = LeanReader(LeanList)
    body = b'{"data": [{"id": "inv_1", "status": "paid", "currency": "usd", "total_cents": 1250}], "next_cursor": "c2"}'
    page = reader.read(httpx2.Response(200, content=body), provider="Afternoon", what="a list", hint="h")
    assert page.invoices is None and page.data is not None and page.next_cursor == "c2"
    assert minor_units(page.data[0].total_cents, "Afternoon") == 1250
