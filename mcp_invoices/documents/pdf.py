"""Invoice PDFs: one A4 document per normalized invoice, drawn with fpdf2.

Rendering is CPU work, so ``render_invoice_pdf`` runs it in a worker thread and never on the
event loop. Amounts are printed with ``format_money`` straight from their ``Decimal``; no float
ever holds money here (fpdf's coordinates are floats, and those are millimetres). The font and
what it can draw are chosen in ``typeface``; the page and its text primitives are ``page``.
Output is deterministic: the creation date comes from the invoice, so the same invoice always
yields the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal

import anyio.to_thread

from mcp_invoices.documents.page import (
    ACCENT,
    BODY_SIZE,
    HEADER_FILL,
    INK,
    LINE_HEIGHT,
    MARGIN,
    MUTED,
    PANEL_FILL,
    RIGHT,
    RIGHT_BLOCK_X,
    SMALL_SIZE,
    Color,
    Page,
    clipped,
)
from mcp_invoices.documents.typeface import Typeface, typeface_for
from mcp_invoices.domain.breakdown import LineAmounts, breakdown_of
from mcp_invoices.domain.models import Invoice, InvoiceStatus
from mcp_invoices.domain.money import format_money
from mcp_invoices.domain.parties import Seller

__all__ = ["Seller", "render_invoice_pdf", "render_invoice_pdf_sync"]


_RENDERS = anyio.CapacityLimiter(2)
"""Renders at once, process-wide. Layout holds the GIL: many renders in parallel would finish no
sooner and would take the event loop's turns from every other session; the rest wait their turn."""


async def render_invoice_pdf(invoice: Invoice, seller: Seller | None = None) -> bytes:
    """The invoice as PDF bytes, rendered in a worker thread (CPU work never on the event loop)."""
    return await anyio.to_thread.run_sync(render_invoice_pdf_sync, invoice, seller, limiter=_RENDERS)


def render_invoice_pdf_sync(invoice: Invoice, seller: Seller | None = None) -> bytes:
    """The invoice as PDF bytes; the same invoice and seller always give the same bytes."""
    return _InvoiceDocument(invoice, seller, typeface_for(invoice, seller)).render()


# --- Layout ---------------------------------------------------------------------------------

_STATUS_COLORS: dict[InvoiceStatus, Color] = {
    InvoiceStatus.PAID: (21, 128, 61),
    InvoiceStatus.OPEN: (180, 83, 9),
    InvoiceStatus.PARTIALLY_PAID: (180, 83, 9),
    InvoiceStatus.UNCOLLECTIBLE: (185, 28, 28),
}

_CELL_PADDING = 2.0
_ROW_PADDING = 1.8
_TABLE_HEADER_HEIGHT = 7.0
_DASH = "—"

# (title, width in mm) of the right-aligned columns; the description takes what they leave.
# Net + tax = gross on every row; the net column sums to the subtotal (domain/breakdown.py).
_AMOUNT_COLUMNS = (
    ("QTY", 10.0),
    ("UNIT PRICE", 23.0),
    ("DISCOUNT", 20.0),
    ("NET", 24.0),
    ("TAX", 21.0),
    ("GROSS", 24.0),
)
_DESCRIPTION_WIDTH = RIGHT - MARGIN - sum(width for _, width in _AMOUNT_COLUMNS)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _format_date(value: date) -> str:
    # Spelled out by hand: strftime("%b") follows the process locale.
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _format_quantity(quantity: Decimal) -> str:
    text = format(quantity, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _status_label(status: InvoiceStatus) -> str:
    return status.value.replace("_", " ").capitalize()


def _number_label(invoice: Invoice) -> str:
    if invoice.number:
        return invoice.number
    return "Pending" if invoice.status is InvoiceStatus.PENDING else "Draft"


def _provider_label(provider: str) -> str:
    return provider[:1].upper() + provider[1:]


def _discount_label(amount: Decimal, currency: str) -> str:
    """Discounts are amounts taken off, printed with a minus sign."""
    return format_money(-amount if amount > 0 else amount, currency)


def _creation_date(invoice: Invoice) -> datetime:
    issued = invoice.issued_at or date(2000, 1, 1)
    return datetime.combine(issued, time(0), tzinfo=UTC)


class _InvoiceDocument:
    """Draws one invoice; ``y`` always points at the top of the next free line."""

    def __init__(self, invoice: Invoice, seller: Seller | None, typeface: Typeface) -> None:
        self.invoice = invoice
        self.breakdown = breakdown_of(invoice)
        self.seller = seller
        self.currency = invoice.currency
        self.typeface = typeface
        issuer = seller.name if seller else _provider_label(invoice.provider)
        number = _number_label(invoice)
        self.pdf = Page(typeface, self.text(f"{issuer} · Invoice {number}"))
        self.pdf.set_title(f"Invoice {invoice.number}" if invoice.number else f"{number} invoice")
        self.pdf.set_author(issuer)
        self.pdf.set_creator("mcp-invoices")
        self.pdf.set_lang("en")
        self.pdf.set_creation_date(_creation_date(invoice))

    def text(self, value: str) -> str:
        return self.typeface.printable(clipped(value))

    def money(self, amount: Decimal) -> str:
        return self.text(format_money(amount, self.currency))

    def render(self) -> bytes:
        self.pdf.add_page()
        y = self._header(22.0)
        y = self._bill_to(y + 10)
        y = self._line_items(y + 10)
        self._totals(y + 6)
        return bytes(self.pdf.output())

    # -- sections --------------------------------------------------------------------------

    def _header(self, top: float) -> float:
        """Seller on the left; INVOICE, its number, dates and status on the right."""
        pdf, invoice = self.pdf, self.invoice
        left_width = RIGHT_BLOCK_X - MARGIN - 8

        if self.seller is not None:
            pdf.use(16, bold=True)
            left = self.pdf.put_lines(MARGIN, top, self.pdf.wrap(self.seller.name, left_width), 7.0)
            details = self.seller.lines()
        else:
            pdf.use(13, bold=True)
            title = f"Invoice from {_provider_label(invoice.provider)}"
            left = self.pdf.put_lines(MARGIN, top, self.pdf.wrap(title, left_width), 6.0)
            details = []
        pdf.use(BODY_SIZE, color=MUTED)
        for detail in details:
            if detail:
                left = self.pdf.put_lines(MARGIN, left, self.pdf.wrap(detail, left_width))

        pdf.use(24, bold=True, color=ACCENT)
        self.pdf.put(RIGHT, top, "INVOICE", right=True)
        right = top + 9
        pdf.use(11, bold=True)
        self.pdf.put(RIGHT, right, self.text(_number_label(invoice)), right=True, width=RIGHT - RIGHT_BLOCK_X)
        right += 8

        facts = [
            ("Issue date", _format_date(invoice.issued_at) if invoice.issued_at else _DASH),
            ("Due date", _format_date(invoice.due_at) if invoice.due_at else _DASH),
        ]
        if invoice.paid_at is not None:
            facts.append(("Paid on", _format_date(invoice.paid_at.date())))
        for label, value in facts:
            pdf.use(BODY_SIZE, color=MUTED)
            self.pdf.put(RIGHT_BLOCK_X, right, label)
            pdf.use(BODY_SIZE)
            self.pdf.put(RIGHT, right, self.text(value), right=True)
            right += LINE_HEIGHT + 0.6
        pdf.use(BODY_SIZE, color=MUTED)
        self.pdf.put(RIGHT_BLOCK_X, right, "Status")
        pdf.use(BODY_SIZE, bold=True, color=_STATUS_COLORS.get(invoice.status, MUTED))
        self.pdf.put(RIGHT, right, _status_label(invoice.status), right=True)
        right += LINE_HEIGHT

        bottom = max(left, right) + 6
        self.pdf.rule(bottom)
        return bottom

    def _bill_to(self, top: float) -> float:
        """The customer on the left; the amount due, large, in a panel on the right."""
        pdf, invoice = self.pdf, self.invoice
        billing, customer = invoice.billing, invoice.customer
        width = RIGHT_BLOCK_X - MARGIN - 8

        pdf.use(SMALL_SIZE, bold=True, color=MUTED)
        self.pdf.put(MARGIN, top, "BILL TO")
        left = top + LINE_HEIGHT + 0.6
        name = billing.name or customer.name or customer.email or _DASH
        pdf.use(11, bold=True)
        left = self.pdf.put_lines(MARGIN, left, self.pdf.wrap(name, width), 5.2)
        details = billing.address.lines() if billing.address else []
        if customer.email and customer.email != name:
            details.append(customer.email)
        pdf.use(BODY_SIZE)
        for detail in details:
            left = self.pdf.put_lines(MARGIN, left, self.pdf.wrap(detail, width))

        panel_height = 22.0
        pdf.set_fill_color(*PANEL_FILL)
        pdf.rect(RIGHT_BLOCK_X, top, RIGHT - RIGHT_BLOCK_X, panel_height, style="F")
        inset = RIGHT_BLOCK_X + 4
        pdf.use(SMALL_SIZE, bold=True, color=MUTED)
        self.pdf.put(inset, top + 2, "AMOUNT DUE")
        pdf.use(16, bold=True)
        self.pdf.put(RIGHT - 4, top + 8, self.money(invoice.amount_due), right=True, width=RIGHT - inset - 4)
        if invoice.due_at is not None and invoice.amount_due > 0:
            pdf.use(8, color=MUTED)
            self.pdf.put(RIGHT - 4, top + 15, f"Due {_format_date(invoice.due_at)}", right=True)
        return max(left, top + panel_height)

    def _column_edges(self) -> Iterator[tuple[str, float, float]]:
        """(title, left edge, right edge) of each amount column, left to right."""
        x = MARGIN + _DESCRIPTION_WIDTH
        for title, width in _AMOUNT_COLUMNS:
            yield title, x, x + width
            x += width

    def _table_header(self, top: float) -> float:
        pdf = self.pdf
        pdf.set_fill_color(*HEADER_FILL)
        pdf.rect(MARGIN, top, RIGHT - MARGIN, _TABLE_HEADER_HEIGHT, style="F")
        pdf.use(SMALL_SIZE, bold=True, color=MUTED)
        text_top = top + (_TABLE_HEADER_HEIGHT - LINE_HEIGHT) / 2
        self.pdf.put(MARGIN + _CELL_PADDING, text_top, "DESCRIPTION")
        for title, _, right in self._column_edges():
            self.pdf.put(right - _CELL_PADDING, text_top, title, right=True)
        return top + _TABLE_HEADER_HEIGHT

    def _continue_table(self) -> float:
        self.pdf.add_page()
        return self._table_header(MARGIN)

    def _line_items(self, top: float) -> float:
        """The items table; it continues on new pages, each with the column titles again."""
        pdf, limit = self.pdf, self.pdf.page_break_trigger
        y = self._table_header(top)
        # Rows that fit on a page are never split; only one taller than a whole page is.
        page_capacity = int((limit - MARGIN - _TABLE_HEADER_HEIGHT - 2 * _ROW_PADDING) // LINE_HEIGHT)
        if not self.invoice.line_items:
            pdf.use(BODY_SIZE, color=MUTED)
            self.pdf.put(MARGIN + _CELL_PADDING, y + _ROW_PADDING, "No line items")
            y += LINE_HEIGHT + 2 * _ROW_PADDING
            self.pdf.rule(y)
            return y
        for line_amounts in self.breakdown.lines:
            item = line_amounts.item
            pdf.use(BODY_SIZE)
            lines = [
                (line, False)
                for line in self.pdf.wrap(item.description, _DESCRIPTION_WIDTH - 2 * _CELL_PADDING)
            ]
            if item.period_start or item.period_end:
                period = " – ".join(_format_date(day) for day in (item.period_start, item.period_end) if day)
                lines.append((self.text(period), True))
            amounts = self._amount_cells(line_amounts)
            while lines:
                fits = int((limit - y - 2 * _ROW_PADDING) // LINE_HEIGHT)
                if fits < 1 or (fits < len(lines) <= page_capacity):
                    y = self._continue_table()
                    continue
                chunk, lines = lines[:fits], lines[fits:]
                y = self._row(y, chunk, amounts)
                amounts = ()  # a row split across pages shows its amounts once, on its first part
        return y

    def _amount_cells(self, amounts: LineAmounts) -> tuple[str, ...]:
        def money(amount: Decimal | None) -> str:
            return _DASH if amount is None else self.money(amount)

        item = amounts.item
        discount = _DASH if not item.discount else self.text(_discount_label(item.discount, self.currency))
        quantity = _DASH if item.quantity is None else _format_quantity(item.quantity)
        return (
            quantity,
            money(item.unit_amount),
            discount,
            money(amounts.net),
            money(amounts.tax),
            money(amounts.gross),
        )

    def _row(self, top: float, lines: list[tuple[str, bool]], amounts: tuple[str, ...]) -> float:
        pdf = self.pdf
        text_top = top + _ROW_PADDING
        for line, muted in lines:
            if muted:
                pdf.use(SMALL_SIZE, color=MUTED)
            else:
                pdf.use(BODY_SIZE)
            self.pdf.put(MARGIN + _CELL_PADDING, text_top, line)
            text_top += LINE_HEIGHT
        pdf.use(BODY_SIZE)
        for value, (_, left, right) in zip(amounts, self._column_edges(), strict=False):
            self.pdf.put(right - _CELL_PADDING, top + _ROW_PADDING, value, right=True, width=right - left - 2)
        bottom = text_top + _ROW_PADDING
        self.pdf.rule(bottom, width=0.15)
        return bottom

    def _totals(self, top: float) -> None:
        """Subtotal to amount due, right-aligned under the table; kept together on one page."""
        invoice = self.invoice
        rows: list[tuple[str, str, bool]] = []
        # Subtotal (the net column's sum) − discount + tax + shipping = total: one rule, checkable.
        for label, amount, sign in self.breakdown.rows():
            value = self.text(_discount_label(amount, self.currency)) if sign < 0 else self.money(amount)
            rows.append((label, value, False))
        rows.append(("Total", self.money(invoice.total), True))
        rows.append(("Amount paid", self.money(invoice.amount_paid), False))

        row_height = LINE_HEIGHT + 1.2
        needed = (len(rows) + 2) * row_height + 4
        if top + needed > self.pdf.page_break_trigger:
            self.pdf.add_page()
            top = MARGIN
        pdf, x, y = self.pdf, RIGHT_BLOCK_X, top
        value_width = RIGHT - RIGHT_BLOCK_X - 30
        for label, value, strong in rows:
            if strong:
                self.pdf.rule(y, x, RIGHT, width=0.3)
                y += 1.2
            pdf.use(BODY_SIZE, bold=strong, color=INK if strong else MUTED)
            self.pdf.put(x + _CELL_PADDING, y, label)
            pdf.use(BODY_SIZE, bold=strong)
            self.pdf.put(RIGHT - _CELL_PADDING, y, value, right=True, width=value_width)
            y += row_height

        y += 1
        band = LINE_HEIGHT + 4
        pdf.set_fill_color(*PANEL_FILL)
        pdf.rect(x, y, RIGHT - x, band, style="F")
        pdf.use(10.5, bold=True)
        self.pdf.put(x + _CELL_PADDING, y + 2, "Amount due")
        self.pdf.put(
            RIGHT - _CELL_PADDING, y + 2, self.money(invoice.amount_due), right=True, width=value_width
        )
