"""The A4 page an invoice PDF is drawn on: its measures, colours and text primitives (fpdf2).

Text is placed by its line box (``put``), measured from cached per-character widths, and wrapped
by words; a typeface with shaping on (right-to-left text) is measured and drawn by fpdf2's own
shaping path instead, so bidi runs come out in visual order and Arabic letters joined.
"""

from __future__ import annotations

from typing import Any

from fpdf import FPDF

from mcp_invoices.documents.typeface import Typeface, needs_shaping

__all__ = ["Page"]

Color = tuple[int, int, int]
INK: Color = (17, 24, 39)
MUTED: Color = (107, 114, 128)
ACCENT: Color = (30, 64, 175)
RULE: Color = (209, 213, 219)
HEADER_FILL: Color = (243, 244, 246)
PANEL_FILL: Color = (239, 246, 255)

PAGE_WIDTH = 210.0
MARGIN = 15.0
RIGHT = PAGE_WIDTH - MARGIN
BOTTOM_MARGIN = 20.0
RIGHT_BLOCK_X = 120.0

BODY_SIZE = 9.0
SMALL_SIZE = 7.5
LINE_HEIGHT = 4.4

MAX_PRINTED_CHARS = 20_000
"""Longest text printed from one field (several pages of a description). Billing input is refused
past 200 characters, but a provider's own data is not ours to refuse: clipping it bounds the layout
work of one field to tens of milliseconds."""
MAX_PRINTED_LINES = 500
"""Most wrapped lines printed from one field (about eight pages)."""
_MAX_CACHED_WIDTHS = 20_000
"""Widths kept per style and process: every character, and shaped words and lines up to this many."""


def clipped(value: str) -> str:
    return value if len(value) <= MAX_PRINTED_CHARS else value[: MAX_PRINTED_CHARS - 1] + "\u2026"


class Page(FPDF):
    """An A4 page with an accent band on top and "Page x of y" at the bottom."""

    def __init__(self, typeface: Typeface, footer_label: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.typeface = typeface
        self.footer_label = footer_label
        self._style: tuple[float, bool, Color] | None = None
        """The (size, bold, colour) last set through ``use``; None when fpdf may have changed it."""
        if typeface.regular is None or typeface.bold is None:
            self.core_fonts_encoding = "windows-1252"  # cp1252 has "€"; latin-1 does not
        else:
            self.add_font(typeface.family, "", typeface.regular, unicode_range=typeface.unicode_range)
            self.add_font(typeface.family, "B", typeface.bold, unicode_range=typeface.unicode_range)
        if typeface.shaped:
            self.set_text_shaping(True)  # bidi and HarfBuzz; the direction is found per line
        self.set_margins(MARGIN, MARGIN, MARGIN)
        # Page breaks are placed by the renderer, so that rows never split mid-line.
        self.set_auto_page_break(False, margin=BOTTOM_MARGIN)

    def use(self, size: float, bold: bool = False, color: Color = INK) -> None:
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

    def header(self) -> None:
        self.set_fill_color(*ACCENT)
        self.rect(0, 0, PAGE_WIDTH, 3, style="F")

    def footer(self) -> None:
        self.use(SMALL_SIZE, color=MUTED)
        self.put(MARGIN, self.h - 10 - 0.5 * LINE_HEIGHT - 0.3 * self.font_size, self.footer_label)
        # A cell, not text(): fpdf substitutes the total page count only in cells.
        self.set_xy(MARGIN, self.h - 12)
        self.cell(RIGHT - MARGIN, 3, f"Page {self.page_no()} of {{nb}}", align="R")

    # -- text ------------------------------------------------------------------------------

    def printable(self, value: str) -> str:
        return self.typeface.printable(clipped(value))

    def measure(self, text: str) -> float:
        """``get_string_width(text)``, summed from cached per-character widths.

        fpdf's own call copies its graphics state each time, and the table measures every word.
        Shaped text is measured whole: a letter's width depends on its neighbours.
        """
        widths = self.typeface.widths[self.font_style]
        if self.typeface.shaped and needs_shaping(text):
            per_point = widths.get(text)
            if per_point is None:
                per_point = self.get_string_width(text) / self.font_size_pt
                if len(widths) < _MAX_CACHED_WIDTHS:
                    widths[text] = per_point
            return per_point * self.font_size_pt
        try:
            per_point = sum(map(widths.__getitem__, text))
        except KeyError:
            for char in set(text).difference(widths):
                widths[char] = self.get_string_width(char) / self.font_size_pt
            per_point = sum(map(widths.__getitem__, text))
        return per_point * self.font_size_pt

    def put(self, x: float, top: float, value: str, *, right: bool = False, width: float = 0.0) -> None:
        """One line of text with its line box starting at ``top``; ``right`` aligns its end at x."""
        measured = self.measure(value)
        if width and measured > width:
            self._put_shrunk(x, top, value, right=right, width=width)
            return
        left = x - measured if right else x
        if self.typeface.shaped and needs_shaping(value):
            self._put_shaped(left, top, value, measured)
            return
        self.text(left, top + 0.5 * LINE_HEIGHT + 0.3 * self.font_size, value)

    def _put_shaped(self, left: float, top: float, value: str, measured: float) -> None:
        # fpdf2 shapes text only in cells; a cell of LINE_HEIGHT without padding puts the baseline
        # where text() would (0.5 of the line height plus 0.3 of the font size below its top).
        padding, self.c_margin = self.c_margin, 0.0
        self.set_xy(left, top)
        self.cell(measured, LINE_HEIGHT, value)
        self.c_margin = padding

    def _put_shrunk(self, x: float, top: float, value: str, *, right: bool, width: float) -> None:
        """A value too wide for its column (a very large amount) is printed smaller, not clipped."""
        size = self.font_size_pt
        self.set_font_size(max(5.0, size * width / self.measure(value)))
        self.put(x, top, value, right=right)
        self.set_font_size(size)

    def put_lines(self, x: float, top: float, lines: list[str], line_height: float = LINE_HEIGHT) -> float:
        for line in lines:
            self.put(x, top, line)
            top += line_height
        return top

    def wrap(self, value: str, width: float) -> list[str]:
        """``value`` made printable and word-wrapped at the current font, keeping its line breaks.

        A word wider than ``width`` (a URL, a long SKU) is cut between characters.
        """
        space = self.measure(" ")
        lines: list[str] = []
        for paragraph in clipped(value).splitlines() or [""]:
            current, current_width = "", 0.0
            for word in self.printable(paragraph).split():
                word_width = self.measure(word)
                if current and current_width + space + word_width <= width:
                    current, current_width = f"{current} {word}", current_width + space + word_width
                    continue
                if current:
                    lines.append(current)
                if word_width > width:
                    lines.extend(self._cut(word, width))
                    word = lines.pop()
                    word_width = self.measure(word)
                current, current_width = word, word_width
            lines.append(current)
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        return lines[:MAX_PRINTED_LINES]

    def _cut(self, word: str, width: float) -> list[str]:
        """A word wider than ``width`` in pieces that fit; the last piece may be shorter."""
        # Cut where a line's worth of characters ends: only a bounded window is ever measured,
        # so a word of thousands of characters costs linear time, not quadratic.
        window = int(width / (self.measure(".") / 2)) + 1  # more characters than any line holds
        pieces = []
        while len(word) > window or (len(word) > 1 and self.measure(word) > width):
            cut = self._fitting_prefix(word[:window], width)
            pieces.append(word[:cut])
            word = word[cut:]
        pieces.append(word)
        return pieces

    def _fitting_prefix(self, word: str, width: float) -> int:
        low, high = 1, len(word)  # the longest prefix that fits, at least one character
        while low < high:
            middle = (low + high + 1) // 2
            if self.measure(word[:middle]) <= width:
                low = middle
            else:
                high = middle - 1
        return low

    def rule(self, y: float, x1: float = MARGIN, x2: float = RIGHT, width: float = 0.2) -> None:
        self.set_draw_color(*RULE)
        self.set_line_width(width)
        self.line(x1, y, x2, y)
