"""Bagisto's own words as the judge: fixtures transcribed from bagisto-api 5ab9ff2, served on loopback.

Bagisto has no SDK. ``tests/contracts/bagisto/*.json`` transcribe its tests, resources and source (each
file names its sources); a small server replays them over real HTTP, paging GraphQL exactly as
``src/State/CustomerInvoiceProvider.php`` does, and records every request our client sends, which is
then checked against what the API accepts.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_invoices.domain.errors import InvoiceError
from mcp_invoices.domain.models import InvoiceFilter, InvoiceStatus
from mcp_invoices.principal import Scope
from mcp_invoices.providers.bagisto.client import BagistoProvider
from mcp_invoices.providers.emulation import dumps_json, running_app
from mcp_invoices.providers.http import RetryPolicy

FIXTURES = Path(__file__).parent / "bagisto"
KEY, TOKEN = "pk_storefront_contract", "42|contract-customer-token"
SCOPE = Scope("bagisto", "(provider session token)")
NO_RETRY = RetryPolicy(attempts=1)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


REST = fixture("rest_invoice.json")
GRAPHQL = fixture("graphql_invoices.json")
ERRORS = fixture("errors.json")


@dataclass
class Shop:
    """The fixtures over HTTP; ``invoices`` newest first as ``customerInvoices`` lists them."""

    invoices: list[dict[str, Any]]
    sent: list[dict[str, Any]] = field(default_factory=list)
    answer: tuple[int, Any] | None = None

    def page(self, variables: dict[str, Any]) -> dict[str, Any]:
        # bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php provideCollection, as transcribed.
        rows = [row for row in self.invoices if variables.get("state") in (None, "", row["state"])]
        if variables.get("orderId") is not None:
            rows = [row for row in rows if row["orderId"] == variables["orderId"]]
        per_page = min(variables.get("first") or 10, GRAPHQL["page_max"])
        offset = 0
        if variables.get("after"):
            decoded = base64.b64decode(variables["after"]).decode()
            offset = int(decoded) + 1 if decoded.isdigit() else 0
        total = len(rows)
        if offset > total:
            offset = max(0, total - per_page)
        current = offset // per_page + 1
        named = (current - 1) * per_page
        last_page = max(1, -(-total // per_page))

        def cursor(n: int) -> str:
            return base64.b64encode(str(n).encode()).decode()

        return {
            "edges": [
                {"cursor": cursor(named + i), "node": row}
                for i, row in enumerate(rows[offset : offset + per_page])
            ],
            "pageInfo": {
                "endCursor": cursor(named + per_page - 1) if total else None,
                "hasNextPage": current < last_page,
            },
            "totalCount": total,
        }


@pytest.fixture
async def shop() -> AsyncIterator[tuple[Shop, str]]:
    state = Shop(invoices=copy.deepcopy(GRAPHQL["invoices_newest_first"]))

    async def record(request: Request) -> dict[str, Any]:
        body = await request.body()
        entry = {
            "method": request.method,
            "path": request.url.path,
            "headers": dict(request.headers),
            "json": json.loads(body) if body else None,
        }
        state.sent.append(entry)
        return entry

    async def invoice(request: Request) -> Response:
        await record(request)
        if state.answer is not None:
            return Response(dumps_json(state.answer[1]), state.answer[0], media_type="application/json")
        return Response(dumps_json(REST["body"]), REST["status"], media_type="application/json")

    async def graphql(request: Request) -> Response:
        entry = await record(request)
        if state.answer is not None:
            return Response(dumps_json(state.answer[1]), state.answer[0], media_type="application/json")
        return Response(dumps_json({"data": {"customerInvoices": state.page(entry["json"]["variables"])}}))

    app = Starlette(
        routes=[
            Route("/api/shop/customer-invoices/{invoice_id}", invoice, methods=["GET"]),
            Route("/api/graphql", graphql, methods=["POST"]),
        ]
    )
    async with running_app(app) as base_url:
        yield state, base_url


async def client(base_url: str) -> BagistoProvider:
    return BagistoProvider(
        base_url=base_url, storefront_key=SecretStr(KEY), customer_token=SecretStr(TOKEN), retry=NO_RETRY
    )


# -- what our client sends -------------------------------------------------------------------------

_CONNECTION_WORDS = {
    "query",
    "edges",
    "node",
    "cursor",
    "pageInfo",
    "endCursor",
    "hasNextPage",
    "totalCount",
    "items",
}


def check_request(entry: dict[str, Any]) -> None:
    """Method, path, headers and (GraphQL) query shape as bagisto-api 5ab9ff2 accepts them."""
    headers = entry["headers"]
    # tests/BagistoApiTestCase.php authHeaders: Authorization Bearer + X-STOREFRONT-KEY.
    assert headers["x-storefront-key"] == KEY and headers["authorization"] == f"Bearer {TOKEN}"
    assert "cookie" not in headers
    if entry["path"] != "/api/graphql":
        assert entry["method"] == "GET" and re.fullmatch(
            r"/api/shop/customer-invoices/\d+(/pdf)?", entry["path"]
        )
        return
    # tests/GraphQLTestCase.php: POST /api/graphql {query, variables} as JSON.
    assert entry["method"] == "POST" and headers["content-type"].startswith("application/json")
    body = entry["json"]
    query, variables = body["query"], body["variables"]
    call = re.search(r"customerInvoices\(([^)]*)\)", query)
    assert call is not None and "customerInvoice(" not in query  # the item query is not customer-scoped
    arguments = re.findall(r"(\w+):", call.group(1))
    assert set(arguments) <= set(GRAPHQL["customer_invoices_arguments"])
    assert 1 <= variables["first"] <= GRAPHQL["page_max"]
    assert set(variables) <= set(GRAPHQL["customer_invoices_arguments"])
    selection = query[query.index("{", call.end()) :]
    words = set(re.findall(r"[A-Za-z_]\w*", selection))
    known = (
        set(GRAPHQL["customer_invoice_fields"])
        | set(GRAPHQL["customer_invoice_item_fields"])
        | _CONNECTION_WORDS
    )
    assert words <= known, words - known


# -- the fixtures through our client ---------------------------------------------------------------


async def test_the_rest_invoice_keeps_its_exact_totals_and_its_lines_come_from_graphql(
    shop: tuple[Shop, str],
) -> None:
    state, base_url = shop
    provider = await client(base_url)
    try:
        invoice = await provider.get_invoice(SCOPE, "1")
    finally:
        await provider.aclose()
    assert (invoice.number, invoice.status, invoice.currency) == ("INV-REST-001", InvoiceStatus.PAID, "USD")
    assert (invoice.subtotal, invoice.shipping, invoice.tax, invoice.discount, invoice.total) == (
        Decimal("100.00"),
        Decimal("5.00"),
        Decimal("5.00"),
        Decimal("0.00"),
        Decimal("110.00"),
    )
    assert (invoice.amount_paid, invoice.amount_due, invoice.issued_at) == (
        Decimal("110.00"),
        Decimal("0.00"),
        date(2026, 1, 15),
    )
    # The REST lines are dead IRIs, and the GraphQL fixture lists no invoice 1 under its order (1, not 7).
    assert invoice.line_items == [] and invoice.note is not None and "lines" in invoice.note
    assert [(e["method"], e["path"]) for e in state.sent] == [
        ("GET", "/api/shop/customer-invoices/1"),
        ("POST", "/api/graphql"),
    ]
    assert state.sent[1]["json"]["variables"]["orderId"] == REST["body"]["orderId"]
    for entry in state.sent:
        check_request(entry)


async def test_lines_are_read_from_the_invoices_of_its_order(shop: tuple[Shop, str]) -> None:
    state, base_url = shop
    for row in state.invoices:
        row["orderId"] = REST["body"]["orderId"]
    provider = await client(base_url)
    try:
        invoice = await provider.get_invoice(SCOPE, "1")
    finally:
        await provider.aclose()
    [line] = invoice.line_items
    assert (line.description, line.quantity, line.unit_amount, line.total) == (
        "Test Invoice Product",
        Decimal(2),
        Decimal("50.00"),
        Decimal("100.00"),
    )
    assert invoice.note is None
    for entry in state.sent:
        check_request(entry)


async def test_the_graphql_invoices_list_and_sum_exactly_newest_first(shop: tuple[Shop, str]) -> None:
    state, base_url = shop
    provider = await client(base_url)
    try:
        page = await provider.list_invoices(SCOPE, InvoiceFilter(), limit=10, cursor=None)
        summary = await provider.summarize(SCOPE, InvoiceFilter(), date(2026, 6, 1))
        paid = await provider.list_invoices(
            SCOPE, InvoiceFilter(status=InvoiceStatus.PAID), limit=10, cursor=None
        )
    finally:
        await provider.aclose()
    assert [(i.id, i.number, i.total, i.amount_due) for i in page.items] == [
        ("2", "INV-002", Decimal("55.00"), Decimal("55.00")),
        ("1", "INV-001", Decimal("110.00"), Decimal("0.00")),
    ]
    assert page.next_cursor is None
    [usd] = summary.currencies
    assert (summary.count, usd.total, usd.due) == (2, Decimal("165.00"), Decimal("55.00"))
    assert [i.id for i in paid.items] == ["1"]
    assert state.sent[-1]["json"]["variables"]["state"] == "paid"
    for entry in state.sent:
        check_request(entry)


@pytest.mark.parametrize("count", [11, 50, 51, 120])
async def test_every_invoice_is_reached_however_many(shop: tuple[Shop, str], count: int) -> None:
    """The fixture's invoice cloned ``count`` times (ids count..1): GraphQL pages of 50 cover them all."""
    state, base_url = shop
    template = GRAPHQL["invoices_newest_first"][1]
    state.invoices = [dict(template, _id=n, incrementId=f"INV-{n:04d}") for n in range(count, 0, -1)]
    provider = await client(base_url)
    try:
        listed, cursor = [], None
        for _ in range(count + 1):  # bounded
            page = await provider.list_invoices(SCOPE, InvoiceFilter(), limit=20, cursor=cursor)
            listed += [invoice.id for invoice in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        summary = await provider.summarize(SCOPE, InvoiceFilter(), date(2026, 6, 1))
        oldest = await provider.get_invoice(SCOPE, "inv-0001") if count < 120 else None
    finally:
        await provider.aclose()
    assert listed == [str(n) for n in range(count, 0, -1)]
    assert summary.count == count and summary.currencies[0].total == Decimal("110.00") * count
    if oldest is not None:
        assert oldest.id == "1"
    for entry in state.sent:
        check_request(entry)


@pytest.mark.parametrize("case", ERRORS["cases"], ids=[case["name"] for case in ERRORS["cases"]])
async def test_each_refusal_bagisto_sends_maps_to_a_specific_error(
    shop: tuple[Shop, str], case: dict[str, Any]
) -> None:
    state, base_url = shop
    state.answer = (case["status"], case["body"])
    provider = await client(base_url)
    try:
        with pytest.raises(InvoiceError) as raised:
            if case.get("graphql"):
                await provider.list_invoices(SCOPE, InvoiceFilter(), limit=5, cursor=None)
            else:
                await provider.invoice_by_id(SCOPE, "1")
    finally:
        await provider.aclose()
    error = raised.value
    assert error.code == case["code"]
    hint = str(error.hint)
    assert [name for name in ("BAGISTO_STOREFRONT_KEY", "BAGISTO_CUSTOMER_TOKEN") if name in hint] == case[
        "names"
    ]
    assert KEY not in f"{error} {hint}" and TOKEN not in f"{error} {hint}"
    if case["code"] == "rate_limited":
        assert getattr(error, "retry_after", None) is not None
