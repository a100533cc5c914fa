"""The Payabli emulator against seed tests/sandbox/seeds/004_4e68ac3de9a066ab.txt (flattened YAML) and the README's notes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from mcp_invoices.providers.emulation import running_app
from mcp_invoices.providers.payabli.emulator import (
    PAYABLI_API_TOKEN,
    PAYABLI_ENTRY,
    PAYABLI_INVOICE_IDS,
    PayabliState,
    create_app,
)
from mcp_invoices.sandbox import create_sandbox_app, sandbox_environment

TOKEN = {"requestToken": PAYABLI_API_TOKEN}
QUERY = f"/api/Query/invoices/{PAYABLI_ENTRY}"


@pytest.fixture
def state() -> PayabliState:
    return PayabliState()


@pytest.fixture
async def client(state: PayabliState) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def invoice_url(role: str) -> str:
    return f"/api/Invoice/{PAYABLI_INVOICE_IDS[role]}"


def assert_error_shape(body: Any) -> None:
    # payabli 1.0.19 types/payabli_error_body.py
    assert set(body) == {"isSuccess", "responseCode", "responseText", "responseData"}
    assert body["isSuccess"] is False and isinstance(body["responseText"], str)
    assert body["responseCode"] is None or isinstance(body["responseCode"], int)


# -- the seed's schema -----------------------------------------------------------------------


def test_flattened_seed_yaml_does_not_parse_so_a_transcription_is_used(seeds: Any) -> None:
    # If a future seed arrives intact, validate against it directly instead of the transcription.
    assert seeds.payabli_openapi_if_parseable() is None


def test_payabli_transcription_matches_flattened_seed(seeds: Any) -> None:
    schema = seeds.payabli_invoice_record
    assert schema["required"] == seeds.payabli_required_list("type_invoice:GetInvoiceRecord")
    assert schema["properties"]["Customer"]["required"] == seeds.payabli_required_list(
        "type_:PayorDataResponse"
    )
    scalar_types = seeds.payabli_scalar_types()
    checked = 0
    for name, ref in seeds.payabli_property_refs("type_invoice:GetInvoiceRecord").items():
        if ref not in scalar_types:
            continue
        transcribed = schema["properties"][name]["type"]
        transcribed = transcribed[0] if isinstance(transcribed, list) else transcribed
        assert transcribed == scalar_types[ref][0], name
        checked += 1
    assert checked >= 30


@pytest.mark.parametrize("role", sorted(PAYABLI_INVOICE_IDS))
async def test_every_seeded_invoice_is_a_get_invoice_record(
    client: httpx2.AsyncClient, seeds: Any, role: str
) -> None:
    response = await client.get(invoice_url(role), headers=TOKEN)
    assert response.status_code == 200
    seeds.assert_valid(seeds.payabli_invoice_record, seeds.decimal_json(response))


async def test_amounts_are_major_unit_numbers_with_their_digits(
    client: httpx2.AsyncClient, seeds: Any
) -> None:
    trap = await client.get(invoice_url("alice_open_float_trap"), headers=TOKEN)
    record = seeds.decimal_json(trap)
    assert [i["itemCost"] for i in record["items"]] == [Decimal("0.1"), Decimal("0.2")]
    assert record["invoiceAmount"] == Decimal("0.3") and b'"invoiceAmount": 0.3,' in trap.content
    paid = seeds.decimal_json(await client.get(invoice_url("alice_paid"), headers=TOKEN))
    assert (paid["invoiceStatus"], paid["invoiceAmount"], paid["invoicePaidAmount"]) == (
        4,
        Decimal("110.00"),
        Decimal("110.00"),
    )
    assert paid["items"][0]["itemTaxRate"] == Decimal("8.875")


async def test_statuses_cover_the_documented_codes(client: httpx2.AsyncClient) -> None:
    statuses = {
        (await client.get(f"/api/Invoice/{i}", headers=TOKEN)).json()["invoiceStatus"]
        for i in PAYABLI_INVOICE_IDS.values()
    }
    assert statuses == {0, 1, 2, 4, 99}


async def test_the_token_is_organisation_wide(client: httpx2.AsyncClient) -> None:
    # The emulator scopes nothing: enforcing PAYABLI_CUSTOMER_ID is the server's job.
    bobs = (await client.get(invoice_url("bob_open"), headers=TOKEN)).json()
    assert bobs["customerId"] == 1002


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"requestToken": "wrong"}, {"Authorization": f"Bearer {PAYABLI_API_TOKEN}"}]
)
async def test_missing_or_wrong_request_token_is_401(
    client: httpx2.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(invoice_url("alice_paid"), headers=headers)
    assert response.status_code == 401
    assert_error_shape(response.json())


async def test_missing_invoice_is_400_by_default(client: httpx2.AsyncClient, state: PayabliState) -> None:
    response = await client.get("/api/Invoice/1", headers=TOKEN)
    assert response.status_code == 400
    assert_error_shape(response.json())
    # Recognisable by its code (3003, invalid parameter value), not by its wording.
    assert response.json()["responseCode"] == 3003
    assert "not found" not in response.json()["responseText"].lower()
    state.not_found_status = 404
    assert (await client.get("/api/Invoice/1", headers=TOKEN)).status_code == 404


async def test_non_integer_id_is_400(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/Invoice/abc", headers=TOKEN)
    assert response.status_code == 400
    assert_error_shape(response.json())


@pytest.mark.parametrize("status", [400, 401, 500, 503])
async def test_injected_failures_use_the_payabli_error_shape(
    client: httpx2.AsyncClient, state: PayabliState, status: int
) -> None:
    state.controls.fail_next = [status]
    response = await client.get(invoice_url("alice_paid"), headers=TOKEN)
    assert response.status_code == status
    assert_error_shape(response.json())


async def test_forced_429_has_retry_after(client: httpx2.AsyncClient, state: PayabliState) -> None:
    state.controls.force_429_next = 2
    statuses = [(await client.get(invoice_url("alice_paid"), headers=TOKEN)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["retry-after"] == "1"


async def test_truncated_json(client: httpx2.AsyncClient, state: PayabliState) -> None:
    state.controls.malformed_next = 1
    response = await client.get(invoice_url("alice_paid"), headers=TOKEN)
    with pytest.raises(ValueError):
        response.json()


# -- query -----------------------------------------------------------------------------------


async def test_query_filters_by_customer_with_raw_keys(client: httpx2.AsyncClient, seeds: Any) -> None:
    response = await client.get(QUERY, params={"customerId(eq)": 1001, "limitRecord": 100}, headers=TOKEN)
    body = seeds.decimal_json(response)
    assert {r["customerId"] for r in body["Records"]} == {1001}
    assert body["Summary"]["totalRecords"] == 6
    assert body["Summary"]["totalAmount"] == sum(r["invoiceAmount"] for r in body["Records"])
    for record in body["Records"]:
        seeds.assert_valid(seeds.payabli_invoice_record, record)


async def test_query_pages_with_from_and_limit_record(client: httpx2.AsyncClient) -> None:
    params: dict[str, Any] = {"customerId(eq)": "1001", "limitRecord": 4}
    first = (await client.get(QUERY, params={**params, "fromRecord": 0}, headers=TOKEN)).json()
    second = (await client.get(QUERY, params={**params, "fromRecord": 4}, headers=TOKEN)).json()
    assert (len(first["Records"]), len(second["Records"])) == (4, 2)
    assert first["Summary"]["totalPages"] == 2 and first["Summary"]["pageSize"] == 4
    ids = [r["invoiceId"] for r in first["Records"] + second["Records"]]
    assert sorted(ids) == sorted(v for k, v in PAYABLI_INVOICE_IDS.items() if k.startswith("alice"))


async def test_query_filters_by_status_and_date(client: httpx2.AsyncClient) -> None:
    open_ones = (
        await client.get(QUERY, params={"customerId(eq)": 1001, "status(eq)": 1}, headers=TOKEN)
    ).json()
    assert {r["invoiceStatus"] for r in open_ones["Records"]} == {1} and len(open_ones["Records"]) == 2
    in_range = (
        await client.get(
            QUERY,
            params={"customerId(eq)": 1001, "invoiceDate(ge)": "2026-02-01", "invoiceDate(le)": "2026-03-31"},
            headers=TOKEN,
        )
    ).json()
    assert sorted(r["invoiceDate"] for r in in_range["Records"]) == ["2026-02-05", "2026-03-05"]


async def test_query_filters_by_the_documented_due_date_and_number_keys(client: httpx2.AsyncClient) -> None:
    due = (
        await client.get(QUERY, params={"customerId(eq)": 1001, "dueDate(lt)": "2026-06-01"}, headers=TOKEN)
    ).json()
    assert sorted(r["invoiceDueDate"] for r in due["Records"]) == ["2026-01-31", "2026-02-04", "2026-05-15"]
    number = (await client.get(QUERY, params={"invoiceNumber(eq)": "INV-1001-0006"}, headers=TOKEN)).json()
    assert [r["invoiceNumber"] for r in number["Records"]] == ["INV-1001-0006"]


@pytest.mark.parametrize("key", ["invoiceStatus(eq)", "invoiceDueDate(lt)", "invoiceNumber(in)"])
async def test_query_ignores_filter_keys_payabli_does_not_document(
    client: httpx2.AsyncClient, key: str
) -> None:
    body = (await client.get(QUERY, params={key: "1", "limitRecord": 0}, headers=TOKEN)).json()
    assert len(body["Records"]) == 10


async def test_query_can_refuse_unknown_filters_or_ignore_every_filter(
    client: httpx2.AsyncClient, state: PayabliState
) -> None:
    state.filters = "reject_unknown"
    refused = await client.get(QUERY, params={"invoiceStatus(eq)": 1}, headers=TOKEN)
    assert refused.status_code == 400
    assert_error_shape(refused.json())
    state.filters = "ignore"
    body = (await client.get(QUERY, params={"customerId(eq)": 1001, "limitRecord": 0}, headers=TOKEN)).json()
    assert len(body["Records"]) == 10


async def test_query_records_carry_a_date_sent_date_and_the_parent_org(client: httpx2.AsyncClient) -> None:
    body = (await client.get(QUERY, params={"customerId(eq)": 1001, "limitRecord": 0}, headers=TOKEN)).json()
    sent = {r["invoiceNumber"]: r["invoiceSentDate"] for r in body["Records"]}
    assert sent["INV-1001-0001"] == "2026-01-05" and all(
        isinstance(r["ParentOrgId"], int) for r in body["Records"]
    )
    single = (await client.get(invoice_url("alice_paid"), headers=TOKEN)).json()
    assert single["invoiceSentDate"] == "2026-01-05T10:00:00Z"


async def test_query_ignores_unknown_filters(client: httpx2.AsyncClient) -> None:
    # A misspelt customer filter scopes nothing, as with Payabli: the server must filter itself.
    body = (await client.get(QUERY, params={"customerid(eq)": 1001, "limitRecord": 0}, headers=TOKEN)).json()
    assert {r["customerId"] for r in body["Records"]} == {1001, 1002}


async def test_query_for_another_entry_is_400(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/Query/invoices/other-entry", headers=TOKEN)
    assert response.status_code == 400
    assert_error_shape(response.json())


async def test_extra_invoices_sum_exactly() -> None:
    state = PayabliState(extra_invoices=300)
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        records: list[Any] = []
        summary: Any = None
        while summary is None or len(records) < summary["totalRecords"]:
            response = await client.get(
                QUERY,
                params={"customerId(eq)": 1001, "fromRecord": len(records), "limitRecord": 100},
                headers=TOKEN,
            )
            body = response.json(parse_float=Decimal)
            summary = body["Summary"]
            records += body["Records"]
    assert len(records) == 306 == len({r["invoiceId"] for r in records})
    assert summary["totalAmount"] == sum(r["invoiceAmount"] for r in records)


# -- PDF -------------------------------------------------------------------------------------


async def test_export_pdf_is_a_json_file_object_with_the_pdf_in_base64(client: httpx2.AsyncClient) -> None:
    response = await client.get(f"/api/Export/invoicePdf/{PAYABLI_INVOICE_IDS['alice_paid']}", headers=TOKEN)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"fContent", "filename", "ftype", "furl"} and body["ftype"] == "pdf"
    assert base64.b64decode(body["fContent"], validate=True).startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("mode", "content_type"),
    [("empty", "application/json"), ("html", "text/html"), ("pdf", "application/pdf")],
)
async def test_export_pdf_can_answer_something_else(
    client: httpx2.AsyncClient, state: PayabliState, mode: Any, content_type: str
) -> None:
    state.pdf_export = mode
    response = await client.get(f"/api/Export/invoicePdf/{PAYABLI_INVOICE_IDS['alice_paid']}", headers=TOKEN)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert response.content.startswith(b"%PDF-") is (mode == "pdf")


# -- over real HTTP --------------------------------------------------------------------------


async def test_over_http_the_base_url_ends_in_api() -> None:
    async with running_app(create_sandbox_app()) as base_url:
        env = sandbox_environment(base_url, "bob")
        assert env["PAYABLI_BASE_URL"] == f"{base_url}/payabli/api"
        async with httpx2.AsyncClient() as client:
            response = await client.get(
                f"{env['PAYABLI_BASE_URL']}/Query/invoices/{env['PAYABLI_ENTRY']}",
                params={"customerId(eq)": env["PAYABLI_CUSTOMER_ID"]},
                headers={"requestToken": env["PAYABLI_API_TOKEN"]},
            )
    assert response.status_code == 200
    assert {r["customerId"] for r in response.json()["Records"]} == {1002}
