"""Specification of the invoice PDF: what a reader of the document finds in it."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from mcp_invoices.documents import typeface
from mcp_invoices.documents.pdf import Seller, render_invoice_pdf, render_invoice_pdf_sync
from mcp_invoices.domain.models import (
    Address,
    Billing,
    Customer,
    Invoice,
    InvoiceStatus,
    LineItem,
)
from mcp_invoices.domain.money import format_money
from tests.factories import line_item, printed_invoice

SELLER = Seller(
    name="Acme Widgets Ltd",
    address_lines=("1 Market Street", "London EC1A 1AA", "United Kingdom"),
    email="billing@acme.example",
    tax_id="GB123456789",
)

LONG_TEXT = (
    "Consulting services for the migration of the legacy billing platform, including data cleanup, "
    "reconciliation of historical ledgers and a written report for the finance team"
)


def yen_invoice(lines: int = 3) -> Invoice:
    return printed_invoice(
        currency="JPY",
        line_items=[line_item(f"SKU-{i:03d} {LONG_TEXT}", "JPY", unit="1500") for i in range(lines)],
        subtotal="1234567",
        tax="0",
        total="1234567",
        amount_paid="0",
        amount_due="1234567",
    )


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def text_of(data: bytes) -> str:
    return "\n".join(pages_text(data))


@pytest.fixture
def without_unicode_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a system without DejaVu: only the core Helvetica is available."""
    monkeypatch.setattr(typeface, "unicode_typeface", lambda: None)


def test_output_is_a_pdf_document() -> None:
    assert render_invoice_pdf_sync(printed_invoice(), SELLER).startswith(b"%PDF-")


def test_invoice_number_billing_name_and_amounts_are_printed() -> None:
    text = text_of(render_invoice_pdf_sync(printed_invoice(), SELLER))

    assert "INVOICE" in text
    assert "INV-2026-0042" in text
    assert "Globex Corporation" in text
    assert format_money(Decimal("1234.50"), "USD") in text  # total
    assert format_money(Decimal("1000.00"), "USD") in text  # amount due
    assert format_money(Decimal("234.50"), "USD") in text  # amount paid


def test_dates_and_status_are_printed() -> None:
    invoice = printed_invoice(status=InvoiceStatus.PAID, paid_at=datetime(2026, 3, 5, 12, tzinfo=UTC))

    text = text_of(render_invoice_pdf_sync(invoice))

    assert "1 Mar 2026" in text
    assert "31 Mar 2026" in text
    assert "5 Mar 2026" in text
    assert "Paid" in text


def test_seller_block_shows_name_address_email_and_tax_id() -> None:
    text = text_of(render_invoice_pdf_sync(printed_invoice(), SELLER))

    for expected in ("Acme Widgets Ltd", "1 Market Street", "billing@acme.example", "Tax ID: GB123456789"):
        assert expected in text


def test_without_seller_the_header_names_the_provider() -> None:
    assert "Invoice from Polar" in text_of(render_invoice_pdf_sync(printed_invoice()))


def test_billing_address_lines_are_printed() -> None:
    text = text_of(render_invoice_pdf_sync(printed_invoice()))

    assert "42 Harbour Road" in text
    assert "SAN FRANCISCO, 94107" in text  # the US order: city, (state,) then ZIP


def test_bill_to_falls_back_to_the_customer_name() -> None:
    invoice = printed_invoice(billing=Billing(), customer=Customer(name="Walk-in Customer"))

    assert "Walk-in Customer" in text_of(render_invoice_pdf_sync(invoice))


def test_bill_to_falls_back_to_the_customer_email() -> None:
    invoice = printed_invoice(billing=Billing(), customer=Customer(email="only@example.com"))

    assert "only@example.com" in text_of(render_invoice_pdf_sync(invoice))


def test_invoice_without_number_is_labelled_draft() -> None:
    text = text_of(render_invoice_pdf_sync(printed_invoice(number=None, status=InvoiceStatus.DRAFT)))

    assert "Draft" in text


def test_pending_invoice_without_number_is_labelled_pending() -> None:
    text = text_of(render_invoice_pdf_sync(printed_invoice(number=None, status=InvoiceStatus.PENDING)))

    assert "Pending" in text


def test_line_item_columns_are_printed() -> None:
    item = LineItem(
        description="Annual plan",
        quantity=Decimal("1.50"),
        unit_amount=Decimal("80.00"),
        discount=Decimal("12.00"),
        tax=Decimal("21.60"),
        total=Decimal("129.60"),
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
    )

    text = text_of(render_invoice_pdf_sync(printed_invoice(line_items=[item])))

    for expected in (
        "Annual plan",
        "1.5",
        "$80.00",
        "-$12.00",
        "$21.60",
        "$129.60",
        "1 Jan 2026",
        "31 Dec 2026",
    ):
        assert expected in text


def test_optional_totals_are_printed_when_present() -> None:
    invoice = printed_invoice(
        line_items=[line_item("Widget", quantity="1", unit="1200.00")],
        subtotal="1200.00",
        discount="20.00",
        tax="49.50",
        shipping="5.00",
    )

    text = text_of(render_invoice_pdf_sync(invoice))

    for label, value in (("Subtotal (net)", "$1,200.00"), ("Discount", "-$20.00"), ("Tax", "$49.50")):
        assert f"{label} {value}" in text
    assert "Shipping $5.00" in text


def test_optional_totals_are_left_out_when_absent() -> None:
    # The subtotal (the nets' sum), tax and total always print; a discount, shipping or an adjustment
    # only when there is one.
    invoice = printed_invoice(subtotal=None, discount=None, shipping=None, total="100.00")
    text = text_of(render_invoice_pdf_sync(invoice))

    assert "Subtotal (net) $100.00" in text
    assert "Adjustment" not in text
    assert "Shipping" not in text
    assert "Discount" not in text.replace("DISCOUNT", "")


def test_yen_amounts_have_no_decimals() -> None:
    text = text_of(render_invoice_pdf_sync(yen_invoice()))

    assert "¥1,234,567" in text
    assert "¥1,500" in text
    assert "¥1,234,567.00" not in text


def test_euro_sign_is_printed_with_the_core_font() -> None:
    data = render_invoice_pdf_sync(printed_invoice(currency="EUR"), SELLER)

    fonts = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"]
    assert {font.get_object()["/BaseFont"] for font in fonts.values()} <= {"/Helvetica", "/Helvetica-Bold"}
    assert "€1,234.50" in text_of(data)


def test_euro_sign_is_printed_without_a_unicode_font(without_unicode_font: None) -> None:
    invoice = printed_invoice(currency="EUR", billing=Billing(name="Łukasz Nowak"))

    assert "€1,000.00" in text_of(render_invoice_pdf_sync(invoice))


def test_unicode_names_are_printed_with_an_embedded_font() -> None:
    if typeface.unicode_typeface() is None:
        pytest.skip("no DejaVu Sans on this system")
    invoice = printed_invoice(billing=Billing(name="Zoë Łukasz Ωmega Дмитрий"))

    assert "Zoë Łukasz Ωmega Дмитрий" in text_of(render_invoice_pdf_sync(invoice))


def test_characters_the_font_lacks_become_question_marks() -> None:
    invoice = printed_invoice(billing=Billing(name="株式会社 Example"))

    assert "???? Example" in text_of(render_invoice_pdf_sync(invoice))


def test_without_a_unicode_font_names_are_transliterated(without_unicode_font: None) -> None:
    invoice = printed_invoice(
        billing=Billing(name="Zoë Łukasz Dvořák"),
        line_items=[line_item("Ｆｕｌｌ-width ﬁle — 株式会社")],
    )

    text = text_of(render_invoice_pdf_sync(invoice))

    assert "Zoë Lukasz Dvorák" in text
    assert "Full-width file — ????" in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=40), description=st.text(max_size=200))
def test_any_text_renders_with_the_core_font(without_unicode_font: None, name: str, description: str) -> None:
    invoice = printed_invoice(billing=Billing(name=name), line_items=[line_item(description)])

    assert render_invoice_pdf_sync(invoice, Seller(name=name)).startswith(b"%PDF-")


@settings(max_examples=15, deadline=None)
@given(name=st.text(min_size=1, max_size=40), description=st.text(max_size=200))
def test_any_text_renders_with_the_unicode_font(name: str, description: str) -> None:
    invoice = printed_invoice(billing=Billing(name=f"Ł{name}"), line_items=[line_item(description)])

    assert render_invoice_pdf_sync(invoice, Seller(name=name)).startswith(b"%PDF-")


# --- Right-to-left text (Hebrew, Arabic) -----------------------------------------------------

ISRAELI_SELLER = Seller(
    name="אקמה תוכנה בע״מ",
    address_lines=("שדרות רוטשילד 1", "תל אביב 6688101"),
    email="billing@acme.co.il",
    tax_id="IL514000000",
)


def israeli_invoice() -> Invoice:
    return printed_invoice(
        currency="ILS",
        customer=Customer(id="cus_il", name="דנה כהן", email="dana@example.co.il"),
        billing=Billing(
            name="אלפא מערכות בע״מ",
            address=Address(line1="רחוב הרצל 12", postal_code="6100000", city="תל אביב", country="IL"),
        ),
        line_items=[line_item("ייעוץ חודשי", "ILS"), line_item("خدمات الدعم الفني", "ILS")],
    )


@pytest.fixture
def unicode_font() -> None:
    if typeface.unicode_typeface() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "no DejaVu Sans: CI installs fonts-dejavu-core (scripts/install-browser-test-deps.sh)"
            )
        pytest.skip("no DejaVu Sans on this system")


def pdftotext(data: bytes) -> str:
    """The text as poppler reads it back: runs in logical order, as a reader would copy them."""
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no pdftotext: CI installs poppler-utils (scripts/install-browser-test-deps.sh)")
        pytest.skip("no pdftotext (poppler-utils) on this system")
    result = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True, timeout=30)
    # poppler marks each right-to-left run with embedding controls; a reader copies the letters.
    return result.stdout.decode().translate(dict.fromkeys(range(0x202A, 0x202F)))


def test_hebrew_names_and_address_read_back_in_logical_order(unicode_font: None) -> None:
    text = pdftotext(render_invoice_pdf_sync(israeli_invoice(), ISRAELI_SELLER))

    for words in (
        "אקמה תוכנה בע״מ",
        "שדרות רוטשילד",
        "אלפא מערכות בע״מ",
        "רחוב הרצל",
        "תל אביב",
        "ייעוץ חודשי",
    ):
        assert words in text
    assert "?" not in text


def test_arabic_words_read_back_in_logical_order(unicode_font: None) -> None:
    text = pdftotext(render_invoice_pdf_sync(israeli_invoice(), ISRAELI_SELLER))

    assert "خدمات الدعم الفني" in text


def test_right_to_left_text_is_shaped_and_latin_text_is_not(unicode_font: None) -> None:
    latin = printed_invoice(billing=Billing(name="Zoë Łukasz"))

    assert typeface.typeface_for(israeli_invoice(), None).shaped
    assert not typeface.typeface_for(latin, SELLER).shaped
    assert typeface.typeface_for(printed_invoice(), SELLER) is typeface.CORE_TYPEFACE


def test_two_hundred_lines_continue_over_several_pages() -> None:
    pages = pages_text(render_invoice_pdf_sync(yen_invoice(200), SELLER))

    assert len(pages) > 3
    text = "\n".join(pages)
    assert all(f"SKU-{i:03d}" in text for i in range(200))


def test_table_header_is_repeated_on_every_page_with_items() -> None:
    pages = pages_text(render_invoice_pdf_sync(yen_invoice(200), SELLER))

    for page in pages:
        if "SKU-" in page:
            assert "DESCRIPTION" in page


def test_pages_are_numbered_in_the_footer() -> None:
    pages = pages_text(render_invoice_pdf_sync(yen_invoice(200), SELLER))

    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page


def test_description_taller_than_a_page_is_split_across_pages() -> None:
    words = [f"w{i}" for i in range(2000)]

    pages = pages_text(render_invoice_pdf_sync(printed_invoice(line_items=[line_item(" ".join(words))])))

    assert len(pages) > 1
    assert "w0 " in pages[0]
    assert "w1999" in pages[-1] or "w1999" in pages[-2]


def test_line_breaks_in_a_description_are_kept() -> None:
    text = text_of(
        render_invoice_pdf_sync(printed_invoice(line_items=[line_item("Setup fee\nincludes onboarding")]))
    )

    assert "includes onboarding" in text
    assert "Setup fee includes" not in text


def test_word_wider_than_the_column_is_cut_not_lost() -> None:
    text = text_of(render_invoice_pdf_sync(printed_invoice(line_items=[line_item("Q" * 300)])))

    pieces = [piece for piece in text.split() if set(piece) == {"Q"}]
    assert len(pieces) > 1
    assert sum(map(len, pieces)) == 300


def test_metadata_names_the_invoice_and_the_seller() -> None:
    metadata = PdfReader(io.BytesIO(render_invoice_pdf_sync(printed_invoice(), SELLER))).metadata

    assert metadata is not None
    assert metadata.title == "Invoice INV-2026-0042"
    assert metadata.author == "Acme Widgets Ltd"


def test_same_invoice_renders_to_the_same_bytes() -> None:
    invoice = printed_invoice(billing=Billing(name="Zoë Łukasz"))

    assert render_invoice_pdf_sync(invoice, SELLER) == render_invoice_pdf_sync(invoice, SELLER)


async def test_async_render_returns_the_same_bytes_as_sync() -> None:
    invoice = yen_invoice(20)

    assert await render_invoice_pdf(invoice, SELLER) == render_invoice_pdf_sync(invoice, SELLER)
