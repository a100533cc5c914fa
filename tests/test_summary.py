"""Specification of ``summarize_invoice`` and ``summarize_invoices``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_invoices.domain import money
from mcp_invoices.domain.models import Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.summary import (
    CurrencyTotals,
    InvoicesSummary,
    InvoiceSummary,
    summarize_invoice,
    summarize_invoices,
)
from tests.factories import make_invoice

TODAY = date(2026, 4, 15)


def days_ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def totals_for(result: InvoicesSummary, currency: str) -> CurrencyTotals:
    (totals,) = [t for t in result.currencies if t.currency == currency]
    return totals


# --- summarize_invoice -------------------------------------------------------------------------------


def test_invoice_summary_carries_key_facts_and_resource_uri() -> None:
    invoice = make_invoice(id="ord_1", number="INV-1", total="110.00", due_at=date(2026, 5, 1))
    result = summarize_invoice(invoice, TODAY)
    assert isinstance(result, InvoiceSummary)
    assert (result.provider, result.invoice_id, result.number) == ("local", "ord_1", "INV-1")
    assert (result.total, result.amount_paid, result.amount_due) == (
        Decimal("110.00"),
        Decimal("0.00"),
        Decimal("110.00"),
    )
    assert result.uri == "invoice://local/ord_1"


def test_invoice_summary_text_names_the_invoice_amount_and_due_date() -> None:
    invoice = make_invoice(number="INV-7", total="1234.50", due_at=date(2026, 5, 1))
    text = summarize_invoice(invoice, TODAY).summary
    assert "INV-7" in text
    assert "$1,234.50" in text
    assert "2026-05-01" in text


def test_invoice_summary_is_one_to_three_sentences() -> None:
    invoice = make_invoice(
        number="INV-7",
        due_at=days_ago(3),
        line_items=[LineItem(description="Pro plan", total=Decimal(60)), LineItem(description="Seats")],
    )
    text = summarize_invoice(invoice, TODAY).summary
    assert 1 <= text.count(". ") + 1 <= 3
    assert len(text) < 300


def test_invoice_past_due_date_is_overdue_with_days() -> None:
    result = summarize_invoice(make_invoice(due_at=days_ago(12)), TODAY)
    assert result.overdue is True
    assert result.days_overdue == 12
    assert "12 days overdue" in result.summary


def test_invoice_due_today_is_not_overdue() -> None:
    result = summarize_invoice(make_invoice(due_at=TODAY), TODAY)
    assert result.overdue is False
    assert result.days_overdue is None


def test_paid_invoice_past_due_date_is_not_overdue() -> None:
    invoice = make_invoice(
        status=InvoiceStatus.PAID,
        amount_paid="100.00",
        due_at=days_ago(40),
        paid_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    result = summarize_invoice(invoice, TODAY)
    assert result.overdue is False
    assert result.days_overdue is None
    assert "paid on 2026-03-02" in result.summary


def test_partially_paid_invoice_summary_states_paid_and_due() -> None:
    invoice = make_invoice(status=InvoiceStatus.PARTIALLY_PAID, total="100.00", amount_paid="40.00")
    text = summarize_invoice(invoice, TODAY).summary
    assert "$40.00 paid" in text
    assert "$60.00 due" in text


def test_invoice_summary_quantizes_amounts_to_currency_precision() -> None:
    result = summarize_invoice(make_invoice(total="100", amount_paid="0", amount_due="100"), TODAY)
    assert result.model_dump(mode="json")["total"] == "100.00"


def test_jpy_invoice_summary_has_no_decimals() -> None:
    result = summarize_invoice(make_invoice(currency="JPY", total="15000", amount_paid="0"), TODAY)
    assert result.model_dump(mode="json")["amount_due"] == "15000"
    assert "¥15,000" in result.summary
    assert "¥15,000.0" not in result.summary


def test_largest_line_is_the_line_with_the_largest_total() -> None:
    lines = [
        LineItem(description="Setup", total=Decimal("20.00")),
        LineItem(description="Pro plan", total=Decimal("70.00")),
        LineItem(description="Note"),
        LineItem(description="Discount", total=Decimal("-10.00")),
    ]
    result = summarize_invoice(make_invoice(line_items=lines), TODAY)
    assert result.line_count == 4
    assert result.largest_line is not None
    assert (result.largest_line.description, result.largest_line.total) == ("Pro plan", Decimal("70.00"))


def test_largest_line_is_none_when_no_line_states_a_total() -> None:
    result = summarize_invoice(make_invoice(line_items=[LineItem(description="Note")]), TODAY)
    assert result.largest_line is None


def test_invoice_summary_says_when_it_was_issued_and_how_many_lines_it_has() -> None:
    lines = [
        LineItem(description="Pro plan", total=Decimal(60)),
        LineItem(description="Seats", total=Decimal(40)),
    ]
    text = summarize_invoice(make_invoice(issued_at=date(2026, 3, 1), line_items=lines), TODAY).summary
    assert text.endswith("Issued 2026-03-01; 2 lines, largest: Pro plan ($60.00).")


def test_invoice_summary_without_issue_date_or_lines_is_one_sentence() -> None:
    text = summarize_invoice(make_invoice(number="INV-1", issued_at=None, due_at=None), TODAY).summary
    assert text == "Invoice INV-1 for $100.00 is open: $100.00 due, no due date."


def test_invoice_without_number_is_named_by_its_id() -> None:
    result = summarize_invoice(make_invoice(id="ord_42", number=None), TODAY)
    assert "ord_42" in result.summary


def test_invoice_summary_serializes_amounts_as_decimal_strings() -> None:
    dumped = summarize_invoice(make_invoice(total="10.10", amount_paid="0.10"), TODAY).model_dump(mode="json")
    assert (dumped["total"], dumped["amount_paid"], dumped["amount_due"]) == ("10.10", "0.10", "10.00")


# --- summarize_invoices: counts and statuses ---------------------------------------------------------


def test_no_invoices_gives_count_zero_and_says_no_invoices_match() -> None:
    result = summarize_invoices([], TODAY)
    assert result.count == 0
    assert result.by_status == []
    assert result.currencies == []
    assert result.oldest_unpaid is None
    assert result.summary == "No invoices match."
    assert result.as_of == TODAY


def test_by_status_lists_only_present_statuses_in_declaration_order() -> None:
    invoices = [
        make_invoice(status=InvoiceStatus.VOID),
        make_invoice(status=InvoiceStatus.PAID, amount_paid="100.00"),
        make_invoice(status=InvoiceStatus.DRAFT),
        make_invoice(status=InvoiceStatus.PAID, amount_paid="100.00"),
    ]
    result = summarize_invoices(invoices, TODAY)
    assert [(s.status, s.count) for s in result.by_status] == [
        (InvoiceStatus.DRAFT, 1),
        (InvoiceStatus.PAID, 2),
        (InvoiceStatus.VOID, 1),
    ]


def test_count_includes_every_status() -> None:
    invoices = [make_invoice(status=status) for status in InvoiceStatus]
    result = summarize_invoices(invoices, TODAY)
    assert result.count == len(InvoiceStatus)
    assert totals_for(result, "USD").count == len(InvoiceStatus)


def test_summarize_invoices_consumes_a_generator_in_one_pass() -> None:
    consumed = 0

    def invoices():
        nonlocal consumed
        for _ in range(1000):
            consumed += 1
            yield make_invoice(total="1.00")

    result = summarize_invoices(invoices(), TODAY)
    assert consumed == 1000
    assert result.count == 1000
    assert totals_for(result, "USD").total == Decimal("1000.00")


# --- summarize_invoices: totals ----------------------------------------------------------------------


def test_total_excludes_void_draft_and_pending_invoices() -> None:
    invoices = [
        make_invoice(status=InvoiceStatus.OPEN, total="10.00"),
        make_invoice(status=InvoiceStatus.PAID, total="20.00", amount_paid="20.00"),
        make_invoice(status=InvoiceStatus.VOID, total="1000.00"),
        make_invoice(status=InvoiceStatus.DRAFT, total="2000.00"),
        make_invoice(status=InvoiceStatus.PENDING, total="4000.00"),
    ]
    assert totals_for(summarize_invoices(invoices, TODAY), "USD").total == Decimal("30.00")


def test_total_includes_refunded_and_uncollectible_invoices() -> None:
    invoices = [
        make_invoice(status=InvoiceStatus.REFUNDED, total="10.00", amount_paid="10.00"),
        make_invoice(status=InvoiceStatus.UNCOLLECTIBLE, total="20.00"),
    ]
    assert totals_for(summarize_invoices(invoices, TODAY), "USD").total == Decimal("30.00")


def test_paid_sums_amount_paid_of_billed_invoices() -> None:
    invoices = [
        make_invoice(status=InvoiceStatus.PAID, total="20.00", amount_paid="20.00"),
        make_invoice(status=InvoiceStatus.PARTIALLY_PAID, total="50.00", amount_paid="15.50"),
        make_invoice(status=InvoiceStatus.VOID, total="9.00", amount_paid="9.00"),
    ]
    assert totals_for(summarize_invoices(invoices, TODAY), "USD").paid == Decimal("35.50")


def test_due_sums_amount_due_of_open_and_partially_paid_only() -> None:
    invoices = [
        make_invoice(status=InvoiceStatus.OPEN, total="10.00"),
        make_invoice(status=InvoiceStatus.PARTIALLY_PAID, total="50.00", amount_paid="15.00"),
        make_invoice(status=InvoiceStatus.UNCOLLECTIBLE, total="70.00"),
        make_invoice(status=InvoiceStatus.DRAFT, total="80.00"),
        make_invoice(status=InvoiceStatus.PENDING, total="90.00"),
        make_invoice(status=InvoiceStatus.PAID, total="5.00", amount_paid="5.00"),
    ]
    assert totals_for(summarize_invoices(invoices, TODAY), "USD").due == Decimal("45.00")


def test_overdue_is_the_part_of_due_past_its_due_date() -> None:
    invoices = [
        make_invoice(total="10.00", due_at=days_ago(1)),
        make_invoice(total="20.00", due_at=TODAY),
        make_invoice(total="40.00", due_at=None),
        make_invoice(status=InvoiceStatus.UNCOLLECTIBLE, total="80.00", due_at=days_ago(100)),
    ]
    totals = totals_for(summarize_invoices(invoices, TODAY), "USD")
    assert totals.overdue == Decimal("10.00")
    assert totals.due == Decimal("70.00")


def test_currencies_are_never_mixed_and_sorted_by_code() -> None:
    invoices = [
        make_invoice(currency="USD", total="10.00"),
        make_invoice(currency="JPY", total="1500"),
        make_invoice(currency="EUR", total="7.25"),
        make_invoice(currency="USD", total="0.99"),
    ]
    result = summarize_invoices(invoices, TODAY)
    assert [t.currency for t in result.currencies] == ["EUR", "JPY", "USD"]
    assert [t.total for t in result.currencies] == [Decimal("7.25"), Decimal(1500), Decimal("10.99")]
    assert [t.count for t in result.currencies] == [1, 1, 2]


def test_lower_case_currency_codes_are_grouped_with_upper_case() -> None:
    invoices = [make_invoice(currency="usd", total="1.00"), make_invoice(currency="USD", total="2.00")]
    result = summarize_invoices(invoices, TODAY)
    assert [(t.currency, t.total) for t in result.currencies] == [("USD", Decimal("3.00"))]


def test_jpy_and_usd_totals_keep_their_own_precision() -> None:
    invoices = [
        make_invoice(currency="JPY", total="15000", amount_paid="5000"),
        make_invoice(currency="USD", total="1234.00", amount_paid="1034.00"),
    ]
    dumped = summarize_invoices(invoices, TODAY).model_dump(mode="json")
    jpy, usd = dumped["currencies"]
    assert (jpy["total"], jpy["paid"], jpy["due"]) == ("15000", "5000", "10000")
    assert (usd["total"], usd["paid"], usd["due"]) == ("1234.00", "1034.00", "200.00")
    assert jpy["ageing"]["current"] == "10000"


def test_sums_of_cents_do_not_drift() -> None:
    invoices = [make_invoice(total="0.10", amount_paid="0.00") for _ in range(10)]
    totals = totals_for(summarize_invoices(invoices, TODAY), "USD")
    assert totals.total == Decimal("1.00")
    assert totals.due == Decimal("1.00")


def test_huge_amounts_sum_exactly() -> None:
    big = "9999999999999999999999999.99"  # 27 digits: more than a default-precision sum keeps
    invoices = [make_invoice(total=big, amount_paid="0.00") for _ in range(3)]
    totals = totals_for(summarize_invoices(invoices, TODAY), "USD")
    assert totals.total == Decimal(big) * 3
    assert money.to_minor_units(totals.total, "USD") == 3 * 999999999999999999999999999


# --- summarize_invoices: ageing ----------------------------------------------------------------------


def ageing_of(days_past_due: int | None) -> set[str]:
    """The ageing buckets that hold a USD 1.00 open invoice due ``days_past_due`` days ago."""
    due_at = None if days_past_due is None else days_ago(days_past_due)
    result = summarize_invoices([make_invoice(total="1.00", due_at=due_at)], TODAY)
    ageing = totals_for(result, "USD").ageing.model_dump(mode="json")
    return {name for name, amount in ageing.items() if amount != "0.00"}


def test_ageing_bucket_no_due_date_is_current() -> None:
    assert ageing_of(None) == {"current"}


def test_ageing_bucket_due_later_or_today_is_current() -> None:
    assert ageing_of(-5) == {"current"}
    assert ageing_of(0) == {"current"}


def test_ageing_bucket_boundary_1_and_30_days() -> None:
    assert ageing_of(1) == {"days_1_30"}
    assert ageing_of(30) == {"days_1_30"}


def test_ageing_bucket_boundary_31_and_60_days() -> None:
    assert ageing_of(31) == {"days_31_60"}
    assert ageing_of(60) == {"days_31_60"}


def test_ageing_bucket_boundary_61_and_90_days() -> None:
    assert ageing_of(61) == {"days_61_90"}
    assert ageing_of(90) == {"days_61_90"}


def test_ageing_bucket_boundary_91_days_is_over_90() -> None:
    assert ageing_of(91) == {"days_over_90"}


def test_ageing_ignores_invoices_that_are_not_unpaid() -> None:
    invoices = [
        make_invoice(status=InvoiceStatus.UNCOLLECTIBLE, due_at=days_ago(100)),
        make_invoice(status=InvoiceStatus.PAID, amount_paid="100.00", due_at=days_ago(100)),
    ]
    ageing = totals_for(summarize_invoices(invoices, TODAY), "USD").ageing
    assert ageing.model_dump(mode="json") == dict.fromkeys(
        ["current", "days_1_30", "days_31_60", "days_61_90", "days_over_90"], "0.00"
    )


# --- summarize_invoices: oldest unpaid ---------------------------------------------------------------


def test_oldest_unpaid_is_the_earliest_due_date() -> None:
    invoices = [
        make_invoice(id="b", due_at=days_ago(5)),
        make_invoice(id="a", number="INV-2026-0003", due_at=days_ago(45), currency="EUR"),
        make_invoice(id="c", due_at=None),
    ]
    oldest = summarize_invoices(invoices, TODAY).oldest_unpaid
    assert oldest is not None
    assert (oldest.invoice_id, oldest.currency, oldest.days_overdue) == ("a", "EUR", 45)
    assert oldest.uri == "invoice://local/a"


def test_oldest_unpaid_ignores_paid_void_and_nothing_left_to_pay() -> None:
    invoices = [
        make_invoice(id="paid", status=InvoiceStatus.PAID, amount_paid="100.00", due_at=days_ago(90)),
        make_invoice(id="void", status=InvoiceStatus.VOID, due_at=days_ago(90)),
        make_invoice(id="zero", amount_due="0.00", due_at=days_ago(90)),
        make_invoice(id="owing", due_at=days_ago(1)),
    ]
    oldest = summarize_invoices(invoices, TODAY).oldest_unpaid
    assert oldest is not None and oldest.invoice_id == "owing"


def test_oldest_unpaid_without_due_date_comes_after_dated_ones() -> None:
    invoices = [
        make_invoice(id="undated", due_at=None, issued_at=date(2020, 1, 1)),
        make_invoice(id="dated", due_at=TODAY + timedelta(days=10)),
    ]
    oldest = summarize_invoices(invoices, TODAY).oldest_unpaid
    assert oldest is not None and oldest.invoice_id == "dated"
    assert oldest.days_overdue is None


def test_oldest_unpaid_ties_broken_by_issue_date_then_id() -> None:
    due = days_ago(10)
    invoices = [
        make_invoice(id="z", due_at=due, issued_at=date(2026, 3, 1)),
        make_invoice(id="y", due_at=due, issued_at=date(2026, 3, 1)),
        make_invoice(id="x", due_at=due, issued_at=date(2026, 3, 2)),
    ]
    oldest = summarize_invoices(invoices, TODAY).oldest_unpaid
    assert oldest is not None and oldest.invoice_id == "y"


def test_oldest_unpaid_is_none_when_nothing_is_owed() -> None:
    invoices = [make_invoice(status=InvoiceStatus.PAID, amount_paid="100.00")]
    assert summarize_invoices(invoices, TODAY).oldest_unpaid is None


# --- summarize_invoices: text ------------------------------------------------------------------------


def test_summary_text_gives_per_currency_billed_due_overdue_and_oldest_unpaid() -> None:
    invoices = [
        make_invoice(currency="USD", total="1034.00", amount_paid="1034.00", status=InvoiceStatus.PAID),
        make_invoice(currency="USD", total="150.00", due_at=TODAY + timedelta(days=3)),
        make_invoice(currency="USD", total="50.00", number="INV-2026-0003", due_at=days_ago(45)),
        make_invoice(currency="JPY", total="15000", amount_paid="15000", status=InvoiceStatus.PAID),
    ]
    text = summarize_invoices(invoices, TODAY).summary
    assert text == (
        "4 invoices (2 open, 2 paid): ¥15,000 billed, nothing due; "
        "$1,234.00 billed, $200.00 due ($50.00 overdue). "
        "Oldest unpaid: INV-2026-0003, $50.00, 45 days overdue."
    )


def test_summary_text_uses_singular_for_one_invoice() -> None:
    text = summarize_invoices([make_invoice(status=InvoiceStatus.PARTIALLY_PAID, amount_paid="1.00")], TODAY)
    assert text.summary.startswith("1 invoice (1 partially paid): ")


def test_summary_serializes_to_plain_json() -> None:
    invoices = [make_invoice(currency="KWD", total="1.234", due_at=days_ago(2))]
    dumped = summarize_invoices(invoices, TODAY).model_dump(mode="json")
    assert dumped["as_of"] == "2026-04-15"
    assert dumped["currencies"][0]["overdue"] == "1.234"
    assert dumped["by_status"] == [{"status": "open", "count": 1}]


def test_output_schemas_have_no_recursion() -> None:
    for model in (InvoiceSummary, InvoicesSummary):
        for name, definition in model.model_json_schema().get("$defs", {}).items():
            assert f"#/$defs/{name}" not in json.dumps(definition), name


# --- properties: money never drifts ------------------------------------------------------------------

CURRENCIES = ["USD", "EUR", "JPY", "KWD"]
_minor = st.integers(min_value=0, max_value=10**12)


@st.composite
def invoice_specs(draw: st.DrawFn) -> tuple[str, InvoiceStatus, int, int, int, int | None]:
    currency = draw(st.sampled_from(CURRENCIES))
    status = draw(st.sampled_from(list(InvoiceStatus)))
    total, paid, due = draw(_minor), draw(_minor), draw(_minor)
    days_past_due = draw(st.none() | st.integers(min_value=-200, max_value=400))
    return currency, status, total, paid, due, days_past_due


def build(spec: tuple[str, InvoiceStatus, int, int, int, int | None]) -> Invoice:
    currency, status, total, paid, due, days_past_due = spec
    return make_invoice(
        currency=currency,
        status=status,
        total=money.from_minor_units(total, currency),
        amount_paid=money.from_minor_units(paid, currency),
        amount_due=money.from_minor_units(due, currency),
        due_at=None if days_past_due is None else days_ago(days_past_due),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(invoice_specs(), max_size=40))
def test_per_currency_totals_equal_exact_minor_unit_sums(specs: list) -> None:
    result = summarize_invoices(map(build, specs), TODAY)
    excluded = {InvoiceStatus.VOID, InvoiceStatus.DRAFT, InvoiceStatus.PENDING}
    for totals in result.currencies:
        mine = [s for s in specs if s[0] == totals.currency]
        assert totals.count == len(mine)
        assert money.to_minor_units(totals.total, totals.currency) == sum(
            s[2] for s in mine if s[1] not in excluded
        )
        assert money.to_minor_units(totals.paid, totals.currency) == sum(
            s[3] for s in mine if s[1] not in excluded
        )
        assert money.to_minor_units(totals.due, totals.currency) == sum(s[4] for s in mine if s[1].is_unpaid)
        overdue = sum(s[4] for s in mine if s[1].is_unpaid and s[5] is not None and s[5] > 0)
        assert money.to_minor_units(totals.overdue, totals.currency) == overdue
    assert {t.currency for t in result.currencies} == {s[0] for s in specs}
    assert result.count == len(specs)


@settings(max_examples=200, deadline=None)
@given(st.lists(invoice_specs(), max_size=40))
def test_ageing_buckets_always_sum_to_due(specs: list) -> None:
    result = summarize_invoices(map(build, specs), TODAY)
    for totals in result.currencies:
        ageing = totals.ageing
        buckets = [
            ageing.current,
            ageing.days_1_30,
            ageing.days_31_60,
            ageing.days_61_90,
            ageing.days_over_90,
        ]
        assert sum(buckets, Decimal(0)) == totals.due
        assert totals.due - ageing.current == totals.overdue


@settings(max_examples=100, deadline=None)
@given(st.lists(invoice_specs(), max_size=40))
def test_amounts_serialize_at_currency_precision(specs: list) -> None:
    dumped = summarize_invoices(map(build, specs), TODAY).model_dump(mode="json")
    for totals in dumped["currencies"]:
        exponent = money.currency_exponent(totals["currency"])
        amounts = [totals[k] for k in ("total", "paid", "due", "overdue")] + list(totals["ageing"].values())
        for amount in amounts:
            decimals = len(amount.partition(".")[2])
            assert decimals == exponent, amount
