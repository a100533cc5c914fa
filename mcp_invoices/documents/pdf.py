"""Invoice PDFs: one A4 document per normalized invoice, drawn with fpdf2.

Rendering is CPU work, so ``render_invoice_pdf`` runs it in a worker thread and never on the
event loop. Amounts are printed with ``format_money`` straight from their ``Decimal``; no float
ever holds money here (fpdf's coordinates are floats, and those are millimetres).

Fonts: an invoice whose text fits cp1252 (English and Western European names, "€") uses the
core Helvetica, which needs nothing embedded and renders fast. Any other invoice uses DejaVu Sans
(Latin, Greek, Cyrillic) when the system has it - looked up once per process - and falls back to
Helvetica otherwise. Characters the chosen font cannot draw are transliterated ("Ł" -> "L") or
printed as "?", so an unusual name never fails a render. Output is deterministic: the creation
date comes from the invoice, so the same invoice always yields the same bytes.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import anyio.to_thread
from fontTools.ttLib import TTFont  # fpdf2's own dependency
from fpdf import FPDF

from mcp_invoices.domain.breakdown import LineAmounts, breakdown_of
from mcp_invoices.domain.models import Invoice, InvoiceStatus
from mcp_invoices.domain.money import format_money
from mcp_invoices.domain.parties import Seller

__all__ = ["Seller", "render_invoice_pdf", "render_invoice_pdf_sync"]

logger = logging.getLogger(__name__)


_RENDERS = anyio.CapacityLimiter(2)
"""Renders at once, process-wide. Layout holds the GIL: many renders in parallel would finish no
sooner and would take the event loop's turns from every other session; the rest wait their turn."""


async def render_invoice_pdf(invoice: Invoice, seller: Seller | None = None) -> bytes:
    """The invoice as PDF bytes, rendered in a worker thread (CPU work never on the event loop)."""
    return await anyio.to_thread.run_sync(render_invoice_pdf_sync, invoice, seller, limiter=_RENDERS)


def render_invoice_pdf_sync(invoice: Invoice, seller: Seller | None = None) -> bytes:
    """The invoice as PDF bytes; the same invoice and seller always give the same bytes."""
    return _InvoiceDocument(invoice, seller, _typeface_for(invoice, seller)).render()


# --- Typeface -------------------------------------------------------------------------------

_FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")

# The scripts invoices are written in that DejaVu covers: Latin, Greek, Cyrillic, and punctuation,
# currency and letterlike symbols. Loading only these makes each render's font setup cheaper.
_UNICODE_RANGE = ((0x0000, 0x052F), (0x1E00, 0x1FFF), (0x2000, 0x22FF))

# Where distributions install DejaVu; the first directory holding both files wins.
_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora
    "/usr/share/fonts/dejavu",  # openSUSE, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts/dejavu",  # FreeBSD
    "/usr/local/share/fonts",
    "/opt/homebrew/share/fonts",
    "~/Library/Fonts",  # macOS, user-installed
    "/Library/Fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "C:/Windows/Fonts",
)

# Letters without a Unicode decomposition that NFKD cannot reduce to ASCII.
_TRANSLITERATIONS = {
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŀ": "L", "ŀ": "l",
    "Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "ß": "ss", "Þ": "Th",
    "þ": "th", "Ð": "D", "ð": "d", "€": "EUR", "−": "-", "‐": "-", "‑": "-", "‒": "-",
    "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "*",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Typeface:
    """The font family every text run uses, and the characters it can draw."""

    family: str
    regular: Path | None = None
    """None for a core PDF font: nothing to embed."""
    bold: Path | None = None
    charset: frozenset[int] | None = None
    """Code points both styles draw; None for a core font, which draws exactly cp1252."""
    _printable: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)
    widths: dict[str, dict[str, float]] = field(
        default_factory=lambda: {"": {}, "B": {}}, compare=False, hash=False, repr=False
    )
    """Per style, each character's width in mm at 1 pt, filled as characters are first measured."""

    def can_draw(self, char: str) -> bool:
        if unicodedata.category(char).startswith("C"):
            return False  # control and unassigned characters never print
        if self.charset is None:
            try:
                char.encode("cp1252")
            except UnicodeEncodeError:
                return False
            return True
        return ord(char) in self.charset

    def printable(self, text: str) -> str:
        """``text`` with every character the typeface cannot draw replaced by a look-alike or "?"."""
        if text.isprintable() and (text.isascii() or self._core_font_draws(text)):
            return text
        memo = self._printable
        out = []
        for char in text:
            replacement = memo.get(char)
            if replacement is None:
                replacement = memo[char] = self._replacement(char)
            out.append(replacement)
        return "".join(out)

    def _core_font_draws(self, text: str) -> bool:
        """A core font draws every printable character cp1252 has (amounts in euros, accented names)."""
        if self.charset is not None:
            return False
        try:
            text.encode("cp1252")
        except UnicodeEncodeError:
            return False
        return True

    def _replacement(self, char: str) -> str:
        if self.can_draw(char):
            return char
        if char.isspace():
            return " "
        if unicodedata.category(char).startswith("C"):
            return ""
        decomposed = "".join(
            part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
        )
        for candidate in (_TRANSLITERATIONS.get(char), decomposed):
            if candidate and all(self.can_draw(part) for part in candidate):
                return candidate
        return "?"


_CORE_TYPEFACE = _Typeface("helvetica")


def _typeface_for(invoice: Invoice, seller: Seller | None) -> _Typeface:
    """Core Helvetica when it can print everything; embedding a font costs most of a render."""
    try:
        "\n".join(_printed_texts(invoice, seller)).encode("cp1252")
    except UnicodeEncodeError:
        return _unicode_typeface() or _CORE_TYPEFACE
    return _CORE_TYPEFACE


def _printed_texts(invoice: Invoice, seller: Seller | None) -> Iterator[str]:
    """Every free text of the invoice that the document prints."""
    if seller is not None:
        yield from (seller.name, *seller.address_lines, seller.email or "", seller.tax_id or "")
    yield from (invoice.provider, invoice.number or "", invoice.billing.name or "")
    yield from (invoice.customer.name or "", invoice.customer.email or "")
    if invoice.billing.address is not None:
        yield from invoice.billing.address.lines()
    yield from (item.description for item in invoice.line_items)


@cache
def _unicode_typeface() -> _Typeface | None:
    """DejaVu Sans if the system has it; looked up once per process."""
    for directory in _FONT_DIRS:
        try:
            regular, bold = (Path(directory).expanduser() / name for name in _FONT_FILES)
            if not (regular.is_file() and bold.is_file()):
                continue
            charset = _charset(regular) & _charset(bold)
        except Exception:  # an unreadable or broken font must not break invoices: try the next
            logger.warning("ignoring unusable fonts in %s", directory, exc_info=True)
            continue
        return _Typeface("dejavusans", regular, bold, frozenset(charset))
    return None


def _charset(font_file: Path) -> set[int]:
    with TTFont(font_file, lazy=True) as font:
        return {
            code for code in font.getBestCmap() if any(low <= code <= high for low, high in _UNICODE_RANGE)
        }


# --- Layout ---------------------------------------------------------------------------------

Color = tuple[int, int, int]
_INK: Color = (17, 24, 39)
_MUTED: Color = (107, 114, 128)
_ACCENT: Color = (30, 64, 175)
_RULE: Color = (209, 213, 219)
_HEADER_FILL: Color = (243, 244, 246)
_PANEL_FILL: Color = (239, 246, 255)

_STATUS_COLORS: dict[InvoiceStatus, Color] = {
    InvoiceStatus.PAID: (21, 128, 61),
    InvoiceStatus.OPEN: (180, 83, 9),
    InvoiceStatus.PARTIALLY_PAID: (180, 83, 9),
    InvoiceStatus.UNCOLLECTIBLE: (185, 28, 28),
}

_PAGE_WIDTH = 210.0
_MARGIN = 15.0
_RIGHT = _PAGE_WIDTH - _MARGIN
_BOTTOM_MARGIN = 20.0
_RIGHT_BLOCK_X = 120.0

_BODY_SIZE = 9.0
_SMALL_SIZE = 7.5
_LINE_HEIGHT = 4.4
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
_DESCRIPTION_WIDTH = _RIGHT - _MARGIN - sum(width for _, width in _AMOUNT_COLUMNS)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


MAX_PRINTED_CHARS = 20_000
"""Longest text printed from one field (several pages of a description). Billing input is refused
past 200 characters, but a provider's own data is not ours to refuse: clipping it bounds the layout
work of one field to tens of milliseconds."""
MAX_PRINTED_LINES = 500
"""Most wrapped lines printed from one field (about eight pages)."""


def _clipped(value: str) -> str:
    return value if len(value) <= MAX_PRINTED_CHARS else value[: MAX_PRINTED_CHARS - 1] + "\u2026"


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


class _Pdf(FPDF):
    """An A4 page with an accent band on top and "Page x of y" at the bottom."""

    def __init__(self, typeface: _Typeface, footer_label: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.typeface = typeface
        self.footer_label = footer_label
        self._style: tuple[float, bool, Color] | None = None
        """The (size, bold, colour) last set through ``use``; None when fpdf may have changed it."""
        if typeface.regular is None:
            self.core_fonts_encoding = "windows-1252"  # cp1252 has "€"; latin-1 does not
        else:
            self.add_font(typeface.family, "", typeface.regular, unicode_range=_UNICODE_RANGE)
            self.add_font(typeface.family, "B", typeface.bold, unicode_range=_UNICODE_RANGE)
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        # Page breaks are placed by the renderer, so that rows never split mid-line.
        self.set_auto_page_break(False, margin=_BOTTOM_MARGIN)

    def use(self, size: float, bold: bool = False, color: Color = _INK) -> None:
        # Most table cells ask for the style already in use; fpdf would still rebuild the font and
        # the colour operator each time (a fifth of a 200-line invoice's rendering).
        style = (size, bold, color)
        if style == self._style:
            return
        self.set_font(self.typeface.family, "B" if bold else "", size)
        self.set_text_color(*color)
        self._style = style

    def add_page(self, *args: Any, **kwargs: Any) -> None:
        # The footer and header change the style, and fpdf restores its own afterwards: ask again.
        super().add_page(*args, **kwargs)
        self._style = None

    def set_font_size(self, size: float) -> None:
        super().set_font_size(size)
        self._style = None

    def measure(self, text: str) -> float:
        """``get_string_width(text)``, summed from cached per-character widths.

        fpdf's own call copies its graphics state each time, and the table measures every word.
        """
        widths = self.typeface.widths[self.font_style]
        try:
            per_point = sum(map(widths.__getitem__, text))
        except KeyError:
            for char in set(text).difference(widths):
                widths[char] = self.get_string_width(char) / self.font_size_pt
            per_point = sum(map(widths.__getitem__, text))
        return per_point * self.font_size_pt

    def header(self) -> None:
        self.set_fill_color(*_ACCENT)
        self.rect(0, 0, _PAGE_WIDTH, 3, style="F")

    def footer(self) -> None:
        self.use(_SMALL_SIZE, color=_MUTED)
        self.text(_MARGIN, self.h - 10, self.footer_label)
        # A cell, not text(): fpdf substitutes the total page count only in cells.
        self.set_xy(_MARGIN, self.h - 12)
        self.cell(_RIGHT - _MARGIN, 3, f"Page {self.page_no()} of {{nb}}", align="R")


class _InvoiceDocument:
    """Draws one invoice; ``y`` always points at the top of the next free line."""

    def __init__(self, invoice: Invoice, seller: Seller | None, typeface: _Typeface) -> None:
        self.invoice = invoice
        self.breakdown = breakdown_of(invoice)
        self.seller = seller
        self.currency = invoice.currency
        self.typeface = typeface
        issuer = seller.name if seller else _provider_label(invoice.provider)
        number = _number_label(invoice)
        self.pdf = _Pdf(typeface, self.text(f"{issuer} · Invoice {number}"))
        self.pdf.set_title(f"Invoice {invoice.number}" if invoice.number else f"{number} invoice")
        self.pdf.set_author(issuer)
        self.pdf.set_creator("mcp-invoices")
        self.pdf.set_lang("en")
        self.pdf.set_creation_date(_creation_date(invoice))

    def text(self, value: str) -> str:
        return self.typeface.printable(_clipped(value))

    def money(self, amount: Decimal) -> str:
        return self.text(format_money(amount, self.currency))

    def render(self) -> bytes:
        self.pdf.add_page()
        y = self._header(22.0)
        y = self._bill_to(y + 10)
        y = self._line_items(y + 10)
        self._totals(y + 6)
        return bytes(self.pdf.output())

    # -- drawing primitives ----------------------------------------------------------------

    def _put(self, x: float, top: float, value: str, *, right: bool = False, width: float = 0.0) -> None:
        """One line of text with its line box starting at ``top``; ``right`` aligns its end at x."""
        pdf = self.pdf
        if width and pdf.measure(value) > width:
            self._put_shrunk(x, top, value, right=right, width=width)
            return
        baseline = top + 0.5 * _LINE_HEIGHT + 0.3 * pdf.font_size
        pdf.text(x - pdf.measure(value) if right else x, baseline, value)

    def _put_shrunk(self, x: float, top: float, value: str, *, right: bool, width: float) -> None:
        """A value too wide for its column (a very large amount) is printed smaller, not clipped."""
        pdf = self.pdf
        size = pdf.font_size_pt
        pdf.set_font_size(max(5.0, size * width / pdf.measure(value)))
        self._put(x, top, value, right=right)
        pdf.set_font_size(size)

    def _lines(self, x: float, top: float, lines: list[str], line_height: float = _LINE_HEIGHT) -> float:
        for line in lines:
            self._put(x, top, line)
            top += line_height
        return top

    def _wrap(self, value: str, width: float) -> list[str]:
        """``value`` made printable and word-wrapped at the current font, keeping its line breaks.

        A word wider than ``width`` (a URL, a long SKU) is cut between characters.
        """
        measure = self.pdf.measure
        space = measure(" ")
        lines: list[str] = []
        for paragraph in _clipped(value).splitlines() or [""]:
            current, current_width = "", 0.0
            for word in self.text(paragraph).split():
                word_width = measure(word)
                if current and current_width + space + word_width <= width:
                    current, current_width = f"{current} {word}", current_width + space + word_width
                    continue
                if current:
                    lines.append(current)
                if word_width > width:
                    # Cut where a line's worth of characters ends: only a bounded window is ever
                    # measured, so a word of thousands of characters costs linear time, not quadratic.
                    window = int(width / (measure(".") / 2)) + 1  # more characters than any line holds
                    while len(word) > window or (len(word) > 1 and measure(word) > width):
                        cut = self._fitting_prefix(word[:window], width)
                        lines.append(word[:cut])
                        word = word[cut:]
                    word_width = measure(word)
                current, current_width = word, word_width
            lines.append(current)
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        return lines[:MAX_PRINTED_LINES]

    def _fitting_prefix(self, word: str, width: float) -> int:
        low, high = 1, len(word)  # the longest prefix that fits, at least one character
        while low < high:
            middle = (low + high + 1) // 2
            if self.pdf.measure(word[:middle]) <= width:
                low = middle
            else:
                high = middle - 1
        return low

    def _rule(self, y: float, x1: float = _MARGIN, x2: float = _RIGHT, width: float = 0.2) -> None:
        self.pdf.set_draw_color(*_RULE)
        self.pdf.set_line_width(width)
        self.pdf.line(x1, y, x2, y)

    # -- sections --------------------------------------------------------------------------

    def _header(self, top: float) -> float:
        """Seller on the left; INVOICE, its number, dates and status on the right."""
        pdf, invoice = self.pdf, self.invoice
        left_width = _RIGHT_BLOCK_X - _MARGIN - 8

        if self.seller is not None:
            pdf.use(16, bold=True)
            left = self._lines(_MARGIN, top, self._wrap(self.seller.name, left_width), 7.0)
            details = self.seller.lines()
        else:
            pdf.use(13, bold=True)
            title = f"Invoice from {_provider_label(invoice.provider)}"
            left = self._lines(_MARGIN, top, self._wrap(title, left_width), 6.0)
            details = []
        pdf.use(_BODY_SIZE, color=_MUTED)
        for detail in details:
            if detail:
                left = self._lines(_MARGIN, left, self._wrap(detail, left_width))

        pdf.use(24, bold=True, color=_ACCENT)
        self._put(_RIGHT, top, "INVOICE", right=True)
        right = top + 9
        pdf.use(11, bold=True)
        self._put(_RIGHT, right, self.text(_number_label(invoice)), right=True, width=_RIGHT - _RIGHT_BLOCK_X)
        right += 8

        facts = [
            ("Issue date", _format_date(invoice.issued_at) if invoice.issued_at else _DASH),
            ("Due date", _format_date(invoice.due_at) if invoice.due_at else _DASH),
        ]
        if invoice.paid_at is not None:
            facts.append(("Paid on", _format_date(invoice.paid_at.date())))
        for label, value in facts:
            pdf.use(_BODY_SIZE, color=_MUTED)
            self._put(_RIGHT_BLOCK_X, right, label)
            pdf.use(_BODY_SIZE)
            self._put(_RIGHT, right, self.text(value), right=True)
            right += _LINE_HEIGHT + 0.6
        pdf.use(_BODY_SIZE, color=_MUTED)
        self._put(_RIGHT_BLOCK_X, right, "Status")
        pdf.use(_BODY_SIZE, bold=True, color=_STATUS_COLORS.get(invoice.status, _MUTED))
        self._put(_RIGHT, right, _status_label(invoice.status), right=True)
        right += _LINE_HEIGHT

        bottom = max(left, right) + 6
        self._rule(bottom)
        return bottom

    def _bill_to(self, top: float) -> float:
        """The customer on the left; the amount due, large, in a panel on the right."""
        pdf, invoice = self.pdf, self.invoice
        billing, customer = invoice.billing, invoice.customer
        width = _RIGHT_BLOCK_X - _MARGIN - 8

        pdf.use(_SMALL_SIZE, bold=True, color=_MUTED)
        self._put(_MARGIN, top, "BILL TO")
        left = top + _LINE_HEIGHT + 0.6
        name = billing.name or customer.name or customer.email or _DASH
        pdf.use(11, bold=True)
        left = self._lines(_MARGIN, left, self._wrap(name, width), 5.2)
        details = billing.address.lines() if billing.address else []
        if customer.email and customer.email != name:
            details.append(customer.email)
        pdf.use(_BODY_SIZE)
        for detail in details:
            left = self._lines(_MARGIN, left, self._wrap(detail, width))

        panel_height = 22.0
        pdf.set_fill_color(*_PANEL_FILL)
        pdf.rect(_RIGHT_BLOCK_X, top, _RIGHT - _RIGHT_BLOCK_X, panel_height, style="F")
        inset = _RIGHT_BLOCK_X + 4
        pdf.use(_SMALL_SIZE, bold=True, color=_MUTED)
        self._put(inset, top + 2, "AMOUNT DUE")
        pdf.use(16, bold=True)
        self._put(_RIGHT - 4, top + 8, self.money(invoice.amount_due), right=True, width=_RIGHT - inset - 4)
        if invoice.due_at is not None and invoice.amount_due > 0:
            pdf.use(8, color=_MUTED)
            self._put(_RIGHT - 4, top + 15, f"Due {_format_date(invoice.due_at)}", right=True)
        return max(left, top + panel_height)

    def _column_edges(self) -> Iterator[tuple[str, float, float]]:
        """(title, left edge, right edge) of each amount column, left to right."""
        x = _MARGIN + _DESCRIPTION_WIDTH
        for title, width in _AMOUNT_COLUMNS:
            yield title, x, x + width
            x += width

    def _table_header(self, top: float) -> float:
        pdf = self.pdf
        pdf.set_fill_color(*_HEADER_FILL)
        pdf.rect(_MARGIN, top, _RIGHT - _MARGIN, _TABLE_HEADER_HEIGHT, style="F")
        pdf.use(_SMALL_SIZE, bold=True, color=_MUTED)
        text_top = top + (_TABLE_HEADER_HEIGHT - _LINE_HEIGHT) / 2
        self._put(_MARGIN + _CELL_PADDING, text_top, "DESCRIPTION")
        for title, _, right in self._column_edges():
            self._put(right - _CELL_PADDING, text_top, title, right=True)
        return top + _TABLE_HEADER_HEIGHT

    def _continue_table(self) -> float:
        self.pdf.add_page()
        return self._table_header(_MARGIN)

    def _line_items(self, top: float) -> float:
        """The items table; it continues on new pages, each with the column titles again."""
        pdf, limit = self.pdf, self.pdf.page_break_trigger
        y = self._table_header(top)
        # Rows that fit on a page are never split; only one taller than a whole page is.
        page_capacity = int((limit - _MARGIN - _TABLE_HEADER_HEIGHT - 2 * _ROW_PADDING) // _LINE_HEIGHT)
        if not self.invoice.line_items:
            pdf.use(_BODY_SIZE, color=_MUTED)
            self._put(_MARGIN + _CELL_PADDING, y + _ROW_PADDING, "No line items")
            y += _LINE_HEIGHT + 2 * _ROW_PADDING
            self._rule(y)
            return y
        for line_amounts in self.breakdown.lines:
            item = line_amounts.item
            pdf.use(_BODY_SIZE)
            lines = [
                (line, False) for line in self._wrap(item.description, _DESCRIPTION_WIDTH - 2 * _CELL_PADDING)
            ]
            if item.period_start or item.period_end:
                period = " – ".join(_format_date(day) for day in (item.period_start, item.period_end) if day)
                lines.append((self.text(period), True))
            amounts = self._amount_cells(line_amounts)
            while lines:
                fits = int((limit - y - 2 * _ROW_PADDING) // _LINE_HEIGHT)
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
                pdf.use(_SMALL_SIZE, color=_MUTED)
            else:
                pdf.use(_BODY_SIZE)
            self._put(_MARGIN + _CELL_PADDING, text_top, line)
            text_top += _LINE_HEIGHT
        pdf.use(_BODY_SIZE)
        for value, (_, left, right) in zip(amounts, self._column_edges(), strict=False):
            self._put(right - _CELL_PADDING, top + _ROW_PADDING, value, right=True, width=right - left - 2)
        bottom = text_top + _ROW_PADDING
        self._rule(bottom, width=0.15)
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

        row_height = _LINE_HEIGHT + 1.2
        needed = (len(rows) + 2) * row_height + 4
        if top + needed > self.pdf.page_break_trigger:
            self.pdf.add_page()
            top = _MARGIN
        pdf, x, y = self.pdf, _RIGHT_BLOCK_X, top
        value_width = _RIGHT - _RIGHT_BLOCK_X - 30
        for label, value, strong in rows:
            if strong:
                self._rule(y, x, _RIGHT, width=0.3)
                y += 1.2
            pdf.use(_BODY_SIZE, bold=strong, color=_INK if strong else _MUTED)
            self._put(x + _CELL_PADDING, y, label)
            pdf.use(_BODY_SIZE, bold=strong)
            self._put(_RIGHT - _CELL_PADDING, y, value, right=True, width=value_width)
            y += row_height

        y += 1
        band = _LINE_HEIGHT + 4
        pdf.set_fill_color(*_PANEL_FILL)
        pdf.rect(x, y, _RIGHT - x, band, style="F")
        pdf.use(10.5, bold=True)
        self._put(x + _CELL_PADDING, y + 2, "Amount due")
        self._put(
            _RIGHT - _CELL_PADDING, y + 2, self.money(invoice.amount_due), right=True, width=value_width
        )
