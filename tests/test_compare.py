"""compare_invoices in the domain: line matching, the exact breakdown of the total, the summary."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_invoices.domain.compare import SUMMARY_LIMIT, compare_invoices
from mcp_invoices.domain.errors import InvalidArgument
from mcp_invoices.domain.models import Customer, Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.money import ZERO, currency_exponent
from tests.conftest import local_client
from tests.factories import make_invoice as any_invoice
from tests.results import error_of, text_json_of


def make_invoice(invoice_id: str = "a", **fields: Any) -> Invoice:
    """A paid invoice of customer ``cus_a`` adding up to nothing unless told otherwise."""
    fields = {"status": InvoiceStatus.PAID, "customer": Customer(id="cus_a"), "total": 0} | fields
    return any_invoice(invoice_id, **fields)


def seat(
    quantity: int, *, description: str = "Seat", unit: str = "100.00", period: int | None = None
) -> LineItem:
    return LineItem(
        description=description,
        quantity=Decimal(quantity),
        unit_amount=Decimal(unit),
        total=Decimal(unit) * quantity,
        period_start=date(2026, period, 1) if period else None,
        period_end=date(2026, period, 28) if period else None,
    )


# -- examples ----------------------------------------------------------------------------------------


def test_one_more_seat_and_its_tax_are_the_whole_story_of_a_higher_invoice() -> None:
    before = make_invoice(
        "b",
        number="INV-2026-0003",
        line_items=[seat(2)],
        subtotal=Decimal("200.00"),
        tax=Decimal("40.00"),
        total=Decimal("240.00"),
    )
    after = make_invoice(
        "a",
        number="INV-2026-0004",
        line_items=[seat(3)],
        subtotal=Decimal("300.00"),
        tax=Decimal("60.00"),
        total=Decimal("360.00"),
    )
    result = compare_invoices(after, before)
    assert (
        result.summary
        == "INV-2026-0004 is $120.00 more than INV-2026-0003: 1 more Seat (+$100.00), tax +$20.00."
    )
    assert result.differences.total == Decimal("120.00") and result.differences.tax == Decimal("20.00")
    assert (result.breakdown.lines, result.breakdown.tax, result.breakdown.other) == (
        Decimal("100.00"),
        Decimal("20.00"),
        ZERO,
    )
    [line] = result.lines
    assert (line.change, line.quantity_before, line.quantity_after, line.difference) == (
        "changed",
        Decimal(2),
        Decimal(3),
        Decimal("100.00"),
    )


def test_tax_already_inside_the_line_totals_is_not_counted_twice() -> None:
    def invoice(invoice_id: str, quantity: int) -> Invoice:
        line = LineItem(
            description="Seat",
            quantity=Decimal(quantity),
            unit_amount=Decimal("100.00"),
            tax=Decimal(20 * quantity),
            total=Decimal(120 * quantity),
        )
        return make_invoice(
            invoice_id,
            line_items=[line],
            subtotal=Decimal(100 * quantity),
            tax=Decimal(20 * quantity),
            total=Decimal(120 * quantity),
        )

    result = compare_invoices(invoice("a", 3), invoice("b", 2))
    assert result.breakdown.lines == Decimal("120.00") and result.breakdown.tax == ZERO
    assert result.differences.tax == Decimal("20.00")  # the stated figure still says how tax moved


def test_a_subscription_line_is_matched_across_periods_by_its_description() -> None:
    before = make_invoice(
        "b", line_items=[seat(1, description="Pro plan", period=2)], total=Decimal("100.00")
    )
    after = make_invoice(
        "a", line_items=[seat(1, description="pro  PLAN", period=3)], total=Decimal("100.00")
    )
    [line] = compare_invoices(after, before).lines
    assert line.change == "unchanged" and line.description == "pro  PLAN"


def test_the_same_description_in_the_same_period_is_matched_before_position() -> None:
    before = make_invoice("b", line_items=[seat(1, period=1), seat(2, period=2)], total=Decimal("300.00"))
    after = make_invoice("a", line_items=[seat(2, period=2), seat(1, period=1)], total=Decimal("300.00"))
    assert [line.change for line in compare_invoices(after, before).lines] == ["unchanged", "unchanged"]


def test_lines_with_different_descriptions_are_added_and_removed_never_paired() -> None:
    before = make_invoice("b", line_items=[seat(1, description="Hosting")], total=Decimal("100.00"))
    after = make_invoice("a", line_items=[seat(2, description="Storage")], total=Decimal("200.00"))
    result = compare_invoices(after, before)
    assert [(line.change, line.description, line.difference) for line in result.lines] == [
        ("added", "Storage", Decimal("200.00")),
        ("removed", "Hosting", Decimal("-100.00")),
    ]
    assert result.summary == "a is $100.00 more than b: new Storage (+$200.00), no Hosting (-$100.00)."


def test_a_price_change_is_told_as_the_new_and_the_old_unit_price() -> None:
    before = make_invoice("b", line_items=[seat(2, unit="90.00")], total=Decimal("180.00"))
    after = make_invoice("a", line_items=[seat(2)], total=Decimal("200.00"))
    assert compare_invoices(after, before).summary == (
        "a is $20.00 more than b: Seat at $100.00 instead of $90.00 (+$20.00)."
    )


def test_a_lower_invoice_says_less_and_a_bigger_discount_lowers_the_total() -> None:
    before = make_invoice("b", line_items=[seat(1)], discount=Decimal("0.00"), total=Decimal("100.00"))
    after = make_invoice("a", line_items=[seat(1)], discount=Decimal("15.00"), total=Decimal("85.00"))
    result = compare_invoices(after, before)
    assert result.summary == "a is $15.00 less than b: discount -$15.00."
    assert result.differences.discount == Decimal("15.00") and result.breakdown.discount == Decimal("-15.00")


def test_invoices_in_different_currencies_are_an_invalid_argument_saying_why() -> None:
    with pytest.raises(InvalidArgument) as raised:
        compare_invoices(make_invoice("a", currency="EUR"), make_invoice("b", currency="USD"))
    assert "EUR" in raised.value.message and "USD" in raised.value.message
    assert "exchange rate" in raised.value.message


def test_an_invoice_compared_with_itself_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument):
        compare_invoices(make_invoice("a"), make_invoice("a"))


def test_a_stated_figure_neither_invoice_has_is_null_not_zero() -> None:
    result = compare_invoices(make_invoice("a", total=Decimal(5)), make_invoice("b", total=Decimal(3)))
    assert result.differences.shipping is None and result.differences.total == Decimal("2.00")


def test_the_summary_of_many_changes_stays_quotable() -> None:
    before = make_invoice(
        "b",
        line_items=[seat(1, description=f"Item {i:03} " + "x" * 40) for i in range(80)],
        total=Decimal("8000.00"),
    )
    after = make_invoice(
        "a",
        line_items=[seat(2, description=f"Item {i:03} " + "x" * 40) for i in range(80)],
        total=Decimal("16000.00"),
    )
    summary = compare_invoices(after, before).summary
    assert len(summary) <= SUMMARY_LIMIT and summary.endswith("more change(s).")


# -- properties --------------------------------------------------------------------------------------

CURRENCIES = ["USD", "JPY", "KWD"]


def amounts(currency: str, *, low: int = -(10**9), high: int = 10**9) -> st.SearchStrategy[Decimal]:
    exponent = currency_exponent(currency)
    return st.integers(low, high).map(lambda minor: Decimal(minor).scaleb(-exponent))


def line_items(currency: str) -> st.SearchStrategy[LineItem]:
    return st.builds(
        LineItem,
        description=st.sampled_from(["Seat", "seat", "Hosting", "Support  hours", "Storage"]),
        quantity=st.none() | st.integers(0, 1000).map(Decimal),
        unit_amount=st.none() | amounts(currency, low=0, high=10**7),
        discount=st.none() | amounts(currency, low=0, high=10**6),
        tax=st.none() | amounts(currency, low=0, high=10**6),
        total=st.none() | amounts(currency),
        period_start=st.none() | st.sampled_from([date(2026, 1, 1), date(2026, 2, 1)]),
    )


@st.composite
def invoice_pairs(draw: st.DrawFn) -> tuple[Invoice, Invoice]:
    currency = draw(st.sampled_from(CURRENCIES))

    def one(invoice_id: str) -> Invoice:
        lines = draw(st.lists(line_items(currency), max_size=8))
        optional = st.none() | amounts(currency, low=0, high=10**8)
        return make_invoice(
            invoice_id,
            currency=currency,
            line_items=lines,
            subtotal=draw(optional),
            discount=draw(optional),
            tax=draw(optional),
            shipping=draw(optional),
            total=draw(amounts(currency)),
        )

    return one("after"), one("before")


@settings(max_examples=150, deadline=None)
@given(invoice_pairs())
def test_lines_discount_tax_shipping_and_other_add_up_to_the_total_difference_for_any_pair(
    pair: tuple[Invoice, Invoice],
) -> None:
    after, before = pair
    result = compare_invoices(after, before)
    parts = result.breakdown
    assert result.differences.total == after.total - before.total
    assert parts.lines == sum((line.difference for line in result.lines), ZERO)
    assert parts.lines + parts.discount + parts.tax + parts.shipping + parts.other == result.differences.total
    for amount in (parts.lines, parts.discount, parts.tax, parts.shipping, parts.other):
        assert amount == amount.quantize(Decimal(1).scaleb(-currency_exponent(after.currency)))


@settings(max_examples=150, deadline=None)
@given(invoice_pairs())
def test_every_line_of_both_invoices_appears_exactly_once(pair: tuple[Invoice, Invoice]) -> None:
    after, before = pair
    changes = [line.change for line in compare_invoices(after, before).lines]
    both = changes.count("changed") + changes.count("unchanged")
    assert changes.count("added") + both == len(after.line_items)
    assert changes.count("removed") + both == len(before.line_items)


@settings(max_examples=100, deadline=None)
@given(invoice_pairs())
def test_the_summary_is_never_longer_than_a_chat_can_quote(pair: tuple[Invoice, Invoice]) -> None:
    after, before = pair
    assert len(compare_invoices(after, before).summary) <= SUMMARY_LIMIT


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_nothing_is_left_unexplained_when_each_invoice_is_the_sum_of_its_parts(data: st.DataObject) -> None:
    """Line totals with or without their tax: either way the stated figures explain the total fully."""
    currency = data.draw(st.sampled_from(CURRENCIES))
    lines_include_tax = data.draw(st.booleans())

    def one(invoice_id: str) -> Invoice:
        lines = data.draw(
            st.lists(line_items(currency).filter(lambda line: line.total is not None), max_size=6)
        )
        tax = data.draw(amounts(currency, low=0, high=10**6))
        shipping = data.draw(amounts(currency, low=0, high=10**6))
        line_sum = sum((line.total for line in lines if line.total is not None), ZERO)
        total = line_sum + shipping + (ZERO if lines_include_tax else tax)
        return make_invoice(
            invoice_id, currency=currency, line_items=lines, tax=tax, shipping=shipping, total=total
        )

    result = compare_invoices(one("after"), one("before"))
    assert result.breakdown.other == ZERO


# -- through the MCP client, on the local ledger -------------------------------------------------------


async def test_compare_invoices_defaults_to_the_invoice_issued_just_before(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        result = await client.call_tool("compare_invoices", {"invoice_id": "ord_1002"})
        rows = (await client.call_tool("list_invoices", {})).structured_content["invoices"]
    comparison = result.structured_content
    totals = {row["id"]: Decimal(row["total"]) for row in rows}
    assert comparison["invoice"]["id"] == "ord_1002" and comparison["other"]["id"] == "ord_1001"
    assert Decimal(comparison["differences"]["total"]) == totals["ord_1002"] - totals["ord_1001"]
    assert result.content[0].text.partition("\n")[0] == comparison["summary"]
    assert text_json_of(result) == comparison


async def test_compare_invoices_takes_the_other_invoice_when_given(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        result = await client.call_tool(
            "compare_invoices", {"invoice_id": "ord_1001", "other_invoice_id": "ord_1002"}
        )
    assert result.structured_content["other"]["id"] == "ord_1002"
    assert result.structured_content["summary"].startswith("INV-")


async def test_the_default_other_invoice_is_in_the_same_currency_or_none(ledger_path: Path) -> None:
    """The owner's JPY invoice ord_3004 was issued after USD and EUR invoices but after no JPY one."""
    async with local_client(ledger_path, None) as client:
        result = await client.call_tool("compare_invoices", {"invoice_id": "ord_3004"})
    error = error_of(result)
    assert error["code"] == "not_found" and "JPY" in error["message"] and "other_invoice_id" in error["hint"]


async def test_comparing_invoices_in_different_currencies_is_an_invalid_argument(ledger_path: Path) -> None:
    async with local_client(ledger_path, None) as client:
        result = await client.call_tool(
            "compare_invoices", {"invoice_id": "ord_1001", "other_invoice_id": "ord_2001"}
        )
    error = error_of(result)
    assert error["code"] == "invalid_argument" and "USD" in error["message"] and "EUR" in error["message"]


async def test_another_customers_invoice_to_compare_with_is_exactly_the_not_found_of_a_missing_one(
    ledger_path: Path,
) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        theirs = await client.call_tool(
            "compare_invoices", {"invoice_id": "ord_1002", "other_invoice_id": "ord_2001"}
        )
        missing = await client.call_tool(
            "compare_invoices", {"invoice_id": "ord_1002", "other_invoice_id": "ord_9999"}
        )
    assert error_of(theirs)["code"] == "not_found"
    assert json.dumps(error_of(theirs)).replace("ord_2001", "<id>") == json.dumps(error_of(missing)).replace(
        "ord_9999", "<id>"
    )


async def test_the_explain_invoice_prompt_asks_for_compare_invoices(ledger_path: Path) -> None:
    async with local_client(ledger_path, "cus_alice") as client:
        prompt = await client.get_prompt("explain_invoice", {"invoice_id": "INV-2026-0004"})
    text = prompt.messages[0].content.text
    assert "compare_invoices" in text and "list_invoices" not in text
