"""The Bagisto emulator against seed 003 and the README's notes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from mcp_invoices.sandbox import create_sandbox_app, sandbox_environment
from mcp_invoices.sandbox.bagisto import (
    BAGISTO_CREDENTIALS,
    BAGISTO_CUSTOMER_TOKENS,
    BAGISTO_INVOICE_IDS,
    BAGISTO_STOREFRONT_KEY,
    BagistoState,
    create_app,
)
from mcp_invoices.sandbox.common import running_app

STOREFRONT = {"X-STOREFRONT-KEY": BAGISTO_STOREFRONT_KEY}
ALICE = {**STOREFRONT, "Authorization": f"Bearer {BAGISTO_CUSTOMER_TOKENS['alice']}"}
BOB = {**STOREFRONT, "Authorization": f"Bearer {BAGISTO_CUSTOMER_TOKENS['bob']}"}
INVOICES = "/api/shop/customer-invoices"


@pytest.fixture
def state() -> BagistoState:
    return BagistoState()


@pytest.fixture
async def client(state: BagistoState) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


# -- seed shape ------------------------------------------------------------------------------


async def test_alices_first_invoice_is_the_seed_example_verbatim(
    client: httpx2.AsyncClient, seeds: Any
) -> None:
    response = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert response.status_code == 200
    assert seeds.decimal_json(response) == seeds.bagisto_seed_example()
    assert b'"grandTotal": 110.00' in response.content


@pytest.mark.parametrize("embed", [False, True])
async def test_every_invoice_matches_the_seed_field_table(
    client: httpx2.AsyncClient, state: BagistoState, seeds: Any, embed: bool
) -> None:
    state.embed_items = embed
    for customer, headers in (("alice", ALICE), ("bob", BOB)):
        for invoice_id in BAGISTO_INVOICE_IDS[customer]:
            invoice = seeds.decimal_json(await client.get(f"{INVOICES}/{invoice_id}", headers=headers))
            seeds.assert_valid(seeds.bagisto_invoice, invoice)
            assert list(invoice) == list(seeds.bagisto_seed_example())


async def test_float_amounts_keep_their_exact_digits(client: httpx2.AsyncClient, seeds: Any) -> None:
    invoice = seeds.decimal_json(await client.get(f"{INVOICES}/2", headers=ALICE))
    assert (invoice["subTotal"], invoice["grandTotal"], invoice["orderCurrencyCode"]) == (
        Decimal("0.30"),
        Decimal("0.30"),
        "EUR",
    )
    hoodies = seeds.decimal_json(await client.get(f"{INVOICES}/3", headers=ALICE))
    assert hoodies["subTotal"] == Decimal("59.97") and hoodies["grandTotal"] == Decimal("66.27")
    yen = seeds.decimal_json(await client.get(f"{INVOICES}/7", headers=ALICE))
    assert (yen["grandTotal"], yen["orderCurrencyCode"]) == (Decimal("1500.00"), "JPY")


async def test_embedded_items_switch(client: httpx2.AsyncClient, state: BagistoState, seeds: Any) -> None:
    state.embed_items = True
    invoice = seeds.decimal_json(await client.get(f"{INVOICES}/1", headers=ALICE))
    for item in invoice["items"]:
        seeds.assert_valid(seeds.bagisto_item, item)
    assert [i["id"] for i in invoice["items"]] == [1, 2]


async def test_item_links_resolve_to_the_embedded_shape(client: httpx2.AsyncClient, seeds: Any) -> None:
    invoice = (await client.get(f"{INVOICES}/3", headers=ALICE)).json()
    item = seeds.decimal_json(await client.get(invoice["items"][0], headers=ALICE))
    seeds.assert_valid(seeds.bagisto_item, item)
    assert (item["qty"], item["price"], item["total"]) == (3, Decimal("19.99"), Decimal("59.97"))
    assert (await client.get(invoice["items"][0], headers=BOB)).status_code == 404


# -- scoping ---------------------------------------------------------------------------------


async def test_another_customers_invoice_is_the_seeds_404(client: httpx2.AsyncClient, seeds: Any) -> None:
    response = await client.get(f"{INVOICES}/5", headers=ALICE)
    assert response.status_code == 404
    assert response.json() == {"message": 'Customer invoice with ID "5" not found.'}
    assert response.json() in seeds.bagisto_error_examples()


async def test_another_customers_invoice_reads_exactly_like_a_missing_one(client: httpx2.AsyncClient) -> None:
    missing = await client.get(f"{INVOICES}/999", headers=ALICE)
    bobs = await client.get(f"{INVOICES}/4", headers=ALICE)
    assert missing.status_code == bobs.status_code == 404
    assert missing.json() == {"message": 'Customer invoice with ID "999" not found.'}
    assert bobs.json() == {"message": 'Customer invoice with ID "4" not found.'}
    assert set(missing.headers) == set(bobs.headers)


async def test_pdf_of_own_invoice_and_404_for_anothers(client: httpx2.AsyncClient) -> None:
    own = await client.get(f"{INVOICES}/1/pdf", headers=ALICE)
    assert own.status_code == 200
    assert own.headers["content-type"] == "application/pdf" and own.content.startswith(b"%PDF-")
    assert (await client.get(f"{INVOICES}/4/pdf", headers=ALICE)).status_code == 404


# -- auth ------------------------------------------------------------------------------------


async def test_missing_storefront_key_is_401_and_invalid_is_403(client: httpx2.AsyncClient) -> None:
    customer_only = {"Authorization": ALICE["Authorization"]}
    assert (await client.get(f"{INVOICES}/1", headers=customer_only)).status_code == 401
    wrong = {**customer_only, "X-STOREFRONT-KEY": "pk_storefront_wrong"}
    assert (await client.get(f"{INVOICES}/1", headers=wrong)).status_code == 403


async def test_missing_customer_token_is_the_seeds_401(client: httpx2.AsyncClient, seeds: Any) -> None:
    response = await client.get(f"{INVOICES}/1", headers=STOREFRONT)
    assert response.status_code == 401
    assert response.json() == {"message": "Customer is not logged in."}
    assert response.json() in seeds.bagisto_error_examples()


async def test_missing_customer_token_may_be_403(client: httpx2.AsyncClient, state: BagistoState) -> None:
    state.missing_token_status = 403
    assert (await client.get(f"{INVOICES}/1", headers=STOREFRONT)).status_code == 403


async def test_login_returns_the_customer_token(client: httpx2.AsyncClient) -> None:
    email, password = BAGISTO_CREDENTIALS["alice"]
    response = await client.post(
        "/api/shop/customer/login", headers=STOREFRONT, json={"email": email, "password": password}
    )
    assert response.status_code == 200
    assert response.json()["token"] == BAGISTO_CUSTOMER_TOKENS["alice"]
    wrong = await client.post(
        "/api/shop/customer/login", headers=STOREFRONT, json={"email": email, "password": "nope"}
    )
    assert wrong.status_code == 401
    incomplete = await client.post("/api/shop/customer/login", headers=STOREFRONT, json={"email": email})
    assert incomplete.status_code == 422 and "password" in incomplete.json()["errors"]


# -- list ------------------------------------------------------------------------------------


async def test_list_is_a_plain_array_with_pagination_headers(client: httpx2.AsyncClient, seeds: Any) -> None:
    first = await client.get(INVOICES, params={"page": 1, "per_page": 4}, headers=ALICE)
    second = await client.get(INVOICES, params={"page": 2, "per_page": 4}, headers=ALICE)
    assert isinstance(first.json(), list)
    assert {k: first.headers[k] for k in ("x-total-count", "x-page", "x-per-page", "x-total-pages")} == {
        "x-total-count": "6",
        "x-page": "1",
        "x-per-page": "4",
        "x-total-pages": "2",
    }
    assert second.headers["x-page"] == "2"
    ids = [i["id"] for i in first.json() + second.json()]
    assert ids == BAGISTO_INVOICE_IDS["alice"]
    for invoice in seeds.decimal_json(first):
        seeds.assert_valid(seeds.bagisto_invoice, invoice)


async def test_list_for_a_customer_without_invoices_is_empty(client: httpx2.AsyncClient) -> None:
    carol = {**STOREFRONT, "Authorization": f"Bearer {BAGISTO_CUSTOMER_TOKENS['carol']}"}
    response = await client.get(INVOICES, headers=carol)
    assert response.json() == [] and response.headers["x-total-count"] == "0"


async def test_extra_invoices_list_in_pages_of_100() -> None:
    state = BagistoState(extra_invoices=150)
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        first = await client.get(INVOICES, params={"per_page": 100}, headers=ALICE)
        second = await client.get(INVOICES, params={"page": 2, "per_page": 100}, headers=ALICE)
    assert first.headers["x-total-count"] == "156" and first.headers["x-total-pages"] == "2"
    assert len(first.json()) == 100 and len(second.json()) == 56


# -- error styles and controls ---------------------------------------------------------------


async def test_problem_json_switch(client: httpx2.AsyncClient, state: BagistoState) -> None:
    state.problem_json = True
    response = await client.get(f"{INVOICES}/5", headers=ALICE)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["detail"] == 'Customer invoice with ID "5" not found.'


@pytest.mark.parametrize("problem_json", [False, True])
async def test_429_carries_retry_after_in_header_and_body(
    client: httpx2.AsyncClient, state: BagistoState, problem_json: bool
) -> None:
    state.problem_json = problem_json
    state.controls.force_429_next = 1
    state.controls.retry_after = 12
    response = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "12"
    assert response.json()["retry_after"] == 12


async def test_fail_next_and_malformed(client: httpx2.AsyncClient, state: BagistoState) -> None:
    state.controls.fail_next = [500]
    state.controls.malformed_next = 1
    state.controls.malformed_kind = "html"
    failed = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert failed.status_code == 500 and "message" in failed.json()
    page = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert page.headers["content-type"].startswith("text/html")
    assert (await client.get(f"{INVOICES}/1", headers=ALICE)).status_code == 200


# -- over real HTTP --------------------------------------------------------------------------


async def test_over_http_login_then_read_an_invoice() -> None:
    async with running_app(create_sandbox_app()) as base_url:
        env = sandbox_environment(base_url, "alice")
        storefront = {"X-STOREFRONT-KEY": env["BAGISTO_STOREFRONT_KEY"]}
        async with httpx2.AsyncClient(base_url=env["BAGISTO_BASE_URL"]) as client:
            email, password = BAGISTO_CREDENTIALS["alice"]
            login = await client.post(
                "/api/shop/customer/login", headers=storefront, json={"email": email, "password": password}
            )
            token = login.json()["token"]
            assert token == env["BAGISTO_CUSTOMER_TOKEN"]
            response = await client.get(
                f"{INVOICES}/1", headers={**storefront, "Authorization": f"Bearer {token}"}
            )
    assert response.status_code == 200 and response.json()["incrementId"] == "INV-001"
