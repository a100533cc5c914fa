"""One provider's bad answer hurts no one: each ends in a structured error within a bound, while
another session's call stays prompt.

Every case runs a real provider client against the hostile provider on loopback, through the MCP
server and the SDK's client, with a bystander session of another customer calling the local
ledger throughout.
"""

from __future__ import annotations

import resource
from pathlib import Path

import anyio
import pytest
from mcp_types import TextResourceContents
from pydantic import SecretStr

from mcp_invoices.principal import Scope
from mcp_invoices.providers.afternoon.client import AfternoonProvider
from mcp_invoices.providers.bagisto.client import BagistoProvider
from mcp_invoices.providers.http import MAX_REPORTED_RETRY_AFTER
from mcp_invoices.providers.payabli.client import PayabliProvider
from mcp_invoices.providers.polar.client import PolarProvider
from mcp_invoices.server.runtime import TOKEN_SCOPED
from tests.faults.conftest import (
    ANSWER_BOUND,
    BYSTANDER_BOUND,
    DEADLINE,
    FAST_RETRY,
    Outcome,
    sessions,
    while_bystanding,
)
from tests.faults.hostile import Hostile, drip, flood, json_text, reply, reset, truncated
from tests.results import error_of

AFTERNOON_INVOICE = "/v1/invoices/inv_1"
POLAR_ORDER_ID = "3f7c1a9e-0000-4000-8000-000000000001"
POLAR_ORDER = f"/v1/customer-portal/orders/{POLAR_ORDER_ID}"


def afternoon(hostile: Hostile) -> tuple[str, AfternoonProvider, Scope]:
    provider = AfternoonProvider(api_key=SecretStr("ak_test_fault"), base_url=hostile.url, retry=FAST_RETRY)
    return "afternoon", provider, Scope("afternoon", "cus_1")


def polar(hostile: Hostile) -> tuple[str, PolarProvider, Scope]:
    provider = PolarProvider(
        base_url=hostile.url,
        customer_session=SecretStr("polar_cst_fault"),
        retry=FAST_RETRY,
        download_deadline=DEADLINE,
    )
    return "polar", provider, Scope("polar", TOKEN_SCOPED)


def payabli(hostile: Hostile) -> tuple[str, PayabliProvider, Scope]:
    provider = PayabliProvider(
        base_url=f"{hostile.url}/api", api_token=SecretStr("fault-token"), entry="shop", retry=FAST_RETRY
    )
    return "payabli", provider, Scope("payabli", "1001")


def bagisto(hostile: Hostile) -> tuple[str, BagistoProvider, Scope]:
    provider = BagistoProvider(
        base_url=hostile.url,
        storefront_key=SecretStr("fault-storefront"),
        customer_token=SecretStr("fault-customer"),
        retry=FAST_RETRY,
    )
    return "bagisto", provider, Scope("bagisto", TOKEN_SCOPED)


def assert_bounded(outcome: Outcome, code: str) -> dict[str, object]:
    """The victim's structured error, in time, and a bystander that never waited."""
    error = error_of(outcome.result)
    assert error["code"] == code, error
    assert "Traceback" not in str(error["message"])
    assert outcome.elapsed < ANSWER_BOUND, f"{outcome.elapsed:.1f}s"
    assert outcome.bystander and max(outcome.bystander) < BYSTANDER_BOUND, max(outcome.bystander)
    return error


async def get_afternoon_invoice(hostile: Hostile, ledger_copy: Path) -> Outcome:
    name, provider, scope = afternoon(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        return await while_bystanding(
            session, lambda: session.victim.call_tool("get_invoice", {"invoice_id": "inv_1"})
        )


# -- bodies that never end, or end too big ------------------------------------------------------------


async def test_a_body_dripped_after_the_headers_times_out_at_the_call_deadline(
    hostile: Hostile, ledger_copy: Path
) -> None:
    hostile.on(AFTERNOON_INVOICE, drip(interval=0.1))
    error = assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "timeout")
    assert "had not finished answering" in str(error["message"])


async def test_a_polar_pdf_dripped_after_the_headers_times_out_at_the_download_deadline(
    hostile: Hostile, ledger_copy: Path
) -> None:
    hostile.on(f"{POLAR_ORDER}/invoice", reply(200, {"url": f"{hostile.url}/files/invoice.pdf"}))
    hostile.on("/files/", drip(interval=0.1, first=b"%PDF-1.7"))
    name, provider, scope = polar(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:

        async def read_pdf() -> str:
            try:
                await session.victim.read_resource(f"invoice://polar/{POLAR_ORDER_ID}/pdf")
            except Exception as error:
                return str(error)
            raise AssertionError("a dripped PDF must not be returned")

        outcome = await while_bystanding(session, read_pdf)
    assert "had not arrived" in outcome.result
    assert outcome.elapsed < ANSWER_BOUND and max(outcome.bystander) < BYSTANDER_BOUND


async def test_a_300_mb_body_is_refused_after_its_first_megabytes_not_read_whole(
    hostile: Hostile, ledger_copy: Path
) -> None:
    hostile.on(AFTERNOON_INVOICE, flood(300 * 1024 * 1024, declare_length=False))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    error = assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "provider_unavailable")
    peak_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert "larger than 4 MiB" in str(error["message"])
    assert hostile.flooded < 64 * 1024 * 1024  # the client stopped reading, so the provider stopped sending
    assert peak_growth_mib < 64


async def test_a_declared_300_mb_body_is_refused_before_it_is_read(
    hostile: Hostile, ledger_copy: Path
) -> None:
    hostile.on(AFTERNOON_INVOICE, flood(300 * 1024 * 1024, declare_length=True))
    error = assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "provider_unavailable")
    assert "larger than" in str(error["message"])


# -- numbers that would cost unbounded work -----------------------------------------------------------


@pytest.mark.parametrize("number", ["1e100000", "1e1000000", "-1e100000", "1" + "0" * 5000, "1e-100000"])
async def test_an_afternoon_amount_with_an_absurd_exponent_is_refused_before_conversion(
    hostile: Hostile, ledger_copy: Path, number: str
) -> None:
    body = (
        '{"success": true, "request_id": "r1", "invoice": {"id": "inv_1", "customer_id": "cus_1", '
        f'"status": "open", "currency": "usd", "total_cents": {number}, "line_items": []}}}}'
    )
    hostile.on(AFTERNOON_INVOICE, json_text(200, body))
    error = assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "provider_unavailable")
    assert "number far too large" in str(error["message"])


@pytest.mark.parametrize("number", ["1e100000", "1e308", "123456789012345678901234567890"])
async def test_a_polar_amount_out_of_range_is_provider_unavailable_not_an_unexpected_error(
    hostile: Hostile, ledger_copy: Path, number: str
) -> None:
    hostile.on(POLAR_ORDER, json_text(200, f'{{"id": "{POLAR_ORDER_ID}", "total_amount": {number}}}'))
    name, provider, scope = polar(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        outcome = await while_bystanding(
            session, lambda: session.victim.call_tool("get_invoice", {"invoice_id": POLAR_ORDER_ID})
        )
    error = assert_bounded(outcome, "provider_unavailable")
    assert "unexpected" not in str(error["message"])


# -- a summary's pages (the facts part of each record's one shape) keep the same bounds ----------------

_ABSURD = ["1e100000", "-1e100000", "1e-100000", "1" + "0" * 5000, "0." + "0" * 40 + "1"]


@pytest.mark.parametrize("number", _ABSURD)
async def test_an_absurd_amount_on_a_payabli_summary_page_is_refused_before_conversion(
    hostile: Hostile, ledger_copy: Path, number: str
) -> None:
    hostile.on(
        "/api/Query/invoices/shop",
        json_text(
            200,
            '{"Records": [{"invoiceId": 1, "customerId": 1001, "invoiceStatus": 1, '
            f'"invoiceAmount": {number}, "AdditionalData": {{"weight": 1e999999}}}}], '
            '"Summary": {"totalRecords": 1}}',
        ),
    )
    name, provider, scope = payabli(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        outcome = await while_bystanding(session, lambda: session.victim.call_tool("summarize_invoices", {}))
    error = assert_bounded(outcome, "provider_unavailable")
    assert "number far too large" in str(error["message"])


@pytest.mark.parametrize("number", ["1e100000", "12.5", '"1000"', "true"])
async def test_a_total_that_is_no_number_of_cents_on_an_afternoon_summary_page_is_refused(
    hostile: Hostile, ledger_copy: Path, number: str
) -> None:
    row = (
        '{"id": "inv_1", "customer_id": "cus_1", "status": "open", "currency": "usd", '
        f'"total_cents": {number}}}'
    )
    page = f'{{"success": true, "invoices": [{row}], "has_more": false}}'
    hostile.on("/v1/invoices", json_text(200, page))  # one unfiltered chain: this is its only page
    name, provider, scope = afternoon(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        outcome = await while_bystanding(session, lambda: session.victim.call_tool("summarize_invoices", {}))
    error = assert_bounded(outcome, "provider_unavailable")
    message = str(error["message"])
    assert "Afternoon sent" in message and "1000" not in message and "12.5" not in message


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("<html>Bad gateway</html>", "not valid JSON"),
        (
            '{"Records": [{"invoiceId": 1, "customerId": 1001, "invoiceStatus": 1, "invoiceAmount": 1',
            "not valid JSON",
        ),
        (
            '{"Records": [{"invoiceId": "one", "invoiceStatus": 1, "invoiceAmount": 1}]}',
            "(at Records.0.invoiceId)",
        ),
        (
            '{"Records": [{"invoiceId": 1, "invoiceStatus": 1, "invoiceAmount": 1, "customerId": 1e3}]}',
            "(at Records.0.customerId)",
        ),
        ('{"Records": {"invoiceId": 1}}', "(at Records)"),
        ('{"Records": [' + "[" * 5000 + "]" * 5000 + "]}", "Payabli sent"),
    ],
)
async def test_a_payabli_summary_page_that_is_not_the_documented_shape_names_where_not_what(
    hostile: Hostile, ledger_copy: Path, body: str, said: str
) -> None:
    hostile.on("/api/Query/invoices/shop", json_text(200, body))
    name, provider, scope = payabli(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        outcome = await while_bystanding(session, lambda: session.victim.call_tool("summarize_invoices", {}))
    error = assert_bounded(outcome, "provider_unavailable")
    assert said in str(error["message"]) and "one" not in str(error["message"])


# -- page counts the provider made up -----------------------------------------------------------------


async def test_a_payabli_total_of_a_billion_records_is_refused_before_any_further_page(
    hostile: Hostile, ledger_copy: Path
) -> None:
    record = {"invoiceId": 1, "customerId": 1001, "invoiceStatus": 1, "invoiceAmount": 10.5}
    hostile.on(
        "/api/Query/invoices/shop", reply(200, {"Records": [record], "Summary": {"totalRecords": 10**9}})
    )
    name, provider, scope = payabli(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        outcome = await while_bystanding(session, lambda: session.victim.call_tool("summarize_invoices", {}))
    error = assert_bounded(outcome, "provider_unavailable")
    assert "1,000,000,000 pages" in str(error["message"]) and "at most" not in str(error["message"])
    assert len(hostile.requests) == 1


async def test_a_bagisto_total_count_of_99999_pages_is_refused_before_any_further_page(
    hostile: Hostile, ledger_copy: Path
) -> None:
    page = {
        "data": {
            "customerInvoices": {
                "edges": [],
                "pageInfo": {"endCursor": None, "hasNextPage": True},
                "totalCount": 99_999 * 50,
            }
        }
    }
    hostile.on("/api/graphql", reply(200, page))
    name, provider, scope = bagisto(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        outcome = await while_bystanding(session, lambda: session.victim.call_tool("summarize_invoices", {}))
    error = assert_bounded(outcome, "provider_unavailable")
    assert "99,999 pages" in str(error["message"])
    assert len(hostile.requests) == 1


# -- waits the provider asks for ----------------------------------------------------------------------


async def test_a_huge_retry_after_is_waited_for_at_most_the_cap_and_reported_capped(
    hostile: Hostile, ledger_copy: Path
) -> None:
    hostile.on(
        AFTERNOON_INVOICE, reply(429, {"error": {"code": "RATE_LIMITED"}}, {"Retry-After": "99999999"})
    )
    error = assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "rate_limited")
    assert error["retry_after"] == MAX_REPORTED_RETRY_AFTER


# -- answers that already ended well (kept that way) --------------------------------------------------


async def test_an_html_body_is_provider_unavailable(hostile: Hostile, ledger_copy: Path) -> None:
    hostile.on(
        AFTERNOON_INVOICE, reply(200, "<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"})
    )
    error = assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "provider_unavailable")
    assert "not valid JSON" in str(error["message"])


async def test_a_truncated_json_body_is_provider_unavailable(hostile: Hostile, ledger_copy: Path) -> None:
    hostile.on(AFTERNOON_INVOICE, truncated(b'{"success": true, "invoice": {"id": "in', declared=400))
    assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "provider_unavailable")


async def test_a_connection_reset_is_provider_unavailable(hostile: Hostile, ledger_copy: Path) -> None:
    hostile.on(AFTERNOON_INVOICE, reset())
    assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "provider_unavailable")


async def test_a_redirect_is_not_followed_and_is_provider_unavailable(
    hostile: Hostile, ledger_copy: Path
) -> None:
    hostile.on(AFTERNOON_INVOICE, reply(302, b"", {"Location": "http://127.0.0.1:9/steal"}))
    error = assert_bounded(await get_afternoon_invoice(hostile, ledger_copy), "provider_unavailable")
    assert "302" in str(error["message"])
    assert hostile.requests == ["GET /v1/invoices/inv_1"]


# -- ids that never reach the provider ------------------------------------------------------------------


@pytest.mark.parametrize(
    "invoice_id",
    ["x" * 70_000, "inv_\ud800", "inv\x00", "   ", "inv\u202eexe"],
    ids=["70-kb", "lone-surrogate", "nul", "blank", "bidi-override"],
)
async def test_an_abusive_id_is_an_invalid_argument_naming_it_and_reaches_no_provider(
    hostile: Hostile, ledger_copy: Path, invoice_id: str
) -> None:
    name, provider, scope = afternoon(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        outcome = await while_bystanding(
            session, lambda: session.victim.call_tool("get_invoice", {"invoice_id": invoice_id})
        )
    error = assert_bounded(outcome, "invalid_argument")
    assert "invoice_id" in str(error["message"])
    assert hostile.requests == []


async def test_an_abusive_id_in_a_resource_uri_is_refused_before_the_provider(
    hostile: Hostile, ledger_copy: Path
) -> None:
    name, provider, scope = afternoon(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:
        with pytest.raises(Exception, match="invoice_id"):
            await session.victim.read_resource("invoice://afternoon/" + "x" * 500)
        contents = (await session.bystander.read_resource("invoice://local/ord_2001")).contents
    assert isinstance(contents[0], TextResourceContents)
    assert hostile.requests == []


# -- documents rendered from a provider's outsized data --------------------------------------------


async def test_pdfs_of_an_invoice_with_megabyte_descriptions_render_in_bounded_time_beside_other_sessions(
    hostile: Hostile, ledger_copy: Path
) -> None:
    line = {"description": "word " * 200_000, "quantity": 1, "total_amount_cents": 1000}
    invoice = {
        "id": "inv_1",
        "customer_id": "cus_1",
        "status": "open",
        "currency": "usd",
        "total_cents": 1000,
    }
    hostile.on(AFTERNOON_INVOICE, reply(200, {"success": True, "invoice": {**invoice, "line_items": [line]}}))
    name, provider, scope = afternoon(hostile)
    async with sessions(ledger_copy, name, provider, scope) as session:

        async def read_pdfs() -> int:
            sizes: list[int] = []

            async def read() -> None:
                contents = (await session.victim.read_resource("invoice://afternoon/inv_1/pdf")).contents
                sizes.append(len(getattr(contents[0], "blob", "")))

            async with anyio.create_task_group() as group:
                for _ in range(4):
                    group.start_soon(read)
            return min(sizes)

        outcome = await while_bystanding(session, read_pdfs)
    assert outcome.result > 0
    assert outcome.elapsed < 4 * ANSWER_BOUND and max(outcome.bystander) < BYSTANDER_BOUND, (
        outcome.elapsed,
        max(outcome.bystander),
    )
