"""The Polar emulator against the Polar seeds tests/sandbox/seeds/000_377e842cab561428.txt and tests/sandbox/seeds/001_757ee1a45c644c68.txt and the README's mid-2026 drift notes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from mcp_invoices.providers.emulation import running_app
from mcp_invoices.providers.polar.emulator import (
    POLAR_CUSTOMER_IDS,
    POLAR_CUSTOMER_SESSIONS,
    POLAR_ORDER_IDS,
    POLAR_ORGANIZATION_TOKEN,
    PolarState,
    create_app,
)
from mcp_invoices.sandbox import create_sandbox_app, sandbox_environment

ALICE = {"Authorization": f"Bearer {POLAR_CUSTOMER_SESSIONS['alice']}"}
BOB = {"Authorization": f"Bearer {POLAR_CUSTOMER_SESSIONS['bob']}"}
ORG = {"Authorization": f"Bearer {POLAR_ORGANIZATION_TOKEN}"}
ORDERS = "/v1/customer-portal/orders"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> PolarState:
    state = PolarState()
    state.controls.clock = clock
    return state


@pytest.fixture
async def client(state: PolarState) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def order_url(role: str, suffix: str = "") -> str:
    return f"{ORDERS}/{POLAR_ORDER_IDS[role]}{suffix}"


# -- seed schemas ----------------------------------------------------------------------------


async def test_invoice_url_matches_seed_customer_order_invoice(
    client: httpx2.AsyncClient, seeds: Any
) -> None:
    response = await client.get(order_url("alice_paid_generated", "/invoice"), headers=ALICE)
    assert response.status_code == 200
    seeds.assert_valid(seeds.polar["CustomerOrderInvoice"], response.json())


async def test_invoice_url_serves_a_pdf_without_credentials(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    url = (await client.get(order_url("alice_paid_generated", "/invoice"), headers=ALICE)).json()["url"]
    assert "/_files/invoices/" in url and "signature=" in url
    document = await client.get(url)
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    assert "authorization" not in state.controls.request_log[-1].headers


async def test_tampered_invoice_url_is_refused(client: httpx2.AsyncClient) -> None:
    url = (await client.get(order_url("alice_paid_generated", "/invoice"), headers=ALICE)).json()["url"]
    response = await client.get(url.replace("signature=", "signature=0"))
    assert response.status_code == 403


async def test_missing_order_is_seed_resource_not_found(client: httpx2.AsyncClient, seeds: Any) -> None:
    response = await client.get(f"{ORDERS}/00000000-0000-4000-8000-000000000000/invoice", headers=ALICE)
    assert response.status_code == 404
    assert response.json() == {"error": "ResourceNotFound", "detail": "Not found"}
    seeds.assert_valid(seeds.polar["ResourceNotFound"], response.json())


@pytest.mark.parametrize("suffix", ["", "/invoice"])
async def test_another_customers_order_is_exactly_a_missing_one(
    client: httpx2.AsyncClient, suffix: str
) -> None:
    missing = await client.get(f"{ORDERS}/00000000-0000-4000-8000-000000000000{suffix}", headers=ALICE)
    bobs = await client.get(order_url("bob_paid_generated_jpy", suffix), headers=ALICE)
    assert (bobs.status_code, bobs.content, dict(bobs.headers)) == (
        missing.status_code,
        missing.content,
        dict(missing.headers),
    )


async def test_generating_another_customers_order_is_a_404(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    response = await client.post(order_url("bob_paid_discounted", "/invoice"), headers=ALICE)
    assert response.status_code == 404
    assert state.generation_requests[POLAR_ORDER_IDS["bob_paid_discounted"]] == 0


async def test_missing_billing_details_is_seed_422(client: httpx2.AsyncClient, seeds: Any) -> None:
    for role, headers in (("alice_paid_missing_billing", ALICE), ("bob_paid_missing_address", BOB)):
        response = await client.post(order_url(role, "/invoice"), headers=headers)
        assert response.status_code == 422
        assert response.json()["error"] == "MissingInvoiceBillingDetails"
        seeds.assert_valid(seeds.polar["MissingInvoiceBillingDetails"], response.json())


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer polar_cst_nope"}, {"Authorization": "Basic x"}, ORG]
)
async def test_missing_or_invalid_session_is_401_with_bearer_challenge(
    client: httpx2.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(order_url("alice_paid_generated"), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="polar"'
    assert response.json()["error"] == "Unauthorized"
    assert isinstance(response.json()["detail"], str)


# -- orders ----------------------------------------------------------------------------------


async def test_order_has_the_documented_fields_in_minor_units(client: httpx2.AsyncClient) -> None:
    order = (await client.get(order_url("alice_paid_not_generated"), headers=ALICE)).json()
    for name in ("subtotal_amount", "discount_amount", "tax_amount", "total_amount", "due_amount"):
        assert isinstance(order[name], int)
    assert order["currency"] == "eur"
    # polar c6c3645 models/order.py Order.due_amount: the amount charged, paid or not
    assert order["total_amount"] == 7136 and order["due_amount"] == 7136
    assert order["items"] == [
        {**order["items"][0], "label": "Team seats x 3", "amount": 5997, "tax_amount": 1139}
    ]
    assert set(order["billing_address"]) == {"line1", "line2", "postal_code", "city", "state", "country"}
    assert order["is_invoice_generated"] is False
    assert order["customer_id"] == POLAR_CUSTOMER_IDS["alice"]
    assert order["status"] == "paid" and order["billing_name"] == "Alice Anders"


async def test_pending_jpy_order_is_due_in_whole_yen(client: httpx2.AsyncClient) -> None:
    order = (await client.get(order_url("alice_pending"), headers=ALICE)).json()
    assert (order["currency"], order["total_amount"], order["due_amount"], order["paid"]) == (
        "jpy",
        1500,
        1500,
        False,
    )


async def test_list_is_the_sessions_orders_paginated(client: httpx2.AsyncClient) -> None:
    first = (await client.get(f"{ORDERS}/", params={"page": 1, "limit": 5}, headers=ALICE)).json()
    second = (await client.get(f"{ORDERS}/", params={"page": 2, "limit": 5}, headers=ALICE)).json()
    assert first["pagination"] == {"total_count": 7, "max_page": 2}
    assert len(first["items"]) == 5 and len(second["items"]) == 2
    ids = [o["id"] for o in first["items"] + second["items"]]
    assert sorted(ids) == sorted(v for k, v in POLAR_ORDER_IDS.items() if k.startswith("alice"))
    created = [o["created_at"] for o in first["items"] + second["items"]]
    assert created == sorted(created, reverse=True)


async def test_list_limit_above_100_is_read_as_100_as_polar_clamps_it(client: httpx2.AsyncClient) -> None:
    # polar c6c3645 server/polar/kit/pagination.py: min(API_PAGINATION_MAX_LIMIT, limit)
    response = await client.get(f"{ORDERS}/", params={"limit": 101}, headers=ALICE)
    assert response.status_code == 200
    assert response.json()["pagination"] == {"total_count": 7, "max_page": 1}


async def test_list_limit_below_1_is_a_validation_error(client: httpx2.AsyncClient, seeds: Any) -> None:
    response = await client.get(f"{ORDERS}/", params={"limit": 0}, headers=ALICE)
    assert response.status_code == 422
    assert response.json()["error"] == "RequestValidationError"
    seeds.assert_valid(seeds.polar["HTTPValidationError"], response.json())


async def test_customer_without_orders_gets_an_empty_list(client: httpx2.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {POLAR_CUSTOMER_SESSIONS['carol']}"}
    body = (await client.get(f"{ORDERS}/", headers=headers)).json()
    assert body == {"items": [], "pagination": {"total_count": 0, "max_page": 0}}


async def test_extra_invoices_page_through_in_hundreds(clock: FakeClock) -> None:
    state = PolarState(extra_invoices=250)
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        pages = [
            (await client.get(f"{ORDERS}/", params={"page": p, "limit": 100}, headers=ALICE)).json()
            for p in (1, 2, 3)
        ]
    assert pages[0]["pagination"] == {"total_count": 257, "max_page": 3}
    assert [len(p["items"]) for p in pages] == [100, 100, 57]
    assert len({o["id"] for p in pages for o in p["items"]}) == 257


async def test_malformed_order_id_is_a_validation_error(client: httpx2.AsyncClient, seeds: Any) -> None:
    response = await client.get(f"{ORDERS}/not-a-uuid/invoice", headers=ALICE)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]
    seeds.assert_valid(seeds.polar["HTTPValidationError"], response.json())


# -- generation ------------------------------------------------------------------------------


async def test_generate_is_202_with_null_and_ready_after_the_delay(
    client: httpx2.AsyncClient, state: PolarState, clock: FakeClock
) -> None:
    before = await client.get(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    assert before.status_code == 404
    assert before.json() == {"error": "InvoiceDoesNotExist", "detail": before.json()["detail"]}

    accepted = await client.post(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    assert accepted.status_code == 202
    assert accepted.headers["content-type"] == "application/json"
    assert accepted.content == b"null"

    clock.advance(state.generation_delay - 0.01)
    assert (
        await client.get(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    ).status_code == 404
    order = (await client.get(order_url("alice_paid_not_generated"), headers=ALICE)).json()
    assert order["is_invoice_generated"] is False

    clock.advance(0.02)
    assert (
        await client.get(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    ).status_code == 200
    order = (await client.get(order_url("alice_paid_not_generated"), headers=ALICE)).json()
    assert order["is_invoice_generated"] is True


async def test_zero_generation_delay_makes_the_invoice_exist_at_once(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    state.generation_delay = 0
    await client.post(order_url("alice_refunded", "/invoice"), headers=ALICE)
    assert (await client.get(order_url("alice_refunded", "/invoice"), headers=ALICE)).status_code == 200


async def test_generation_requests_are_counted_per_order(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    await client.post(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    await client.post(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    assert state.generation_requests[POLAR_ORDER_IDS["alice_paid_not_generated"]] == 2
    assert state.generation_requests[POLAR_ORDER_IDS["alice_paid_generated"]] == 0


@pytest.mark.parametrize("role", ["alice_draft", "alice_void"])
async def test_draft_and_void_orders_are_409_not_eligible(
    client: httpx2.AsyncClient, state: PolarState, role: str
) -> None:
    response = await client.post(order_url(role, "/invoice"), headers=ALICE)
    assert response.status_code == 409
    assert response.json()["error"] == "OrderNotEligibleForInvoice"
    assert state.generation_requests[POLAR_ORDER_IDS[role]] == 0


async def test_legacy_switch_answers_the_seeds_not_paid_422(
    client: httpx2.AsyncClient, state: PolarState, seeds: Any
) -> None:
    state.legacy_not_paid_422 = True
    response = await client.post(order_url("alice_pending", "/invoice"), headers=ALICE)
    assert response.status_code == 422
    assert response.json()["error"] == "NotPaidOrder"
    seeds.assert_valid(seeds.polar["NotPaidOrder"], response.json())


async def test_legacy_switch_answers_resource_not_found_before_generation(
    client: httpx2.AsyncClient, state: PolarState, seeds: Any
) -> None:
    state.legacy_invoice_not_found = True
    response = await client.get(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    assert response.status_code == 404
    seeds.assert_valid(seeds.polar["ResourceNotFound"], response.json())


async def test_patching_billing_details_makes_the_order_eligible(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    state.generation_delay = 0
    address = {
        "line1": "9 Patch Road",
        "line2": None,
        "postal_code": "1010",
        "city": "Vienna",
        "state": None,
        "country": "AT",
    }
    patched = await client.patch(
        order_url("alice_paid_missing_billing"),
        headers=ALICE,
        json={"billing_name": "Alice A.", "billing_address": address},
    )
    assert patched.status_code == 200
    assert patched.json()["billing_name"] == "Alice A." and patched.json()["billing_address"] == address
    assert (
        await client.post(order_url("alice_paid_missing_billing", "/invoice"), headers=ALICE)
    ).status_code == 202


async def test_a_pending_order_is_accepted_for_an_invoice(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    response = await client.post(order_url("alice_pending", "/invoice"), headers=ALICE)
    assert response.status_code == 202 and response.json() is None
    assert state.generation_requests[POLAR_ORDER_IDS["alice_pending"]] == 1


async def test_an_invoiced_orders_billing_details_can_still_be_patched(client: httpx2.AsyncClient) -> None:
    response = await client.patch(
        order_url("alice_paid_generated"), headers=ALICE, json={"billing_name": "Alice Anders GmbH"}
    )
    assert response.status_code == 200 and response.json()["billing_name"] == "Alice Anders GmbH"


async def test_posting_on_an_existing_invoice_is_202_and_regenerates_it_when_its_details_changed(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    order_id = POLAR_ORDER_IDS["alice_paid_not_generated"]
    assert (
        await client.post(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    ).status_code == 202
    state.orders[order_id].invoice_ready_at = float("-inf")
    assert (
        await client.post(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    ).status_code == 202
    assert state.regenerations[order_id] == 0  # same details: nothing to regenerate
    await client.patch(
        order_url("alice_paid_not_generated"), headers=ALICE, json={"billing_name": "A. Anders"}
    )
    assert (
        await client.post(order_url("alice_paid_not_generated", "/invoice"), headers=ALICE)
    ).status_code == 202
    assert state.regenerations[order_id] == 1


@pytest.mark.parametrize(
    ("address", "locked"),
    [
        ({"line1": "1 Rue", "city": "Paris", "postal_code": "75001", "country": "FR"}, ["country"]),
        ({"line1": "1 Sandbox Street", "city": "Berlin", "country": "DE", "state": "BE"}, ["state"]),
    ],
)
async def test_changing_an_addresss_country_or_state_is_422_cannot_be_changed(
    client: httpx2.AsyncClient, address: dict[str, str], locked: list[str]
) -> None:
    response = await client.patch(
        order_url("alice_paid_not_generated"), headers=ALICE, json={"billing_address": address}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "PolarRequestValidationError"
    assert [(error["loc"][-1], error["msg"]) for error in body["detail"]] == [
        (field, f"{field.capitalize()} cannot be changed") for field in locked
    ]


async def test_the_same_country_and_state_with_new_lines_is_accepted(client: httpx2.AsyncClient) -> None:
    address = {"line1": "2 Sandbox Street", "city": "Berlin", "postal_code": "10117", "country": "DE"}
    response = await client.patch(
        order_url("alice_paid_not_generated"), headers=ALICE, json={"billing_address": address}
    )
    assert response.status_code == 200 and response.json()["billing_address"]["line1"] == "2 Sandbox Street"


async def test_an_order_without_billing_name_or_address_is_422_missing_billing_details(
    client: httpx2.AsyncClient,
) -> None:
    response = await client.post(order_url("alice_paid_missing_billing", "/invoice"), headers=ALICE)
    assert (response.status_code, response.json()["error"]) == (422, "MissingInvoiceBillingDetails")


# -- API versions ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["2026-04", "2026-10"])
async def test_a_served_api_version_is_echoed(client: httpx2.AsyncClient, version: str) -> None:
    response = await client.get(
        order_url("alice_paid_generated"), headers={**ALICE, "Polar-Version": version}
    )
    assert response.status_code == 200 and response.headers["polar-version"] == version


async def test_no_version_header_is_the_default_2026_04(client: httpx2.AsyncClient) -> None:
    response = await client.get(order_url("alice_paid_generated"), headers=ALICE)
    assert response.headers["polar-version"] == "2026-04"


@pytest.mark.parametrize("version", ["2027-01", "2025-01", "latest"])
async def test_an_unserved_api_version_is_a_bare_404(client: httpx2.AsyncClient, version: str) -> None:
    response = await client.get(
        order_url("alice_paid_generated"), headers={**ALICE, "Polar-Version": version}
    )
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


# -- customer sessions -----------------------------------------------------------------------


async def test_organisation_token_mints_a_customer_session(
    client: httpx2.AsyncClient, state: PolarState, clock: FakeClock
) -> None:
    response = await client.post(
        "/v1/customer-sessions/", headers=ORG, json={"customer_id": POLAR_CUSTOMER_IDS["bob"]}
    )
    assert response.status_code == 201
    session = response.json()
    assert session["token"].startswith("polar_cst_")
    assert session["customer_id"] == POLAR_CUSTOMER_IDS["bob"]
    assert session["expires_at"].endswith("Z")
    minted = {"Authorization": f"Bearer {session['token']}"}
    assert (await client.get(order_url("bob_pending"), headers=minted)).status_code == 200
    assert (await client.get(order_url("alice_pending"), headers=minted)).status_code == 404
    clock.advance(state.session_ttl)
    assert (await client.get(order_url("bob_pending"), headers=minted)).status_code == 401


async def test_minting_for_an_unknown_customer_is_a_422(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/customer-sessions/", headers=ORG, json={"customer_id": "00000000-0000-4000-8000-000000000000"}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "RequestValidationError"
    assert response.json()["detail"][0]["loc"] == ["body", "customer_id"]


async def test_minting_needs_the_organisation_token(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/v1/customer-sessions/", headers=ALICE, json={"customer_id": POLAR_CUSTOMER_IDS["alice"]}
    )
    assert response.status_code == 401


# -- controls --------------------------------------------------------------------------------


async def test_fail_next_answers_polar_shaped_errors_then_recovers(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    state.controls.fail_next = [503, 503]
    statuses = [(await client.get(order_url("alice_pending"), headers=ALICE)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    state.controls.fail_next = [500]
    body = (await client.get(order_url("alice_pending"), headers=ALICE)).json()
    assert set(body) == {"error", "detail"}


async def test_forced_429_carries_retry_after(client: httpx2.AsyncClient, state: PolarState) -> None:
    state.controls.force_429_next = 1
    state.controls.retry_after = 7
    response = await client.get(order_url("alice_pending"), headers=ALICE)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"] == "TooManyRequests"


async def test_rate_limit_refuses_past_the_bucket_and_refills_with_time(
    client: httpx2.AsyncClient, state: PolarState, clock: FakeClock
) -> None:
    state.controls.rate_limit_per_minute = 2
    statuses = [(await client.get(order_url("alice_pending"), headers=ALICE)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = await client.get(order_url("alice_pending"), headers=ALICE)
    assert int(refused.headers["retry-after"]) == 30
    clock.advance(30)
    assert (await client.get(order_url("alice_pending"), headers=ALICE)).status_code == 200


async def test_malformed_next_sends_an_unparseable_body(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    state.controls.malformed_next = 1
    response = await client.get(order_url("alice_pending"), headers=ALICE)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert (await client.get(order_url("alice_pending"), headers=ALICE)).json()["id"]


async def test_request_log_records_the_headers_received(
    client: httpx2.AsyncClient, state: PolarState
) -> None:
    await client.get(order_url("alice_pending"), headers={**ALICE, "X-Trace": "t1"})
    entry = state.controls.request_log[-1]
    assert (entry.method, entry.path, entry.status) == ("GET", order_url("alice_pending"), 200)
    assert entry.headers["authorization"] == ALICE["Authorization"]
    assert entry.headers["x-trace"] == "t1"


# -- over real HTTP --------------------------------------------------------------------------


async def test_over_http_the_invoice_url_carries_the_mount_prefix() -> None:
    async with running_app(create_sandbox_app()) as base_url:
        env = sandbox_environment(base_url, "alice")
        headers = {"Authorization": f"Bearer {env['POLAR_CUSTOMER_SESSION']}"}
        async with httpx2.AsyncClient(base_url=env["POLAR_BASE_URL"]) as client:
            url = (await client.get(order_url("alice_paid_generated", "/invoice"), headers=headers)).json()[
                "url"
            ]
            assert url.startswith(f"{base_url}/polar/_files/invoices/")
            document = await client.get(url)
    assert document.status_code == 200 and document.content.startswith(b"%PDF-")
