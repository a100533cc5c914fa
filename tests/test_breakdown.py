"""Documents that add up: net + tax = gross on each line, the nets sum to the subtotal, and subtotal −
discount + tax + shipping (+ a labelled adjustment) = the total, on the PDF and in the text answers."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_invoices.documents.pdf import render_invoice_pdf_sync
from mcp_invoices.domain.breakdown import breakdown_of
from mcp_invoices.domain.models import Invoice, InvoiceStatus, LineItem
from mcp_invoices.domain.summary import summarize_invoice
from mcp_invoices.server.tools.get_invoice import invoice_text
from mcp_invoices.views import VIEW_DATA_KEY, invoice_view_data
from tests.factories import printed_invoice
from tests.test_pdf import text_of

MONEY = re.compile(r"-?\$[\d,]+\.\d\d")


def _amount(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def _local_sample():
    """The local ledger's ord_1003 as the issue found it: line totals include their tax."""
    return printed_invoice(
        status=InvoiceStatus.PAID,
        line_items=[
            LineItem(
                description="Landing page build",
                quantity=Decimal(1),
                unit_amount=Decimal("1450.00"),
                discount=Decimal("0.00"),
                tax=Decimal("125.06"),
                total=Decimal("1575.06"),
            ),
            LineItem(
                description="Stock photography licence",
                quantity=Decimal(3),
                unit_amount=Decimal("19.99"),
                discount=Decimal("0.00"),
                tax=Decimal("0.00"),
                total=Decimal("59.97"),
            ),
        ],
        subtotal="1509.97",
        discount="0.00",
        tax="125.06",
        shipping="12.50",
        total="1647.53",
        amount_paid="1647.53",
        amount_due="0.00",
    )


def test_lines_that_include_tax_print_net_tax_and_gross_and_the_nets_sum_to_the_subtotal() -> None:
    text = text_of(render_invoice_pdf_sync(_local_sample()))

    assert "NET" in text and "GROSS" in text
    assert "$1,450.00 $125.06 $1,575.06" in text  # net + tax = gross
    assert "$59.97 $0.00 $59.97" in text
    assert "Subtotal (net) $1,509.97" in text  # 1,450.00 + 59.97
    assert "Tax $125.06" in text and "Shipping $12.50" in text and "Total $1,647.53" in text
    assert "Adjustment" not in text  # the provider's own figures agree under this rule


def test_lines_that_exclude_tax_are_their_own_net() -> None:
    invoice = printed_invoice(
        line_items=[
            LineItem(description="Chair", quantity=Decimal(2), tax=Decimal("7.60"), total=Decimal("40.00")),
        ],
        subtotal="40.00",
        tax="7.60",
        total="47.60",
    )
    breakdown = breakdown_of(invoice)
    assert not breakdown.lines_include_tax
    assert (breakdown.lines[0].net, breakdown.lines[0].gross) == (Decimal("40.00"), Decimal("47.60"))
    assert breakdown.adjustment == 0


def test_a_provider_total_that_does_not_add_up_is_shown_as_a_labelled_adjustment() -> None:
    invoice = printed_invoice(subtotal="100.00", tax="0.00", total="105.00")  # one 100.00 line

    text = text_of(render_invoice_pdf_sync(invoice))

    assert "Adjustment (provider's total) $5.00" in text


def test_the_text_answers_follow_the_same_rule() -> None:
    invoice = _local_sample()
    assert "total $1,647.53 ($1,509.97 subtotal (net) + $125.06 tax + $12.50 shipping)" in invoice_text(
        invoice
    )
    summary = summarize_invoice(invoice, date(2026, 12, 5)).summary
    assert "largest: Landing page build ($1,575.06 incl. tax)" in summary


cents = st.integers(min_value=0, max_value=500_000).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def invoices(draw: st.DrawFn):
    count = draw(st.integers(min_value=1, max_value=6))
    nets = [draw(cents) for _ in range(count)]
    taxes = [draw(cents) for _ in range(count)]
    gross_lines = draw(st.booleans())  # how this provider fills a line's total
    lines = [
        LineItem(
            description=f"Item {index}",
            quantity=Decimal(1),
            unit_amount=net,
            tax=tax,
            total=net + tax if gross_lines else net,
        )
        for index, (net, tax) in enumerate(zip(nets, taxes, strict=True))
    ]
    discount = draw(cents)
    shipping = draw(cents)
    consistent = draw(st.booleans())
    total = sum(nets) - discount + sum(taxes) + shipping if consistent else draw(cents)
    return printed_invoice(
        line_items=lines,
        subtotal=str(sum(nets, Decimal("0.00"))),
        discount=str(discount),
        tax=str(sum(taxes, Decimal("0.00"))),
        shipping=str(shipping),
        total=str(total),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoice=invoices())
def test_the_printed_numbers_add_up_to_the_printed_total(invoice) -> None:
    """Whatever a provider sends, a calculator checks the page: every row's net + tax = gross, the
    nets sum to the printed subtotal, and the rows under the table sum to the printed total."""
    text = text_of(render_invoice_pdf_sync(invoice))
    nets = []
    for row in re.findall(r"^Item \d+ .*$", text, flags=re.MULTILINE):
        net, tax, gross = (_amount(value) for value in MONEY.findall(row)[-3:])
        assert net + tax == gross, row
        nets.append(net)
    assert len(nets) == len(invoice.line_items)
    rows = dict(
        re.findall(
            r"^(Subtotal \(net\)|Discount|Tax|Shipping|Adjustment \(provider's total\)|Total) (\S+)$",
            text,
            flags=re.MULTILINE,
        )
    )
    assert _amount(rows["Subtotal (net)"]) == sum(nets)
    added = sum(_amount(value) for label, value in rows.items() if label != "Total")
    assert added == _amount(rows["Total"]) == invoice.total
    assert_text_adds_up(invoice_text(invoice), invoice.total)
    assert_view_adds_up(invoice_view_data(invoice, None), invoice)


def assert_text_adds_up(text: str, total: Decimal) -> None:
    """The text answer's "total T (A subtotal (net) + B tax − C discount …)": the terms sum to T."""
    stated = re.search(r"total (\S+) \((.*?)\), due", text)
    assert stated, text
    terms = re.findall(r"(^|[+−]) ?(-?[^\d\s-]* ?-?[\d,]+(?:\.\d+)?)", stated.group(2))
    amounts = [_money(value) * (-1 if sign == "−" else 1) for sign, value in terms]
    assert sum(amounts) == _money(stated.group(1)) == total, text


def assert_view_adds_up(view: dict, invoice: Invoice) -> None:
    """The view's data (result _meta): net + tax = gross per line, nets = subtotal, rows = total."""
    assert len(view["lines"]) == len(invoice.line_items)
    nets = []
    for line in view["lines"]:
        if line["net"] is not None and line["tax"] is not None:
            assert Decimal(line["net"]) + Decimal(line["tax"]) == Decimal(line["gross"]), line
        if line["net"] is not None:
            nets.append(Decimal(line["net"]))
    rows = {row["field"]: Decimal(row["amount"]) for row in view["rows"]}
    if nets:
        assert rows["subtotal"] == sum(nets)
    assert sum(rows.values()) == Decimal(view["total"]) == invoice.total


def _money(text: str) -> Decimal:
    negative = text.startswith("-")
    number = Decimal(re.sub(r"[^\d.]", "", text))
    return -number if negative else number


# -- every provider's own data, through the server over loopback ------------------------------------

from tests.test_isolation import CASES, IDS, Deployment, deployment, session  # noqa: E402, F401


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_every_providers_invoices_add_up_under_the_rule(deployment: Deployment, case) -> None:  # noqa: F811
    """Each provider fills a line's total its own way; read through the breakdown, each of its
    sample invoices adds up with no adjustment: the rule fits the data, not only our own."""
    seen = []
    for who in ("alice", "bob"):
        async with session(deployment, case.provider, who) as client:
            listed = await client.call_tool("list_invoices", {"limit": 50})
            for row in listed.structured_content["invoices"]:
                got = await client.call_tool("get_invoice", {"invoice_id": row["id"]})
                assert not got.is_error, got.content
                invoice = Invoice.model_validate(got.structured_content)
                breakdown = breakdown_of(invoice)
                # What each document prints adds up: the text answer, the view's data, the PDF.
                assert_text_adds_up(got.content[0].text.splitlines()[0], invoice.total)
                assert_view_adds_up((got.meta or {})[VIEW_DATA_KEY], invoice)
                seen.append((invoice.id, breakdown.lines_include_tax, breakdown.adjustment))
    assert seen, f"{case.provider}: no sample invoices"
    assert [entry for entry in seen if entry[2] != 0] == []
