"""One decoder family for every provider's wire (``providers/wire.py``): exact money, bounded
numbers, errors that name where a body broke, and a summary's facts read through the same shape
as the whole invoice.

Narrow checks on response bodies; the summaries themselves are checked against their emulators in
``tests/test_summary_paths.py`` (equal to the domain summary on every provider) and against a
hostile provider in ``tests/faults/test_provider_faults.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx2
import msgspec
import pytest

from mcp_invoices.domain.errors import ProviderUnavailable
from mcp_invoices.providers.afternoon import wire as afternoon_wire
from mcp_invoices.providers.afternoon.wire import WIRE as AFTERNOON
from mcp_invoices.providers.afternoon.wire import WireInvoice, WireInvoiceFacts, WireList
from mcp_invoices.providers.bagisto import wire as bagisto_wire
from mcp_invoices.providers.payabli import wire as payabli_wire
from mcp_invoices.providers.payabli.query import FACTS, WHOLE
from mcp_invoices.providers.payabli.wire import invoice_facts, normalize_invoice
from mcp_invoices.providers.polar import wire as polar_wire
from mcp_invoices.providers.wire import (
    JsonNumber,
    MajorUnits,
    MinorUnits,
    Wire,
    WireModel,
    bounded,
    day,
    field,
    instant,
    text,
)

ACME = Wire("Acme", "Retry.")


class _Row(WireModel):
    amount: MajorUnits
    extra: dict[str, Any] | None = field(default=None, name="Extra")

    def __post_init__(self) -> None:
        bounded(self.amount)


class _Cents(WireModel):
    cents: MinorUnits
    quantity: JsonNumber | None = None


_ROWS = ACME.decoder(list[_Row])
_CENTS = ACME.decoder(_Cents)


def _read(body: bytes) -> list[_Row]:
    return _ROWS.read(httpx2.Response(200, content=body), what="a list")


def test_amounts_are_exact_decimals_from_their_literals_and_no_float_is_ever_made() -> None:
    rows = _read(b'[{"amount": 12345678901234567.89, "Extra": {"n": 0.1, "deep": [1.5e3]}, "x": 2.5}]')
    assert rows[0].amount == Decimal("12345678901234567.89")  # a binary float would give ...568
    assert str(rows[0].amount) == "12345678901234567.89"
    extra = rows[0].extra
    assert extra == {"n": Decimal("0.1"), "deep": [Decimal("1.5e3")]}
    assert isinstance(extra["n"], Decimal)


def test_an_amount_in_major_units_may_be_written_as_text_and_is_read_exactly() -> None:
    assert _read(b'[{"amount": "0.30"}]')[0].amount == Decimal("0.30")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"<html>", "Acme sent a response that is not valid JSON."),
        (b'[{"amount": NaN}]', "Acme sent a response that is not valid JSON."),
        (b"[" * 100_000 + b"]" * 100_000, "Acme sent a"),
        (b'[{"amount": true}]', "Acme sent a list in a shape this server does not understand (at 0.amount)."),
        (b'[{"amount": 1}, {"amount": "x"}]', "(at 1.amount)"),
        (b'[{"amount": 1}, {}]', "(at 1)"),
        (b'{"amount": 1}', "Acme sent a list in a shape this server does not understand."),
    ],
)
def test_a_body_that_is_not_json_or_not_the_shape_is_provider_unavailable_naming_where(
    body: bytes, said: str
) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        _read(body)
    assert said in caught.value.message
    if "shape" in said:
        assert caught.value.hint == "Retry."  # the provider's own hint


@pytest.mark.parametrize(
    "literal", [b"1e100000", b"-1e21", b"1e-31", b"9" * 5000, b"1" + b"0" * 22, b'"1e100000"']
)
def test_an_amount_beyond_json_guards_bounds_is_refused_before_conversion(literal: bytes) -> None:
    with pytest.raises(ProviderUnavailable, match="number far too large"):
        _read(b'[{"amount": ' + literal + b"}]")


def test_an_amount_within_bounds_passes_unchanged() -> None:
    assert _read(b'[{"amount": 0.30}]')[0].amount == Decimal("0.30")
    long_but_plausible = b"1." + b"0" * 200  # a long literal of a small magnitude rounds cheaply
    assert _read(b'[{"amount": ' + long_but_plausible + b"}]")[0].amount == 1


def test_a_zero_with_any_exponent_is_a_zero_at_the_currencys_precision() -> None:
    record = b'{"invoiceId": 7, "customerId": 1001, "invoiceStatus": 1, "invoiceAmount": 0e99999}'
    response = httpx2.Response(200, content=b'{"Records": [' + record + b"]}")
    ((facts_record,), _), ((whole,), _) = FACTS.page(response), WHOLE.page(response)
    assert str(invoice_facts(facts_record).total) == str(normalize_invoice(whole).total) == "0.00"


@pytest.mark.parametrize(
    ("literal", "expected"),
    [(b"1000", 1000), (b"-250", -250), (b"1000.0", 1000), (b"1e3", 1000)],
)
def test_minor_units_are_integers_or_integral_fractions(literal: bytes, expected: int) -> None:
    cents = _CENTS.decode(b'{"cents": ' + literal + b"}", what="an amount").cents
    assert cents == expected and isinstance(cents, int)


@pytest.mark.parametrize("literal", [b"12.5", b'"1000"', b"true", b"null"])
def test_anything_else_is_no_number_of_minor_units_and_names_its_field(literal: bytes) -> None:
    with pytest.raises(ProviderUnavailable, match=r"\(at cents\)"):
        _CENTS.decode(b'{"cents": ' + literal + b"}", what="an amount")


@pytest.mark.parametrize("literal", [b"1e100000", b"9" * 5000, b"1" + b"0" * 22])
def test_minor_units_beyond_bounds_are_refused_before_conversion(literal: bytes) -> None:
    with pytest.raises(ProviderUnavailable, match="number far too large"):
        _CENTS.decode(b'{"cents": ' + literal + b"}", what="an amount")


@pytest.mark.parametrize("literal", [b'"2"', b"true"])
def test_a_quantity_must_be_a_json_number(literal: bytes) -> None:
    with pytest.raises(ProviderUnavailable, match=r"\(at quantity\)"):
        _CENTS.decode(b'{"cents": 1, "quantity": ' + literal + b"}", what="a line")


def test_an_integer_field_never_reads_a_boolean() -> None:
    with pytest.raises(ProviderUnavailable, match=r"\(at 0\)"):
        ACME.decoder(list[int]).decode(b"[true]", what="ids")


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        ("2026-01-05T10:00:00Z", datetime(2026, 1, 5, 10, tzinfo=UTC)),
        ("2026-01-05T10:00:00", datetime(2026, 1, 5, 10, tzinfo=UTC)),  # no offset: UTC
        ("2026-01-05T23:30:00-05:00", datetime(2026, 1, 6, 4, 30, tzinfo=UTC)),
        ("2026-01-05", datetime(2026, 1, 5, tzinfo=UTC)),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_one_lenient_reading_of_moments_for_every_provider(
    written: str | None, moment: datetime | None
) -> None:
    assert instant(written) == moment
    expected_day = moment.date() if moment is not None else None
    assert day(written) == expected_day


def test_a_date_followed_by_what_iso_does_not_allow_is_still_its_date() -> None:
    assert day("2026-01-05 10:00:00 PM") == date(2026, 1, 5)
    assert day("05/01/2026") is None


def test_text_may_be_written_as_a_number_and_blank_is_unknown() -> None:
    assert (text(42), text(" INV-1 "), text("  "), text(None)) == ("42", "INV-1", None, None)


def test_a_payabli_summary_reads_its_facts_through_the_whole_invoices_own_shape() -> None:
    record = (
        b'{"invoiceId": 7, "customerId": 1001, "invoiceNumber": 42, "invoiceDate": "2026-01-05",'
        b' "invoiceDueDate": "2026-02-04T00:00:00Z", "invoiceStatus": 2, "invoiceAmount": 120.005,'
        b' "invoicePaidAmount": 20, "AdditionalData": {"Currency": "eur", "weight": 1.5},'
        b' "items": [{"itemProductName": "Tea", "itemCost": 120.005, "itemQty": 1}],'
        b' "Customer": {"customerId": 1001, "FirstName": "Alice"}}'
    )
    response = httpx2.Response(200, content=b'{"Records": [' + record + b'], "Summary": {"totalRecords": 1}}')
    (facts_record,), facts_total = FACTS.page(response)
    (whole,), whole_total = WHOLE.page(response)
    # One class declares the facts; the whole record is that class and the rest of the record.
    assert isinstance(whole, type(facts_record))
    shared = msgspec.structs.fields(type(facts_record))
    assert all(
        getattr(whole, f.name) == getattr(facts_record, f.name) for f in shared if f.name != "customer"
    )
    invoice = normalize_invoice(whole)
    facts = invoice_facts(facts_record)
    assert facts_total == whole_total == 1
    assert facts == invoice_facts(whole)  # the whole record read as facts gives the same facts
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
    body = b'{"data": [{"id": "inv_1", "status": "paid", "currency": "usd", "total_cents": 1250}], "next_cursor": "c2"}'
    page = AFTERNOON.decoder(WireList[WireInvoiceFacts]).decode(body, what="a list")
    assert page.invoices is None and page.position() == "c2"
    (row,) = page.rows()
    assert row.total_cents == 1250 and not isinstance(row, WireInvoice)


def _wire_shapes() -> list[type[WireModel]]:
    modules = (afternoon_wire, bagisto_wire, payabli_wire, polar_wire)
    return [
        shape
        for module in modules
        for shape in vars(module).values()
        if isinstance(shape, type)
        and issubclass(shape, WireModel)
        and shape.__module__ == module.__name__
        and not getattr(shape, "__parameters__", ())  # a generic envelope: its records are listed themselves
    ]


def _sample(info: msgspec.inspect.Type) -> object:
    """The plainest JSON value of a field's type, for a record's required fields."""
    if isinstance(info, msgspec.inspect.UnionType):
        return _sample(next(t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)))
    if isinstance(info, msgspec.inspect.StructType):
        return _minimal(info)
    samples: dict[type, object] = {
        msgspec.inspect.IntType: 1,
        msgspec.inspect.StrType: "USD",  # text that is a currency too
        msgspec.inspect.DecimalType: 1,
        msgspec.inspect.BoolType: True,
        msgspec.inspect.ListType: [],
        msgspec.inspect.DateTimeType: "2026-01-01T00:00:00Z",
        msgspec.inspect.CustomType: 1,
        msgspec.inspect.AnyType: None,
    }
    return samples[type(info)]


def _minimal(info: msgspec.inspect.StructType) -> dict[str, object]:
    body = {f.encode_name: _sample(f.type) for f in info.fields if f.required}
    if any(f.encode_name == "id" for f in info.fields):
        body.setdefault("id", 1)  # Bagisto's records need an id or an _id
    return body


def _decimal_fields(info: msgspec.inspect.StructType) -> list[str]:
    def is_decimal(t: msgspec.inspect.Type) -> bool:
        if isinstance(t, msgspec.inspect.UnionType):
            return any(is_decimal(member) for member in t.types)
        return isinstance(t, msgspec.inspect.DecimalType)

    return [f.encode_name for f in info.fields if is_decimal(f.type)]


@pytest.mark.parametrize("shape", _wire_shapes(), ids=lambda shape: f"{shape.__module__}.{shape.__name__}")
def test_every_amount_a_wire_shape_declares_is_held_to_json_guards_bounds(shape: type[WireModel]) -> None:
    info = msgspec.inspect.type_info(shape)
    assert isinstance(info, msgspec.inspect.StructType)
    decoder = ACME.decoder(shape)
    decoder.decode(msgspec.json.encode(_minimal(info)), what="a record")  # the sample itself is readable
    for name in _decimal_fields(info):
        absurd = msgspec.json.encode(_minimal(info) | {name: "1e100000"})
        with pytest.raises(ProviderUnavailable, match="number far too large"):
            decoder.decode(absurd, what="a record")
