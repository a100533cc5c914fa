"""The amounts a document prints, under one rule a reader can check with a calculator.

Providers fill a line's ``total`` differently: some with the net amount (before tax), some with the
gross (tax included). A document that prints them as they come shows lines that do not sum to the
subtotal. Every document (the PDF, the invoice view, the text answer) prints this breakdown instead:

- each line: **net**, **tax** and **gross** (net + tax), labelled;
- **subtotal** = the sum of the lines' net amounts;
- subtotal − discount + tax + shipping (+ an adjustment, labelled, only where the provider's own
  total differs from that sum) = **total**, the provider's total.

Whether a provider's line totals include tax is read from its own figures: lines that sum to its
subtotal are net; lines whose totals less their tax sum to its subtotal are gross. Where the
provider's discount is its lines' discounts, already taken off their totals, it is not subtracted
twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from mcp_invoices.domain.models import Invoice, LineItem

__all__ = ["Breakdown", "LineAmounts", "breakdown_of"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LineAmounts:
    """One line's printed amounts; ``None`` where the provider states nothing to derive it from."""

    item: LineItem
    net: Decimal | None
    tax: Decimal | None
    gross: Decimal | None


@dataclass(frozen=True, slots=True)
class Breakdown:
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal
    """The sum of the lines' net amounts (the provider's subtotal where no line has one)."""
    discount: Decimal
    tax: Decimal
    shipping: Decimal
    adjustment: Decimal
    """The provider's total less subtotal − discount + tax + shipping; zero when its figures agree."""
    total: Decimal
    lines_include_tax: bool
    """Whether the provider's line totals included tax (then net = total − tax)."""

    def rows(self) -> list[tuple[str, Decimal, int]]:
        """(label, amount, sign) of the rows from subtotal to total; sign −1 for what is subtracted.

        Zero discount, shipping and adjustment are left out; subtotal, tax and total always show.
        """
        rows: list[tuple[str, Decimal, int]] = [("Subtotal (net)", self.subtotal, 1)]
        if self.discount:
            rows.append(("Discount", self.discount, -1))
        rows.append(("Tax", self.tax, 1))
        if self.shipping:
            rows.append(("Shipping", self.shipping, 1))
        if self.adjustment:
            rows.append(("Adjustment (provider's total)", self.adjustment, 1))
        return rows

    def equation(self, money: Callable[[Decimal], str]) -> str:
        """The rows as one sentence a calculator checks, e.g. "$10.00 subtotal (net) + $2.00 tax"."""
        parts: list[str] = []
        for label, amount, sign in self.rows():
            term = f"{money(amount)} {label[0].lower()}{label[1:]}"
            parts.append(term if not parts else f"{'−' if sign < 0 else '+'} {term}")
        return " ".join(parts)

    def adds_up(self) -> bool:
        return sum((amount * sign for _, amount, sign in self.rows()), _ZERO) == self.total and sum(
            (line.net for line in self.lines if line.net is not None), _ZERO
        ) == (self.subtotal if any(line.net is not None for line in self.lines) else _ZERO)


def _includes_tax(invoice: Invoice) -> bool:
    """Whether the provider's line totals are gross, read from its own figures."""
    lines = [item for item in invoice.line_items if item.total is not None]
    taxed = [item for item in lines if item.tax]
    if not taxed:
        return False  # no tax on any line: net and gross are the same
    totals = sum((item.total for item in lines if item.total is not None), _ZERO)
    taxes = sum((item.tax for item in lines if item.tax is not None), _ZERO)
    discount = invoice.discount or _ZERO
    if invoice.subtotal is not None:
        if totals in (invoice.subtotal, invoice.subtotal - discount):
            return False
        if totals - taxes in (invoice.subtotal, invoice.subtotal - discount):
            return True
    # No subtotal to compare with: lines whose totals alone reach the invoice total once tax is
    # counted are gross.
    shipping = invoice.shipping or _ZERO
    return totals + shipping - discount == invoice.total and taxes > 0


def breakdown_of(invoice: Invoice) -> Breakdown:
    includes_tax = _includes_tax(invoice)
    lines: list[LineAmounts] = []
    for item in invoice.line_items:
        tax = item.tax if item.tax is not None else (_ZERO if item.total is not None else None)
        if item.total is None:
            net = None
        elif includes_tax:
            net = item.total - (item.tax or _ZERO)
        else:
            net = item.total
        gross = None if net is None or tax is None else net + tax
        lines.append(LineAmounts(item=item, net=net, tax=tax, gross=gross))
    nets = [line.net for line in lines if line.net is not None]
    subtotal = sum(nets, _ZERO) if nets else (invoice.subtotal or _ZERO)
    discount = invoice.discount or _ZERO
    line_discounts = sum((item.discount or _ZERO for item in invoice.line_items), _ZERO)
    if (
        discount
        and nets
        and line_discounts == discount
        and invoice.subtotal is not None
        and subtotal == invoice.subtotal - discount
    ):
        # The provider's discount is its lines' discounts, already taken off their totals (qty ×
        # unit − discount = net on each row): subtracting it again would count it twice.
        discount = _ZERO
    tax = invoice.tax if invoice.tax is not None else sum((line.tax or _ZERO for line in lines), _ZERO)
    shipping = invoice.shipping or _ZERO
    adjustment = invoice.total - (subtotal - discount + tax + shipping)
    return Breakdown(
        lines=tuple(lines),
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        shipping=shipping,
        adjustment=adjustment,
        total=invoice.total,
        lines_include_tax=includes_tax,
    )
