"""The MCP Apps view in headless Chromium, fed by the real AppBridge with real results of the server.

Each test loads the test host page (see conftest.py), which hands the view one tool call of the
local ledger or of Payabli through its sandbox emulator, and checks what a person sees. Every render
keeps a screenshot of the view (the directory is printed at the end of the run).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mcp_invoices.domain.breakdown import breakdown_of
from mcp_invoices.domain.models import Invoice
from mcp_invoices.domain.money import currency_exponent
from mcp_invoices.providers.catalog import spec
from mcp_invoices.providers.local.seed import SELLER
from tests.browser.conftest import Browser, Host

pytestmark = pytest.mark.asyncio(loop_scope="module")

THEMES = ["light", "dark"]
HOSTS = ["local_host", "remote_host"]
BUCKETS = ["current", "days_1_30", "days_31_60", "days_61_90", "days_over_90"]


async def show(
    browser: Browser, host: Host, scenario: str, theme: str, screenshots: Path | None = None, width: int = 720
) -> dict[str, Any]:
    narrow = "" if width == 720 else f"-{width}px"
    name = f"{scenario}-{host.results.provider}-{theme}{narrow}.png"
    shot = str(screenshots / name) if screenshots else None
    return await browser.run(op="render", url=host.page(scenario, theme, width), screenshot=shot)


def table(view: dict[str, Any], table_id: str) -> dict[str, Any]:
    return next(found for found in view["tables"] if found["id"] == table_id)


def shown(amount: str | None) -> str:
    return "—" if amount is None else amount


def formatted(amount: object) -> Decimal | None:
    return None if amount is None else Decimal(str(amount))


def amount_in(text: str, currency: str) -> Decimal | None:
    """The exact amount a cell states, checking it is written as money in ``currency`` for en-GB (the
    test host's locale): a currency symbol, thousands grouped, the currency's minor units."""
    if text == "—":
        return None
    assert re.search(r"[^\d.,\s+\-−]", text), f"{text!r}: no currency symbol"
    digits = re.sub(r"[^\d.]", "", text)
    number = Decimal(digits) * (-1 if re.search(r"[-−]", text) else 1)
    assert abs(number) < 1000 or "," in text, f"{text!r}: no grouping"
    exponent = currency_exponent(currency)
    assert len(digits.partition(".")[2]) >= exponent, (
        f"{text!r}: fewer than {currency}'s {exponent} minor digits"
    )
    return number


def luminance(css_color: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@pytest.fixture(params=HOSTS)
def host(request: pytest.FixtureRequest) -> Host:
    chosen: Host = request.getfixturevalue(request.param)
    return chosen


# -- an invoice ------------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES)
async def test_the_invoice_view_shows_number_every_line_totals_and_amount_due_as_the_server_sent_them(
    browser: Browser, host: Host, theme: str, screenshots: Path
) -> None:
    invoice = host.results.scenarios["invoice"].data
    view = (await show(browser, host, "invoice", theme, screenshots))["view"]

    assert view["kind"] == "invoice"
    assert view["number"] == invoice["number"]
    # "From" names the seller (the merchant) where the provider names one: the local ledger's seller
    # profile, Payabli's paypoint (its trading name, on every invoice record: the emulator's
    # "PaypointDbaname"); otherwise the provider is named as what it is, never as the seller.
    if host.results.provider == "local":
        assert view["sellerLabel"] == "From"
        assert view["seller"].startswith(SELLER.name) and SELLER.address_lines[0] in view["seller"]
    elif host.results.provider == "payabli":
        assert view["sellerLabel"] == "From"
        assert view["seller"] == "Sandbox Goods"
    else:
        assert view["sellerLabel"] == "Issued through"
        assert view["seller"] == spec(host.results.provider).display_name
    billed_to = invoice["billing"]["name"] or invoice["customer"]["name"]
    assert billed_to and view["billedTo"].startswith(billed_to) and "[object" not in view["billedTo"]
    lines = table(view, "lines")
    assert len(lines["body"]) == len(invoice["line_items"])
    assert all(
        row["cells"][0]["text"].startswith(line["description"])
        for row, line in zip(lines["body"], invoice["line_items"], strict=True)
    )

    # The same breakdown as the PDF and the text (net + tax = gross, nets = subtotal, rows = total), in
    # the invoice's currency and the host's locale (en-GB in the test host): each cell is compared as
    # the exact amount it states, and carries the currency's symbol, grouping and minor units.
    currency = invoice["currency"]

    def stated(text: str) -> Decimal | None:
        return amount_in(text, currency)

    breakdown = breakdown_of(Invoice.model_validate(invoice))
    for row, amounts in zip(lines["body"], breakdown.lines, strict=True):
        assert [stated(cell["text"]) for cell in row["cells"][2:]] == [
            formatted(amounts.item.unit_amount),
            formatted(amounts.item.discount),
            formatted(amounts.net),
            formatted(amounts.tax),
            formatted(amounts.gross),
        ]
    totals = {row["className"]: stated(row["cells"][-1]["text"]) for row in lines["foot"]}
    expected = {"subtotal": formatted(breakdown.subtotal), "tax": formatted(breakdown.tax)}
    if breakdown.discount:
        expected["discount"] = formatted(-breakdown.discount)
    if breakdown.shipping:
        expected["shipping"] = formatted(breakdown.shipping)
    if breakdown.adjustment:
        expected["adjustment"] = formatted(breakdown.adjustment)
    expected |= {
        "total": formatted(invoice["total"]),
        "paid": formatted(invoice["amount_paid"]),
        "due": formatted(invoice["amount_due"]),
    }
    assert totals == expected
    assert stated(view["amountDue"]) == formatted(invoice["amount_due"])


async def test_the_invoice_view_says_how_many_days_an_unpaid_invoice_is_overdue(
    browser: Browser, host: Host
) -> None:
    invoice = host.results.scenarios["invoice"].data
    days = (datetime.now(UTC).date() - date.fromisoformat(invoice["due_at"])).days
    assert Decimal(invoice["amount_due"]) > 0 and days > 0, "the chosen invoice is an overdue one"

    view = (await show(browser, host, "invoice", "light"))["view"]

    assert view["overdue"] == f"Overdue {days} day{'' if days == 1 else 's'}"
    assert view["status"] and invoice["status"].replace("_", " ") in view["status"].lower()


async def test_the_invoice_view_has_real_table_semantics(browser: Browser, host: Host) -> None:
    view = (await show(browser, host, "invoice", "light"))["view"]

    lines = table(view, "lines")
    assert lines["caption"].startswith("Line items")
    assert lines["head"][0][0] == "Description"
    assert all(row["cells"][0]["tag"] == "th" and row["cells"][0]["scope"] == "row" for row in lines["body"])
    assert all(row["cells"][0]["scope"] == "row" for row in lines["foot"])


async def test_download_pdf_hands_the_host_a_link_to_the_invoices_pdf_resource(
    browser: Browser, local_host: Host
) -> None:
    invoice = local_host.results.scenarios["invoice"].data
    await show(browser, local_host, "invoice", "light")

    host = (await browser.run(op="click", selector="#pdf", until="downloads"))["host"]

    [download] = host["downloads"]
    assert download["uri"] == invoice["documents"]["pdf_uri"]
    assert (download["mimeType"], download["served"], download["magic"]) == (
        "application/pdf",
        "application/pdf",
        "%PDF-",
    )


async def test_the_pdf_is_reached_and_downloaded_with_the_keyboard_alone(
    browser: Browser, local_host: Host
) -> None:
    await show(browser, local_host, "invoice", "light")

    answer = await browser.run(op="keys", keys=["Tab", "Enter"])

    assert answer["focused"][0]["id"] == "pdf"
    host = (await browser.run(op="wait_host", until="downloads"))["host"]
    assert len(host["downloads"]) == 1


@pytest.mark.parametrize("theme", THEMES)
async def test_the_generated_invoice_view_shows_the_new_invoice(
    browser: Browser, local_host: Host, theme: str, screenshots: Path
) -> None:
    generated = local_host.results.scenarios["generated"].data
    view = (await show(browser, local_host, "generated", theme, screenshots))["view"]

    assert view["kind"] == "invoice"
    assert view["number"] == generated["number"]
    currency = generated["currency"]
    breakdown = breakdown_of(
        Invoice.model_validate({k: v for k, v in generated.items() if k in Invoice.model_fields})
    )
    assert [amount_in(row["cells"][-1]["text"], currency) for row in table(view, "lines")["body"]] == [
        line.gross for line in breakdown.lines
    ]
    assert amount_in(view["amountDue"], currency) == Decimal(generated["amount_due"])


# -- a summary of invoices -------------------------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES)
async def test_the_summary_view_draws_one_bar_per_ageing_bucket_in_exact_proportion(
    browser: Browser, host: Host, theme: str, screenshots: Path
) -> None:
    summary = host.results.scenarios["summary"].data
    view = (await show(browser, host, "summary", theme, screenshots))["view"]

    assert view["kind"] == "summary"
    assert [(bar["currency"], bar["bucket"]) for bar in view["bars"]] == [
        (totals["currency"], bucket) for totals in summary["currencies"] for bucket in BUCKETS
    ]
    for totals in summary["currencies"]:
        amounts = [Decimal(totals["ageing"][bucket]) for bucket in BUCKETS]
        largest = max(amounts)
        expected = [int(amount * 1000 / largest) if largest > 0 else 0 for amount in amounts]
        bars = [bar for bar in view["bars"] if bar["currency"] == totals["currency"]]
        assert [bar["permille"] for bar in bars] == expected
        for bar, permille in zip(bars, expected, strict=True):
            assert abs(bar["width"] - bar["track"] * permille / 1000) <= 1  # drawn as computed, to the pixel


async def test_the_summary_view_shows_billed_paid_due_and_overdue_per_currency(
    browser: Browser, host: Host
) -> None:
    summary = host.results.scenarios["summary"].data
    view = (await show(browser, host, "summary", "light"))["view"]

    assert [
        {
            "currency": card["currency"],
            "values": {key: amount_in(text, card["currency"]) for key, text in card["values"].items()},
        }
        for card in view["cards"]
    ] == [
        {
            "currency": totals["currency"],
            "values": {
                "billed": Decimal(totals["total"]),
                "paid": Decimal(totals["paid"]),
                "due": Decimal(totals["due"]),
                "overdue": Decimal(totals["overdue"]),
            },
        }
        for totals in summary["currencies"]
    ]
    by_status = table(view, "by-status")
    assert [[cell["text"] for cell in row["cells"]][1] for row in by_status["body"]] == [
        str(entry["count"]) for entry in summary["by_status"]
    ]
    if summary["oldest_unpaid"]:
        oldest = summary["oldest_unpaid"]
        due = re.search(r"Amount due\s+(\S+)", view["text"], re.IGNORECASE)
        assert due and amount_in(due.group(1), oldest["currency"]) == Decimal(oldest["amount_due"])
        assert (oldest["number"] or oldest["invoice_id"]) in view["text"]


# -- two invoices compared -------------------------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES)
async def test_the_comparison_view_highlights_each_change_and_shows_each_difference(
    browser: Browser, host: Host, theme: str, screenshots: Path
) -> None:
    comparison = host.results.scenarios["comparison"].data
    view = (await show(browser, host, "comparison", theme, screenshots))["view"]

    assert view["kind"] == "comparison"
    assert (view["number"], view["otherNumber"]) == (
        comparison["invoice"]["number"],
        comparison["other"]["number"],
    )

    currency = comparison["currency"]

    def with_direction(amount: str | None) -> tuple[Decimal | None, str]:
        if amount is None:
            return None, ""
        value = Decimal(amount)
        return value, "" if value == 0 else " (more)" if value > 0 else " (less)"

    def stated(text: str) -> tuple[Decimal | None, str]:
        figure, _, direction = text.partition(" (")
        amount = amount_in(figure, currency)
        if amount:  # a difference says its sign: "+£1.00 (more)", "-£1.00 (less)"
            assert figure[0] in "+-−", f"{text!r}: no sign"
        return amount, f" ({direction}" if direction else ""

    amounts = table(view, "amounts")
    assert [[row["cells"][0]["text"], stated(row["cells"][-1]["text"])] for row in amounts["body"]] == [
        [name, with_direction(comparison["differences"][key])]
        for key, name in [
            ("subtotal", "Subtotal"),
            ("discount", "Discount"),
            ("tax", "Tax"),
            ("shipping", "Shipping"),
            ("total", "Total"),
        ]
    ]
    assert [row["className"] == "is-changed" for row in amounts["body"]] == [
        Decimal(comparison["differences"][key] or 0) != 0
        for key in ("subtotal", "discount", "tax", "shipping", "total")
    ]
    breakdown = table(view, "breakdown")
    assert [stated(row["cells"][1]["text"]) for row in breakdown["body"]] == [
        with_direction(comparison["breakdown"][key])
        for key in ("lines", "discount", "tax", "shipping", "other")
    ]
    for side, invoice in (("Before", comparison["other"]), ("After", comparison["invoice"])):
        assert f"{side} {invoice['number']}" in view["text"].replace("\n", " ")
        total = re.search(
            rf"{side}\s+{re.escape(invoice['number'])}.*?Total\s+(\S+)", view["text"], re.DOTALL
        )
        assert total and amount_in(total.group(1), currency) == Decimal(invoice["total"])
    lines = table(view, "lines")
    assert [(row["cells"][1]["text"], row["className"]) for row in lines["body"]] == [
        (line["description"], "" if line["change"] == "unchanged" else f"is-{line['change']}")
        for line in comparison["lines"]
    ]
    assert [stated(row["cells"][-1]["text"])[0] for row in lines["body"]] == [
        formatted(line["difference"]) for line in comparison["lines"]
    ]


async def test_a_tool_error_is_shown_with_its_message_and_hint(browser: Browser, local_host: Host) -> None:
    error = json.loads(local_host.results.scenarios["error"].result["content"][0]["text"])
    view = (await show(browser, local_host, "error", "light"))["view"]

    assert view["kind"] == "error"
    assert (
        error["message"] in view["error"]
        and error["hint"] in view["error"]
        and error["code"] in view["error"]
    )


# -- made for a sandboxed frame --------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["invoice", "summary", "comparison"])
async def test_the_view_follows_the_hosts_theme_not_the_systems(
    browser: Browser, local_host: Host, scenario: str
) -> None:
    light = (await show(browser, local_host, scenario, "light"))["view"]
    dark = (await show(browser, local_host, scenario, "dark"))["view"]  # the system says light in both

    assert (light["theme"], dark["theme"]) == ("light", "dark")
    assert luminance(light["background"]) > 200 and luminance(dark["background"]) < 60
    assert luminance(dark["color"]) > 150 > luminance(light["color"])


async def test_the_view_follows_the_host_when_it_switches_theme(browser: Browser, local_host: Host) -> None:
    light = (await show(browser, local_host, "summary", "light"))["view"]

    dark = (await browser.run(op="theme", theme="dark"))["view"]

    assert luminance(dark["background"]) < 60 and luminance(light["background"]) > 200
    assert dark["bars"] == light["bars"]  # the same view, only its colours changed


@pytest.mark.parametrize("scenario", ["invoice", "summary", "comparison"])
async def test_the_view_loads_nothing_but_itself_under_a_strict_csp(
    browser: Browser, host: Host, scenario: str
) -> None:
    answer = await show(browser, host, scenario, "light")

    requests = answer["record"]["requests"]
    assert [request["url"] for request in requests if request["frame"].endswith("/view.html")] == []
    assert [request["url"].removeprefix(host.url) for request in requests] == [
        f"/host.html?scenario={scenario}&theme=light&width=720",
        "/host.bundle.js",
        f"/scenario/{scenario}",
        "/view.html",
    ]
    assert answer["record"]["console"] == [] and answer["record"]["pageErrors"] == []
    assert answer["host"]["failures"] == []


@pytest.mark.parametrize("scenario", ["invoice", "summary", "comparison"])
async def test_the_view_fits_a_narrow_host_without_sideways_scrolling(
    browser: Browser, local_host: Host, scenario: str, screenshots: Path
) -> None:
    view = (await show(browser, local_host, scenario, "light", screenshots, width=360))["view"]

    assert view["scrollWidth"] <= view["clientWidth"], view["overflowing"]
    assert view["cutOffTables"] == []
