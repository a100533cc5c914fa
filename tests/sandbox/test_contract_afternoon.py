"""The Afternoon emulator against seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt, Afternoon's reference pages and the README's notes.

Where the reference is silent the emulator is deliberately the harsh case (see its module docstring);
those choices are pinned here too, each next to the documented behaviour it departs from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from mcp_invoices.providers.afternoon.emulator import (
    AFTERNOON_API_KEY,
    AFTERNOON_INVOICE_IDS,
    AFTERNOON_REVOKED_API_KEY,
    AfternoonState,
    create_app,
)
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.sandbox import create_sandbox_app, sandbox_environment

KEY = {"Authorization": f"Bearer {AFTERNOON_API_KEY}"}


@pytest.fixture
def state() -> AfternoonState:
    return AfternoonState()


@pytest.fixture
async def client(state: AfternoonState) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def invoice_url(role: str) -> str:
    return f"/v1/invoices/{AFTERNOON_INVOICE_IDS[role]}"


# -- seed schemas ----------------------------------------------------------------------------


UNKNOWN_STATUS_ROLES = {"bob_past_due"}
"""Seeded on purpose with a status seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's enum does not list (a status added later)."""


@pytest.mark.parametrize("role", sorted(set(AFTERNOON_INVOICE_IDS) - UNKNOWN_STATUS_ROLES))
async def test_every_seeded_invoice_matches_seed_invoice_response(
    client: httpx2.AsyncClient, seeds: Any, role: str
) -> None:
    response = await client.get(invoice_url(role), headers=KEY)
    assert response.status_code == 200
    body = response.json()
    seeds.assert_valid(seeds.afternoon["InvoiceResponse"], body)
    assert body["success"] is True and body["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize("role", sorted(UNKNOWN_STATUS_ROLES))
async def test_the_unknown_status_invoice_departs_from_seed_002_in_its_status_only(
    client: httpx2.AsyncClient, seeds: Any, role: str
) -> None:
    body = (await client.get(invoice_url(role), headers=KEY)).json()
    assert body["invoice"]["status"] not in seeds.afternoon["InvoiceStatus"]["enum"]
    body["invoice"]["status"] = "open"
    seeds.assert_valid(seeds.afternoon["InvoiceResponse"], body)


async def test_invoice_fields_are_exactly_the_seeds(client: httpx2.AsyncClient, seeds: Any) -> None:
    invoice = (await client.get(invoice_url("alice_paid"), headers=KEY)).json()["invoice"]
    schema = seeds.afternoon["Invoice"]
    assert list(invoice) == list(schema["properties"])
    assert list(invoice["line_items"][0]) == list(schema["properties"]["line_items"]["items"]["properties"])


async def test_amounts_are_integer_cents_and_the_total_is_as_stated(client: httpx2.AsyncClient) -> None:
    invoice = (await client.get(invoice_url("alice_open_eur"), headers=KEY)).json()["invoice"]
    assert (
        invoice["currency"],
        invoice["subtotal_cents"],
        invoice["discount_cents"],
        invoice["tax_cents"],
        invoice["total_cents"],
    ) == ("eur", 25600, 2500, 1900, 25000)
    jpy = (await client.get(invoice_url("alice_uncollectible_jpy"), headers=KEY)).json()["invoice"]
    assert (jpy["currency"], jpy["total_cents"]) == ("jpy", 1500)


async def test_missing_invoice_is_seed_error_response(client: httpx2.AsyncClient, seeds: Any) -> None:
    response = await client.get("/v1/invoices/cmnope", headers=KEY)
    assert response.status_code == 404
    body = response.json()
    seeds.assert_valid(seeds.afternoon["ErrorResponse"], body)
    assert body["success"] is False and body["error"]["code"] == "NOT_FOUND"


async def test_the_key_is_company_wide(client: httpx2.AsyncClient) -> None:
    # The emulator scopes nothing: enforcing AFTERNOON_CUSTOMER_ID is the server's job.
    bobs = (await client.get(invoice_url("bob_open"), headers=KEY)).json()["invoice"]
    alices = (await client.get(invoice_url("alice_paid"), headers=KEY)).json()["invoice"]
    assert (bobs["customer_id"], alices["customer_id"]) == ("cus_bob", "cus_alice")


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "UNAUTHORIZED"),
        ({"Authorization": AFTERNOON_API_KEY}, "UNAUTHORIZED"),
        ({"Authorization": "Bearer ak_test_wrong"}, "INVALID_API_KEY"),
        ({"Authorization": f"Bearer {AFTERNOON_REVOKED_API_KEY}"}, "API_KEY_REVOKED"),
    ],
)
async def test_auth_failures_are_401_with_their_codes(
    client: httpx2.AsyncClient, seeds: Any, headers: dict[str, str], code: str
) -> None:
    response = await client.get(invoice_url("alice_paid"), headers=headers)
    assert response.status_code == 401
    seeds.assert_valid(seeds.afternoon["ErrorResponse"], response.json())
    assert response.json()["error"]["code"] == code


# -- list ------------------------------------------------------------------------------------


async def test_list_pages_with_an_opaque_cursor(client: httpx2.AsyncClient, seeds: Any) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"customer_id": "cus_alice", "limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/v1/invoices", params=params, headers=KEY)).json()
        # …/subscriptions/list's envelope: {success, <items>, pagination: object, request_id}
        assert set(body) == {"success", "invoices", "pagination", "request_id"}
        assert set(body["pagination"]) == {"has_more", "next_cursor"}
        for invoice in body["invoices"]:
            seeds.assert_valid(seeds.afternoon["Invoice"], invoice)
        seen += [i["id"] for i in body["invoices"]]
        pages += 1
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["next_cursor"] is None
            break
        cursor = body["pagination"]["next_cursor"]
        assert cursor not in seen
    assert pages == 2
    assert sorted(seen) == sorted(v for k, v in AFTERNOON_INVOICE_IDS.items() if k.startswith("alice"))


async def test_the_status_filter_is_ignored_by_default_the_harsh_case(client: httpx2.AsyncClient) -> None:
    body = (
        await client.get("/v1/invoices", params={"customer_id": "cus_alice", "status": "open"}, headers=KEY)
    ).json()
    assert len({i["status"] for i in body["invoices"]}) > 1


async def test_the_status_filter_can_be_honoured(client: httpx2.AsyncClient, state: AfternoonState) -> None:
    state.honours_status_filter = True
    body = (
        await client.get("/v1/invoices", params={"customer_id": "cus_alice", "status": "open"}, headers=KEY)
    ).json()
    assert {i["status"] for i in body["invoices"]} == {"open"} and len(body["invoices"]) == 2


async def test_the_page_size_is_50_by_default_and_capped_below_it(client: httpx2.AsyncClient) -> None:
    state = AfternoonState(extra_invoices=120)
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as raw:
        for params in ({}, {"limit": 50}, {"limit": 100}):
            body = (
                await raw.get("/v1/invoices", params={"customer_id": "cus_alice", **params}, headers=KEY)
            ).json()
            assert len(body["invoices"]) == state.page_size_cap == 40
        state.page_size_cap = 1000
        body = (await raw.get("/v1/invoices", params={"customer_id": "cus_alice"}, headers=KEY)).json()
        assert len(body["invoices"]) == 50  # docs.afternoon.co …/invoices/list: limit default "50"


async def test_list_without_customer_spans_every_customer(client: httpx2.AsyncClient) -> None:
    body = (await client.get("/v1/invoices", params={"limit": 100}, headers=KEY)).json()
    assert {i["customer_id"] for i in body["invoices"]} == {"cus_alice", "cus_bob"}


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": "many"}, {"status": "late"}, {"cursor": "garbage"}]
)
async def test_bad_list_parameters_are_validation_errors(
    client: httpx2.AsyncClient, seeds: Any, state: AfternoonState, params: dict[str, Any]
) -> None:
    state.honours_status_filter = True  # an ignored filter is not validated either
    response = await client.get("/v1/invoices", params=params, headers=KEY)
    assert response.status_code == 400
    seeds.assert_valid(seeds.afternoon["ErrorResponse"], response.json())
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_extra_invoices_list_completely() -> None:
    state = AfternoonState(extra_invoices=230)
    transport = httpx2.ASGITransport(app=create_app(state))
    ids: list[str] = []
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        params: dict[str, Any] = {"customer_id": "cus_alice", "limit": 100}
        while True:
            body = (await client.get("/v1/invoices", params=params, headers=KEY)).json()
            ids += [i["id"] for i in body["invoices"]]
            if not body["pagination"]["has_more"]:
                break
            params["cursor"] = body["pagination"]["next_cursor"]
    assert len(ids) == len(set(ids)) == 236


# -- rate limits and controls ----------------------------------------------------------------


async def test_rate_limit_headers_count_down(client: httpx2.AsyncClient) -> None:
    first = await client.get(invoice_url("alice_paid"), headers=KEY)
    second = await client.get(invoice_url("alice_paid"), headers=KEY)
    assert first.headers["x-ratelimit-limit"] == "1000"
    assert int(second.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1
    assert "x-ratelimit-reset" in first.headers


async def test_rate_limited_is_429_with_retry_after_and_error_body(
    client: httpx2.AsyncClient, state: AfternoonState, seeds: Any
) -> None:
    state.controls.rate_limit_per_minute = 1
    assert (await client.get(invoice_url("alice_paid"), headers=KEY)).status_code == 200
    refused = await client.get(invoice_url("alice_paid"), headers=KEY)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining"] == "0"
    seeds.assert_valid(seeds.afternoon["ErrorResponse"], refused.json())
    assert refused.json()["error"]["code"] == "RATE_LIMITED"


async def test_fail_next_uses_the_error_envelope(
    client: httpx2.AsyncClient, state: AfternoonState, seeds: Any
) -> None:
    state.controls.fail_next = [500, 503]
    first = await client.get(invoice_url("alice_paid"), headers=KEY)
    second = await client.get(invoice_url("alice_paid"), headers=KEY)
    assert (first.status_code, second.status_code) == (500, 503)
    seeds.assert_valid(seeds.afternoon["ErrorResponse"], first.json())
    assert (await client.get(invoice_url("alice_paid"), headers=KEY)).status_code == 200


async def test_wrong_shape_is_valid_json_without_the_envelope(
    client: httpx2.AsyncClient, state: AfternoonState
) -> None:
    state.controls.malformed_next = 1
    state.controls.malformed_kind = "wrong_shape"
    body = (await client.get(invoice_url("alice_paid"), headers=KEY)).json()
    assert "invoice" not in body


# -- over real HTTP --------------------------------------------------------------------------


async def test_over_http_with_the_sandbox_environment() -> None:
    async with running_app(create_sandbox_app()) as base_url:
        env = sandbox_environment(base_url, "bob")
        async with httpx2.AsyncClient(base_url=env["AFTERNOON_BASE_URL"]) as client:
            response = await client.get(
                "/v1/invoices",
                params={"customer_id": env["AFTERNOON_CUSTOMER_ID"]},
                headers={"Authorization": f"Bearer {env['AFTERNOON_API_KEY']}"},
            )
    assert response.status_code == 200
    assert {i["customer_id"] for i in response.json()["invoices"]} == {"cus_bob"}
