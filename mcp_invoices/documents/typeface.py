"""Which font an invoice PDF is printed in, and what that font can draw.

An invoice whose text fits cp1252 (English and Western European names, "€") uses the core
Helvetica, which needs nothing embedded and renders fast. Any other invoice uses DejaVu Sans
(Latin, Greek, Cyrillic, Hebrew, Arabic) when the system has it - looked up once per process - and
falls back to Helvetica otherwise. Text in a right-to-left script (Hebrew, Arabic) turns on fpdf2's
text shaping (HarfBuzz, through ``uharfbuzz``): the Unicode bidi algorithm puts each run in visual
order and Arabic letters take their joined forms. Only those invoices pay for shaping. Characters
the chosen font cannot draw are transliterated ("Ł" -> "L") or printed as "?", so an unusual name
never fails a render.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont  # fpdf2's own dependency

from mcp_invoices.domain.models import Invoice
from mcp_invoices.domain.parties import Seller

__all__ = ["CORE_TYPEFACE", "Typeface", "needs_shaping", "typeface_for", "unicode_typeface"]

logger = logging.getLogger(__name__)

_FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")

# The scripts invoices are written in that DejaVu covers: Latin, Greek, Cyrillic, and punctuation,
# currency and letterlike symbols. Loading only these makes each render's font setup cheaper.
_UNICODE_RANGE = ((0x0000, 0x052F), (0x1E00, 0x1FFF), (0x2000, 0x22FF))

# Right-to-left scripts DejaVu Sans also draws: Hebrew, Arabic (with its supplement) and their
# presentation forms, which HarfBuzz picks for joined Arabic letters.
_RTL_RANGE = ((0x0590, 0x06FF), (0x0750, 0x077F), (0xFB1D, 0xFDFF), (0xFE70, 0xFEFF))
_ALL_RANGES = (*_UNICODE_RANGE, *_RTL_RANGE)

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

_RIGHT_TO_LEFT = frozenset(("R", "AL"))
"""Bidi classes of right-to-left letters (Hebrew; Arabic)."""
_SHAPED_CLASSES = _RIGHT_TO_LEFT | {"AN"}
"""...and Arabic-Indic digits, which are laid out within a right-to-left run."""


@dataclass(frozen=True, slots=True)
class Typeface:
    """The font family every text run uses, and the characters it can draw."""

    family: str
    regular: Path | None = None
    """None for a core PDF font: nothing to embed."""
    bold: Path | None = None
    charset: frozenset[int] | None = None
    """Code points both styles draw; None for a core font, which draws exactly cp1252."""
    shaped: bool = False
    """Text goes through fpdf2's shaping (bidi and HarfBuzz): the invoice has right-to-left text."""
    unicode_range: tuple[tuple[int, int], ...] = _UNICODE_RANGE
    """The code points loaded from the font files: right-to-left scripts only when shaped."""
    _printable: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)
    widths: dict[str, dict[str, float]] = field(
        default_factory=lambda: {"": {}, "B": {}}, compare=False, hash=False, repr=False
    )
    """Per style, each character's width in mm at 1 pt, filled as characters are first measured."""

    def can_draw(self, char: str) -> bool:
        if unicodedata.category(char).startswith("C"):
            # Control and unassigned characters never print; bidi marks (Cf) steer a shaped line.
            return self.shaped and unicodedata.category(char) == "Cf" and ord(char) in (self.charset or ())
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


CORE_TYPEFACE = Typeface("helvetica")


def typeface_for(invoice: Invoice, seller: Seller | None) -> Typeface:
    """Core Helvetica when it can print everything; embedding a font costs most of a render."""
    text = "\n".join(_printed_texts(invoice, seller))
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        embedded = unicode_typeface()
        if embedded is None:
            return CORE_TYPEFACE
        return _shaped(embedded) if _has_right_to_left(text) else embedded
    return CORE_TYPEFACE


def _has_right_to_left(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in _RIGHT_TO_LEFT for char in text if char > "\u058f")


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds right-to-left letters or Arabic digits, which only shaping orders and joins.

    Any other text (amounts with "€", Latin names) prints the same unshaped, and faster.
    """
    return not text.isascii() and any(
        unicodedata.bidirectional(char) in _SHAPED_CLASSES for char in text if char > "\u058f"
    )


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
def unicode_typeface() -> Typeface | None:
    """DejaVu Sans if the system has it; looked up once per process."""
    for directory in _FONT_DIRS:
        try:
            regular, bold = (Path(directory).expanduser() / name for name in _FONT_FILES)
            if not (regular.is_file() and bold.is_file()):
                continue
            charset = _charset(regular, _UNICODE_RANGE) & _charset(bold, _UNICODE_RANGE)
        except Exception:  # an unreadable or broken font must not break invoices: try the next
            logger.warning("ignoring unusable fonts in %s", directory, exc_info=True)
            continue
        return Typeface("dejavusans", regular, bold, frozenset(charset))
    return None


@cache
def _shaped(typeface: Typeface) -> Typeface:
    """The same font with shaping on; one per process, so its width cache is shared."""
    assert typeface.regular is not None and typeface.bold is not None  # only an embedded font is shaped
    charset = _charset(typeface.regular, _ALL_RANGES) & _charset(typeface.bold, _ALL_RANGES)
    return replace(
        typeface,
        charset=frozenset(charset),
        shaped=True,
        unicode_range=_ALL_RANGES,
        _printable={},
        widths={"": {}, "B": {}},
    )


def _charset(font_file: Path, ranges: tuple[tuple[int, int], ...]) -> set[int]:
    with TTFont(font_file, lazy=True) as font:
        return {code for code in font.getBestCmap() if any(low <= code <= high for low, high in ranges)}
