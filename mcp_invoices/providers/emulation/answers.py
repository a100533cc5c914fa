"""What the emulators answer with: JSON with exact decimals, small PDFs, UTC times, and the
request fields they read (a bearer token, an integer query parameter)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["bearer_token", "dumps_json", "iso_z", "json_response", "query_int", "render_pdf"]


# --------------------------------------------------------------------------------------------
# JSON with exact decimals
# --------------------------------------------------------------------------------------------


_DECIMAL_MARK = "\u0000decimal:"
_DECIMAL_RE = re.compile('"\\\\u0000decimal:(-?[0-9.Ee+-]+)"')


def _mark_decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return _DECIMAL_MARK + str(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps_json(value: Any) -> bytes:
    """JSON text in which ``Decimal`` values appear as bare numbers with their exact digits.

    Decimals are written digit for digit ("110.00", "0.30"): what the provider's document shows,
    and what a client parsing with parse_float=Decimal must get back unchanged. The C encoder does
    the work; each Decimal travels as a marked string and is unquoted afterwards.
    """
    text = json.dumps(value, ensure_ascii=False, default=_mark_decimal, separators=(", ", ": "))
    return _DECIMAL_RE.sub(r"\1", text).encode()


def json_response(
    value: Any,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    return Response(dumps_json(value), status_code=status_code, headers=headers, media_type=media_type)


# --------------------------------------------------------------------------------------------
# PDF documents
# --------------------------------------------------------------------------------------------

_PDF_CREATION_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def render_pdf(title: str, lines: list[str]) -> bytes:
    """A small, valid, deterministic one-page PDF (what the provider's own document stands in for)."""
    from fpdf import FPDF  # imported lazily: only document routes need it

    pdf = FPDF()
    pdf.set_creation_date(_PDF_CREATION_DATE)
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(text=_latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in lines:
        pdf.cell(text=_latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    # The core PDF fonts only cover Latin-1; the sandbox data is chosen to fit, this is a guard.
    return text.encode("latin-1", "replace").decode("latin-1")


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def query_int(request: Request, name: str, default: int) -> int | None:
    """An integer query parameter; ``None`` when present but not an integer."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def iso_z(moment: datetime) -> str:
    """``2026-03-01T10:00:00Z`` (UTC, seconds precision, as Polar and Afternoon write it)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
