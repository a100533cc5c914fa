"""Why one invoice differs from another (``compare_invoices``): exact, line by line.

A pure function of two invoices of one currency. Amounts stay ``Decimal`` throughout and every
difference is ``after - before``, where *before* is the other (usually earlier) invoice and
*after* the one asked about.

How lines are matched, in this order (each line is used once):

1. same description (compared case-insensitively, whitespace collapsed) **and** same service
   period, in order of appearance;
2. among the lines still unmatched, same description, in order of appearance (a monthly
   subscription line keeps its description while its period moves on);
3. whatever is left is ``added`` (only on the invoice asked about) or ``removed`` (only on the
   other). Lines with different descriptions are never paired: calling "Hosting" a changed
   "Seats" would explain nothing.

How the total difference is explained (``breakdown``; exact to the minor unit for any pair):

    differences.total = breakdown.lines + breakdown.discount + breakdown.tax
                        + breakdown.shipping + breakdown.other

- ``lines`` is the sum of every line's ``difference`` (the change of the line totals as stated).
- Whatever the line totals do not carry lies *outside the lines*: ``total - sum(line totals)``
  of each invoice. Providers differ in what a line total includes (the local ledger's include
  the line's discount and tax; Polar's are before tax), so each invoice's outside part is
  attributed by the first of these that its stated figures satisfy exactly:
  lines carry everything (total = lines + shipping); lines are before invoice discount and tax
  (total = lines - discount + tax + shipping); before tax only; before discount only.
  Shipping is always outside the lines.
- ``discount``, ``tax`` and ``shipping`` are then the change of those outside parts, each as its
  effect on the total (a larger discount is negative); ``other`` is the remainder, zero whenever
  an invoice's figures fit one of the patterns, and otherwise says plainly that the provider's
  stated total is not the sum of its parts (the total is never recomputed).

``differences`` itself holds the stated invoice figures' changes (subtotal, discount, tax,
shipping, total), a missing figure counting as zero; a figure neither invoice states is null.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mcp_invoices.domain.errors import InvalidArgument
from mcp_invoices.domain.models import Amount, Invoice, InvoiceRow, LineItem, Quantity
from mcp_invoices.domain.money import ZERO, format_money, quantize

__all__ = [
    "SUMMARY_LIMIT",
    "AmountDifferences",
    "InvoiceComparison",
    "LineChange",
    "LineComparison",
    "TotalBreakdown",
    "compare_invoices",
    "match_lines",
]

SUMMARY_LIMIT = 600
"""The summary is short enough for a chat to quote whole."""

# Far above any ledger's precision: adding amounts never rounds; only the final quantize does.
_EXACT = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_EVEN)

LineChange = Literal["added", "removed", "changed", "unchanged"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LineComparison(_Model):
    change: LineChange
    description: str
    quantity_before: Quantity | None
    quantity_after: Quantity | None
    unit_amount_before: Amount | None
    unit_amount_after: Amount | None
    total_before: Amount | None
    total_after: Amount | None
    difference: Amount = Field(description="total_after - total_before (a missing total counts as zero)")


class AmountDifferences(_Model):
    """``after - before`` of each stated invoice figure; null when neither invoice states it."""

    subtotal: Amount | None
    discount: Amount | None
    tax: Amount | None
    shipping: Amount | None
    total: Amount


class TotalBreakdown(_Model):
    """Where the total difference comes from; the five parts add up to it exactly."""

    lines: Amount = Field(description="Sum of the lines' differences")
    discount: Amount = Field(description="Effect on the total of discount not carried by the line totals")
    tax: Amount = Field(description="Effect on the total of tax not carried by the line totals")
    shipping: Amount = Field(description="Effect on the total of shipping")
    other: Amount = Field(
        description="What remains: non-zero only where a provider's stated total is not the sum of its parts"
    )


class InvoiceComparison(_Model):
    summary: str = Field(description=f"Plain-language account, at most {SUMMARY_LIMIT} characters")
    invoice: InvoiceRow = Field(description="The invoice asked about (after)")
    other: InvoiceRow = Field(description="The invoice it is compared with (before)")
    currency: str
    differences: AmountDifferences
    breakdown: TotalBreakdown
    lines: list[LineComparison]


# -- matching ----------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _description_key(description: str) -> str:
    return _SPACES.sub(" ", description).strip().casefold()


def _period(line: LineItem) -> tuple[date | None, date | None]:
    return (line.period_start, line.period_end)


@dataclass(frozen=True, slots=True)
class _Pair:
    before: LineItem | None
    after: LineItem | None


def match_lines(before: Sequence[LineItem], after: Sequence[LineItem]) -> list[_Pair]:
    """Pair lines by description and period, then by description in order; the rest are added/removed.

    Every line of both invoices appears in exactly one pair. Pairs follow the order of ``after``,
    then removed lines in the order of ``before``.
    """
    matched_before: dict[int, int] = {}  # after index -> before index

    def pair_by(key: object) -> None:
        free_before = [i for i in range(len(before)) if i not in matched_before.values()]
        for j, line in enumerate(after):
            if j in matched_before:
                continue
            wanted = key(line)  # type: ignore[operator]
            for i in free_before:
                if key(before[i]) == wanted:  # type: ignore[operator]
                    matched_before[j] = i
                    free_before.remove(i)
                    break

    pair_by(lambda line: (_description_key(line.description), _period(line)))
    pair_by(lambda line: _description_key(line.description))
    pairs = [
        _Pair(before[matched_before[j]] if j in matched_before else None, line)
        for j, line in enumerate(after)
    ]
    used = set(matched_before.values())
    pairs.extend(_Pair(line, None) for i, line in enumerate(before) if i not in used)
    return pairs


def _line_comparison(pair: _Pair, currency: str) -> LineComparison:
    before, after = pair.before, pair.after
    total_before = before.total if before else None
    total_after = after.total if after else None
    difference = quantize(_EXACT.subtract(total_after or ZERO, total_before or ZERO), currency)
    if before is None:
        change: LineChange = "added"
    elif after is None:
        change = "removed"
    elif (before.quantity, before.unit_amount, before.total) == (
        after.quantity,
        after.unit_amount,
        after.total,
    ):
        change = "unchanged"
    else:
        change = "changed"
    shown = after if after is not None else before
    assert shown is not None
    return LineComparison(
        change=change,
        description=shown.description,
        quantity_before=before.quantity if before else None,
        quantity_after=after.quantity if after else None,
        unit_amount_before=before.unit_amount if before else None,
        unit_amount_after=after.unit_amount if after else None,
        total_before=total_before,
        total_after=total_after,
        difference=difference,
    )


# -- the total's breakdown ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outside:
    """One invoice's total minus its line totals, attributed (each as its effect on the total)."""

    discount: Decimal
    tax: Decimal
    shipping: Decimal


def _sum(values: Iterable[Decimal | None]) -> Decimal:
    total = ZERO
    for value in values:
        if value is not None:
            total = _EXACT.add(total, value)
    return total


def _outside_lines(invoice: Invoice) -> _Outside:
    lines = _sum(line.total for line in invoice.line_items)
    outside = _EXACT.subtract(invoice.total, lines)
    shipping = invoice.shipping or ZERO
    discount = _EXACT.minus(invoice.discount or ZERO)  # its effect on the total
    tax = invoice.tax or ZERO
    # The first pattern the stated figures satisfy exactly says what the line totals include.
    for discount_part, tax_part in ((ZERO, ZERO), (discount, tax), (ZERO, tax), (discount, ZERO)):
        explained = _sum((shipping, discount_part, tax_part))
        if explained == outside:
            return _Outside(discount_part, tax_part, shipping)
    return _Outside(ZERO, ZERO, shipping)  # the rest is ``other``: the stated total is not its parts' sum


def _difference(after: Decimal | None, before: Decimal | None, currency: str) -> Decimal | None:
    if after is None and before is None:
        return None
    return quantize(_EXACT.subtract(after or ZERO, before or ZERO), currency)


# -- the summary -------------------------------------------------------------------------------------


def _signed(amount: Decimal, currency: str) -> str:
    return f"+{format_money(amount, currency)}" if amount > 0 else format_money(amount, currency)


def _count(quantity: Decimal) -> str:
    return (
        format(quantity.normalize(), "f")
        if quantity == quantity.to_integral_value()
        else format(quantity, "f")
    )


def _line_phrase(line: LineComparison, currency: str) -> str:
    amount = _signed(line.difference, currency)
    description = line.description if len(line.description) <= 60 else line.description[:57] + "..."
    if line.change == "added":
        return f"new {description} ({amount})"
    if line.change == "removed":
        return f"no {description} ({amount})"
    q_before, q_after = line.quantity_before, line.quantity_after
    same_price = line.unit_amount_before == line.unit_amount_after
    if q_before is not None and q_after is not None and q_before != q_after and same_price:
        more = q_after - q_before
        word = "more" if more > 0 else "fewer"
        return f"{_count(abs(more))} {word} {description} ({amount})"
    if not same_price and line.unit_amount_before is not None and line.unit_amount_after is not None:
        return (
            f"{description} at {format_money(line.unit_amount_after, currency)} instead of "
            f"{format_money(line.unit_amount_before, currency)} ({amount})"
        )
    return f"{description} {amount}"


def _label(invoice: Invoice) -> str:
    return invoice.number or invoice.id


def _summary(
    after: Invoice, before: Invoice, total: Decimal, lines: list[LineComparison], breakdown: TotalBreakdown
) -> str:
    currency = after.currency
    if total > 0:
        head = f"{_label(after)} is {format_money(total, currency)} more than {_label(before)}"
    elif total < 0:
        head = f"{_label(after)} is {format_money(-total, currency)} less than {_label(before)}"
    else:
        head = f"{_label(after)} has the same total as {_label(before)}"
    changed = sorted(
        (line for line in lines if line.change != "unchanged" and line.difference != 0),
        key=lambda line: -abs(line.difference),
    )
    parts = [_line_phrase(line, currency) for line in changed]
    for name in ("discount", "tax", "shipping", "other"):
        amount: Decimal = getattr(breakdown, name)
        if amount != 0:
            parts.append(f"{'other charges' if name == 'other' else name} {_signed(amount, currency)}")
    unpriced = [line for line in lines if line.change != "unchanged" and line.difference == 0]
    if unpriced and not parts:
        parts.append(f"{len(unpriced)} line(s) changed without changing the total")
    if not parts:
        return head + "."
    shown: list[str] = []
    for index, part in enumerate(parts):
        rest = len(parts) - index - 1
        tail = f", and {rest} more change(s)." if rest else "."
        if len(head) + 2 + len(", ".join([*shown, part])) + len(tail) > SUMMARY_LIMIT:
            break
        shown.append(part)
    left = len(parts) - len(shown)
    if not shown:
        return f"{head}: {left} change(s)."[:SUMMARY_LIMIT]
    text = f"{head}: {', '.join(shown)}" + (f", and {left} more change(s)." if left else ".")
    return text[:SUMMARY_LIMIT]


# -- the comparison ----------------------------------------------------------------------------------


def compare_invoices(after: Invoice, before: Invoice) -> InvoiceComparison:
    """How ``after`` differs from ``before``; both must be in one currency."""
    if after.currency != before.currency:
        raise InvalidArgument(
            f"Invoice {_label(after)} is in {after.currency} and {_label(before)} in {before.currency}; amounts in "
            "different currencies cannot be compared exactly without an exchange rate.",
            hint="Compare it with an invoice in the same currency (leave other_invoice_id out to use the one "
            "issued just before it in that currency).",
        )
    if after.provider == before.provider and after.id == before.id:
        raise InvalidArgument(
            f"Invoice {_label(after)} was given twice; an invoice has no differences from itself.",
            hint="Pass a different other_invoice_id, or leave it out to compare with the invoice issued before.",
        )
    currency = after.currency
    lines = [_line_comparison(pair, currency) for pair in match_lines(before.line_items, after.line_items)]
    outside_after, outside_before = _outside_lines(after), _outside_lines(before)
    total = quantize(_EXACT.subtract(after.total, before.total), currency)
    breakdown = TotalBreakdown(
        lines=quantize(_sum(line.difference for line in lines), currency),
        discount=quantize(_EXACT.subtract(outside_after.discount, outside_before.discount), currency),
        tax=quantize(_EXACT.subtract(outside_after.tax, outside_before.tax), currency),
        shipping=quantize(_EXACT.subtract(outside_after.shipping, outside_before.shipping), currency),
        other=ZERO,
    )
    # The remainder is computed from the rounded parts, so the five add up to the total exactly even
    # where a provider states amounts finer than its currency's minor unit.
    explained = _sum((breakdown.lines, breakdown.discount, breakdown.tax, breakdown.shipping))
    breakdown = breakdown.model_copy(update={"other": quantize(_EXACT.subtract(total, explained), currency)})
    differences = AmountDifferences(
        subtotal=_difference(after.subtotal, before.subtotal, currency),
        discount=_difference(after.discount, before.discount, currency),
        tax=_difference(after.tax, before.tax, currency),
        shipping=_difference(after.shipping, before.shipping, currency),
        total=total,
    )
    return InvoiceComparison(
        summary=_summary(after, before, total, lines, breakdown),
        invoice=after.row(),
        other=before.row(),
        currency=currency,
        differences=differences,
        breakdown=breakdown,
        lines=lines,
    )
