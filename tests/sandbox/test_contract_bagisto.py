"""The Bagisto emulator against bagisto-api 5ab9ff2: its resource, provider, middleware and its own tests.

Each test names the source file whose behaviour it pins (paths in bagisto-api at 5ab9ff2).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from mcp_invoices.providers.bagisto.emulator import (
    BAGISTO_CREDENTIALS,
    BAGISTO_CUSTOMER_TOKENS,
    BAGISTO_INVOICE_IDS,
    BAGISTO_STOREFRONT_KEY,
    BagistoState,
    create_app,
)
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.sandbox import create_sandbox_app, sandbox_environment

STOREFRONT = {"X-STOREFRONT-KEY": BAGISTO_STOREFRONT_KEY}
ALICE = {**STOREFRONT, "Authorization": f"Bearer {BAGISTO_CUSTOMER_TOKENS['alice']}"}
BOB = {**STOREFRONT, "Authorization": f"Bearer {BAGISTO_CUSTOMER_TOKENS['bob']}"}
DAVE = {**STOREFRONT, "Authorization": f"Bearer {BAGISTO_CUSTOMER_TOKENS['dave']}"}
INVOICES = "/api/shop/customer-invoices"
UNAUTHENTICATED = "Unauthenticated. Please login to perform this action"


@pytest.fixture
def state() -> BagistoState:
    return BagistoState()


@pytest.fixture
async def client(state: BagistoState) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def decimal_json(response: httpx2.Response) -> Any:
    return response.json(parse_float=Decimal)


async def graphql(
    client: httpx2.AsyncClient, query: str, variables: dict[str, Any] | None = None, headers: Any = None
) -> httpx2.Response:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await client.post("/api/graphql", json=body, headers=ALICE if headers is None else headers)


PAGE = """query getCustomerInvoices($first: Int, $after: String) {
  customerInvoices(first: $first, after: $after) {
    edges { cursor node { _id incrementId grandTotal } }
    pageInfo { endCursor startCursor hasNextPage hasPreviousPage }
    totalCount
  }
}"""


# -- REST: one invoice ---------------------------------------------------------------------------


async def test_an_invoice_has_the_fields_bagistos_own_rest_test_expects(client: httpx2.AsyncClient) -> None:
    """tests/Feature/RestApi/CustomerInvoiceTest.php test_get_single_customer_invoice / financial fields."""
    invoice = decimal_json(await client.get(f"{INVOICES}/1", headers=ALICE))
    for key in (
        "id incrementId state totalQty grandTotal baseGrandTotal subTotal baseSubTotal shippingAmount "
        "taxAmount discountAmount baseCurrencyCode orderCurrencyCode createdAt"
    ).split():
        assert key in invoice
    assert (invoice["id"], invoice["state"], invoice["incrementId"]) == (1, "paid", "INV-001")
    assert (invoice["grandTotal"], invoice["subTotal"], invoice["orderId"]) == (
        Decimal("110.0"),
        Decimal("100.0"),
        1,
    )


async def test_amounts_are_php_floats_as_json_encode_writes_them(client: httpx2.AsyncClient) -> None:
    """src/Models/CustomerInvoice.php casts every amount to float: 110.0, 0.3, 59.97."""
    one = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert b'"grandTotal": 110.0,' in one.content
    euro = decimal_json(await client.get(f"{INVOICES}/2", headers=ALICE))
    assert (euro["grandTotal"], euro["orderCurrencyCode"]) == (Decimal("0.3"), "EUR")
    hoodies = decimal_json(await client.get(f"{INVOICES}/3", headers=ALICE))
    assert hoodies["subTotal"] == Decimal("59.97") and hoodies["grandTotal"] == Decimal("66.27")


async def test_rest_lines_are_iris_that_nothing_serves(
    client: httpx2.AsyncClient, state: BagistoState
) -> None:
    """src/Models/CustomerInvoiceItem.php: operations: [] - a skolem IRI, no route behind it."""
    invoice = (await client.get(f"{INVOICES}/3", headers=ALICE)).json()
    [iri] = invoice["items"]
    assert iri.startswith("/api/.well-known/genid/")
    assert (await client.get(iri, headers=ALICE)).status_code == 404
    assert (await client.get("/api/shop/invoice-items/31", headers=ALICE)).status_code == 404
    state.embed_items = True
    [item] = decimal_json(await client.get(f"{INVOICES}/3", headers=ALICE))["items"]
    assert (item["qty"], item["price"], item["total"]) == (3, Decimal("19.99"), Decimal("59.97"))


async def test_another_customers_invoice_reads_exactly_like_a_missing_one(client: httpx2.AsyncClient) -> None:
    """src/State/CustomerInvoiceProvider.php provideItem: whereHas(order.customer_id) → ResourceNotFoundException."""
    missing = await client.get(f"{INVOICES}/999", headers=ALICE)
    bobs = await client.get(f"{INVOICES}/4", headers=ALICE)
    assert missing.status_code == bobs.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["detail"] == 'Customer invoice with ID "999" not found'
    assert bobs.json()["detail"] == 'Customer invoice with ID "4" not found'
    assert set(missing.headers) == set(bobs.headers)


async def test_pdf_of_own_invoice_and_404_for_anothers(client: httpx2.AsyncClient) -> None:
    """src/Http/Controllers/InvoicePdfController.php."""
    own = await client.get(f"{INVOICES}/1/pdf", headers=ALICE)
    assert own.status_code == 200
    assert own.headers["content-type"] == "application/pdf" and own.content.startswith(b"%PDF-")
    assert (await client.get(f"{INVOICES}/4/pdf", headers=ALICE)).status_code == 404


# -- REST: the list ignores paging ------------------------------------------------------------------


async def test_the_rest_list_is_the_ten_newest_whatever_page_and_per_page_say(
    client: httpx2.AsyncClient,
) -> None:
    """src/State/CustomerInvoiceProvider.php: first/last/after/before only from GraphQL args; 10, id DESC."""
    first = await client.get(INVOICES, params={"page": 1, "per_page": 20}, headers=DAVE)
    second = await client.get(INVOICES, params={"page": 2, "per_page": 20}, headers=DAVE)
    assert [i["id"] for i in first.json()] == list(range(35, 25, -1))
    assert second.json() == first.json()
    # src/Serializer/PaginationHeaderNormalizer.php: the headers describe that one page of 10.
    assert {k: first.headers[k] for k in ("x-total-count", "x-page", "x-per-page", "x-total-pages")} == {
        "x-total-count": "25",
        "x-page": "1",
        "x-per-page": "10",
        "x-total-pages": "3",
    }


async def test_the_rest_list_filters_by_state_and_order(client: httpx2.AsyncClient) -> None:
    """src/Models/CustomerInvoice.php GetCollection parameters: state, order_id (orderId)."""
    paid = (await client.get(INVOICES, params={"state": "paid"}, headers=ALICE)).json()
    assert [i["id"] for i in paid] == [3, 1]
    by_order = (await client.get(INVOICES, params={"orderId": 3}, headers=ALICE)).json()
    assert [i["id"] for i in by_order] == [3]


async def test_the_rest_list_shows_only_the_customers_own(client: httpx2.AsyncClient) -> None:
    """tests/Feature/RestApi/CustomerInvoiceTest.php test_customer_only_sees_own_invoices."""
    assert [i["id"] for i in (await client.get(INVOICES, headers=ALICE)).json()] == BAGISTO_INVOICE_IDS[
        "alice"
    ][::-1]
    carol = {**STOREFRONT, "Authorization": f"Bearer {BAGISTO_CUSTOMER_TOKENS['carol']}"}
    assert (await client.get(INVOICES, headers=carol)).json() == []


# -- GraphQL ---------------------------------------------------------------------------------------


async def test_graphql_pages_with_cursors_page_info_and_total_count(client: httpx2.AsyncClient) -> None:
    """tests/Feature/GraphQL/CustomerInvoiceTest.php test_pagination_with_after_cursor; API Platform cursors."""
    first = (await graphql(client, PAGE, {"first": 10}, DAVE)).json()["data"]["customerInvoices"]
    assert [edge["node"]["_id"] for edge in first["edges"]] == list(range(35, 25, -1))
    assert first["totalCount"] == 25
    assert first["pageInfo"] == {
        "endCursor": base64.b64encode(b"9").decode(),
        "startCursor": base64.b64encode(b"0").decode(),
        "hasNextPage": True,
        "hasPreviousPage": False,
    }
    seen, after = [], None
    for _ in range(10):
        page = (await graphql(client, PAGE, {"first": 10, "after": after}, DAVE)).json()["data"][
            "customerInvoices"
        ]
        seen += [edge["node"]["_id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(range(35, 10, -1))


async def test_graphql_first_is_capped_at_fifty(client: httpx2.AsyncClient) -> None:
    """config/api-platform.php pagination_maximum_items_per_page 50."""
    state = BagistoState(extra_invoices=80)
    transport = httpx2.ASGITransport(app=create_app(state))
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as big:
        page = (await graphql(big, PAGE, {"first": 100})).json()["data"]["customerInvoices"]
    assert len(page["edges"]) == 50 and page["totalCount"] == 86 and page["pageInfo"]["hasNextPage"]


async def test_an_after_cursor_past_the_end_answers_the_last_page_again(client: httpx2.AsyncClient) -> None:
    """src/State/CustomerInvoiceProvider.php: if offset > total, offset = total - perPage."""
    past = base64.b64encode(b"400").decode()
    page = (await graphql(client, PAGE, {"first": 10, "after": past}, DAVE)).json()["data"][
        "customerInvoices"
    ]
    assert [edge["node"]["_id"] for edge in page["edges"]] == list(range(20, 10, -1))


async def test_graphql_filters_by_state_and_order_with_items(client: httpx2.AsyncClient) -> None:
    """tests/Feature/GraphQL/CustomerInvoiceTest.php state filter; e2e ..._BY_ORDER_WITH_ITEMS."""
    query = """query q($state: String, $orderId: Int) { customerInvoices(first: 10, state: $state, orderId: $orderId) {
      edges { node { _id state items { totalCount edges { node { _id sku name qty price total } } } } } totalCount } }"""
    paid = (await graphql(client, query, {"state": "paid"})).json()["data"]["customerInvoices"]
    assert [edge["node"]["_id"] for edge in paid["edges"]] == [3, 1] and paid["totalCount"] == 2
    three = (await graphql(client, query, {"orderId": 3})).json()["data"]["customerInvoices"]
    [node] = [edge["node"] for edge in three["edges"]]
    assert node["items"]["totalCount"] == 1
    item = node["items"]["edges"][0]["node"]
    assert (item["_id"], item["qty"], item["price"], item["total"]) == (31, 3, 19.99, 59.97)


async def test_graphql_refuses_a_field_the_type_does_not_have(client: httpx2.AsyncClient) -> None:
    response = await graphql(client, "{ customerInvoices(first: 1) { edges { node { dueDate } } } }")
    assert response.status_code == 200
    assert (
        response.json()["errors"][0]["message"] == 'Cannot query field "dueDate" on type "CustomerInvoice".'
    )


async def test_graphql_without_a_customer_is_an_error_with_status_200(client: httpx2.AsyncClient) -> None:
    """tests/Feature/GraphQL/CustomerInvoiceTest.php test_get_customer_invoices_requires_authentication."""
    response = await graphql(client, PAGE, {"first": 5}, STOREFRONT)
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["message"] == UNAUTHENTICATED


async def test_graphql_customer_invoice_by_id_is_not_scoped_to_the_customer(
    client: httpx2.AsyncClient,
) -> None:
    """src/Resolver/BaseQueryItemResolver.php: Model::find(id) - why the client never uses it."""
    query = '{ customerInvoice(id: "/api/shop/customer-invoices/4") { _id grandTotal } }'
    response = await graphql(client, query, headers=ALICE)  # bob's invoice, read with alice's token
    assert response.json()["data"]["customerInvoice"]["_id"] == 4


async def test_graphql_storefront_key_refusals_are_401(client: httpx2.AsyncClient) -> None:
    """src/Http/Middleware/VerifyGraphQLStorefrontKey.php sendAuthenticationError."""
    missing = await graphql(client, PAGE, {"first": 1}, {"Authorization": ALICE["Authorization"]})
    wrong = await graphql(client, PAGE, {"first": 1}, {**ALICE, "X-STOREFRONT-KEY": "pk_wrong"})
    assert missing.status_code == wrong.status_code == 401
    assert (missing.json()["error"], wrong.json()["error"]) == ("missing_key", "invalid_key")


# -- auth and rate limit -----------------------------------------------------------------------------


async def test_missing_storefront_key_is_401_and_invalid_is_403(client: httpx2.AsyncClient) -> None:
    """src/Http/Middleware/VerifyStorefrontKey.php missingKeyResponse / unauthorizedResponse."""
    customer_only = {"Authorization": ALICE["Authorization"]}
    missing = await client.get(f"{INVOICES}/1", headers=customer_only)
    assert missing.status_code == 401 and missing.json()["error"] == "missing_key"
    wrong = await client.get(
        f"{INVOICES}/1", headers={**customer_only, "X-STOREFRONT-KEY": "pk_storefront_wrong"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"] == "invalid_key"


async def test_missing_customer_token_is_403_unauthenticated(client: httpx2.AsyncClient) -> None:
    """tests/e2e-pw/tests/restAPI/api/automation/customerInvoices.spec.ts: 403, detail Unauthenticated...."""
    for path in (INVOICES, f"{INVOICES}/1", f"{INVOICES}/1/pdf"):
        response = await client.get(path, headers=STOREFRONT)
        assert response.status_code == 403 and response.json()["detail"] == UNAUTHENTICATED


async def test_the_key_allows_its_hourly_limit_then_rest_answers_429_and_graphql_does_not(
    client: httpx2.AsyncClient, state: BagistoState
) -> None:
    """src/Traits/HasRateLimit.php checkHourlyRateLimit; VerifyStorefrontKey refuses, the GraphQL middleware does not."""
    state.hourly_limit = 2
    assert (await client.get(f"{INVOICES}/1", headers=ALICE)).status_code == 200
    assert (await client.get(f"{INVOICES}/1", headers=ALICE)).status_code == 200
    refused = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert refused.status_code == 429 and "retry-after" not in refused.headers
    body = refused.json()
    assert body["error"] == "rate_limit_exceeded" and 1 <= body["retry_after"] <= 3600
    assert (await graphql(client, PAGE, {"first": 1})).status_code == 200


async def test_login_returns_the_customer_token(client: httpx2.AsyncClient) -> None:
    email, password = BAGISTO_CREDENTIALS["alice"]
    response = await client.post(
        "/api/shop/customer/login", headers=STOREFRONT, json={"email": email, "password": password}
    )
    # bagisto-api src/State/LoginProcessor.php: 201 either way; a refusal is success false, no token.
    assert response.status_code == 201
    assert response.json()["token"] == BAGISTO_CUSTOMER_TOKENS["alice"]
    assert response.json()["success"] is True and response.json()["id"] == 1
    wrong = await client.post(
        "/api/shop/customer/login", headers=STOREFRONT, json={"email": email, "password": "nope"}
    )
    assert wrong.status_code == 201
    assert wrong.json()["success"] is False and wrong.json()["token"] == ""


async def test_fail_next_and_malformed(client: httpx2.AsyncClient, state: BagistoState) -> None:
    state.controls.fail_next = [500]
    state.controls.malformed_next = 1
    state.controls.malformed_kind = "html"
    failed = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert failed.status_code == 500
    page = await client.get(f"{INVOICES}/1", headers=ALICE)
    assert page.headers["content-type"].startswith("text/html")
    assert (await client.get(f"{INVOICES}/1", headers=ALICE)).status_code == 200


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
