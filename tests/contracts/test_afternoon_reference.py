"""Afternoon's own reference as the judge of our client: fixtures transcribed from its pages and seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt.

Each fixture under ``tests/contracts/afternoon/`` names its sources (a reference page or the seed
file). A small server on 127.0.0.1 answers exactly what a fixture says; our ``AfternoonProvider``
reads it, and every request it sends is checked against what the reference documents (method, path,
query keys, headers). Where the reference is silent (the list envelope's pagination members, a status
added later, the page size), the fixture says so and the client is held to its defensive reading.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_invoices.domain.errors import NotFound, Unauthorized
from mcp_invoices.domain.models import InvoiceFilter
from mcp_invoices.principal import Scope
from mcp_invoices.providers.afternoon.client import AfternoonProvider
from mcp_invoices.providers.emulation import running_app
from tests.conftest import REPO

FIXTURES = Path(__file__).parent / "afternoon"
SEED_002 = REPO / "tests" / "sandbox" / "seeds" / "002_c939eac29cf2ef29.txt"
KEY = "ak_test_reference"
STANDARD_HEADERS = {"host", "accept", "accept-encoding", "connection", "user-agent"}
"""Headers every HTTP client sends; anything else our client adds must be documented."""


def fixture(name: str) -> dict[str, Any]:
    document = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def seed_schemas() -> dict[str, Any]:
    """The seed tests/sandbox/seeds/002_c939eac29cf2ef29.txt's component schemas, local ``$ref``s resolved against the document."""
    match = re.search(r"```yaml\n(.*?)\n```", SEED_002.read_text(encoding="utf-8"), re.DOTALL)
    assert match is not None
    document = yaml.safe_load(match.group(1))
    rewritten = json.dumps(document["components"]["schemas"]).replace("#/components/schemas/", "#/$defs/")
    schemas: dict[str, Any] = json.loads(rewritten)
    return {name: {**schema, "$defs": schemas} for name, schema in schemas.items()}


def assert_valid(schema: dict[str, Any], instance: Any) -> None:
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    assert not errors, [f"{list(error.path)}: {error.message}" for error in errors]


class Reference:
    """A server answering from fixtures; it remembers every request it was sent."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.invoices: dict[str, dict[str, Any]] = {}
        # an empty last page until a test sets the list's pages (a number lookup lists too)
        self.pages: dict[str | None, dict[str, Any]] = {
            None: {"success": True, "invoices": [], "pagination": {"has_more": False, "next_cursor": None}}
        }
        self.error: tuple[int, dict[str, Any]] | None = None

    def app(self) -> Starlette:
        async def get_invoice(request: Request) -> Response:
            self.requests.append(request)
            if self.error is not None:
                return JSONResponse(self.error[1], self.error[0])
            body = self.invoices.get(request.path_params["invoice_id"])
            return JSONResponse(body) if body is not None else JSONResponse({}, 500)

        async def list_invoices(request: Request) -> Response:
            self.requests.append(request)
            body = self.pages.get(request.query_params.get("cursor"))
            return JSONResponse(body) if body is not None else JSONResponse({}, 500)

        return Starlette(
            routes=[
                Route("/v1/invoices", list_invoices, methods=["GET"]),
                Route("/v1/invoices/{invoice_id}", get_invoice, methods=["GET"]),
            ]
        )


@pytest.fixture
def reference() -> Reference:
    return Reference()


@pytest.fixture
async def provider(reference: Reference) -> AsyncIterator[AfternoonProvider]:
    async with running_app(reference.app()) as base_url:
        client = AfternoonProvider(api_key=SecretStr(KEY), base_url=base_url)
        try:
            yield client
        finally:
            await client.aclose()


def assert_requests_match_the_reference(requests: list[Request]) -> None:
    documented = fixture("list_invoices.json")["reference"]
    assert requests
    for request in requests:
        assert request.method == "GET"
        if request.url.path == "/v1/invoices":
            allowed = documented["GET /v1/invoices"]["query"]
            # no maximum is documented, so nothing larger than the documented default is sent
            assert request.query_params["limit"] == documented["GET /v1/invoices"]["limit_default"]
        else:
            assert re.fullmatch(r"/v1/invoices/[^/]+", request.url.path)
            allowed = documented["GET /v1/invoices/{id}"]["query"]
        assert set(request.query_params) <= set(allowed), request.url
        extra = {name.lower() for name in request.headers} - STANDARD_HEADERS
        assert extra == {name.lower() for name in documented["headers"]}
        assert request.headers["authorization"] == f"Bearer {KEY}"


# -- the fixtures themselves ------------------------------------------------------------------


def test_every_fixture_invoice_is_a_seed_002_invoice_but_the_one_of_a_later_status() -> None:
    schemas = seed_schemas()
    assert_valid(schemas["InvoiceResponse"], fixture("get_invoice.json")["response"])
    known = set(schemas["InvoiceStatus"]["enum"])
    for page in fixture("list_invoices.json")["pages"]:
        for row in page["body"]["invoices"]:
            if row["status"] not in known:
                row = {**row, "status": "open"}  # a status added later: only the status departs
            assert_valid(schemas["Invoice"], row)
    for error in fixture("errors.json")["responses"]:
        assert_valid(schemas["ErrorResponse"], error["body"])


# -- through our client -------------------------------------------------------------------------


async def test_the_seed_invoice_is_read_with_exact_money_and_its_status(
    reference: Reference, provider: AfternoonProvider
) -> None:
    document = fixture("get_invoice.json")
    body = document["response"]
    reference.invoices[body["invoice"]["id"]] = body
    scope = Scope("afternoon", body["invoice"]["customer_id"])

    invoice = (await provider.get_invoice(scope, body["invoice"]["id"])).model_dump(mode="json")

    assert {key: invoice[key] for key in document["expected"]} == document["expected"]
    assert reference.requests[0].url.path == document["request"]["path"]
    assert_requests_match_the_reference(reference.requests)


async def test_every_invoice_of_the_reference_list_is_reached_once_with_its_status(
    reference: Reference, provider: AfternoonProvider
) -> None:
    document = fixture("list_invoices.json")
    reference.pages = {page["cursor"]: page["body"] for page in document["pages"]}
    scope = Scope("afternoon", document["customer_id"])
    expected = document["expected"]

    paged: list[str] = []
    cursor: str | None = None
    for _ in range(20):  # bounded
        page = await provider.list_invoices(scope, InvoiceFilter(), limit=2, cursor=cursor)
        paged += [invoice.id for invoice in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    walked = {
        invoice.id: invoice.status.value async for invoice in provider.iter_invoices(scope, InvoiceFilter())
    }

    assert paged == list(walked) == expected["ids_newest_first"]
    assert walked == expected["statuses"]
    assert_requests_match_the_reference(reference.requests)


async def test_the_reference_list_summarises_to_the_exact_totals(
    reference: Reference, provider: AfternoonProvider
) -> None:
    document = fixture("list_invoices.json")
    reference.pages = {page["cursor"]: page["body"] for page in document["pages"]}
    expected = document["expected"]["summary"]

    summary = await provider.summarize(
        Scope("afternoon", document["customer_id"]), InvoiceFilter(), date(2024, 1, 20)
    )

    [totals] = summary.currencies
    assert summary.count == expected["count"]
    assert (totals.currency, str(totals.total), str(totals.paid), str(totals.due)) == (
        expected["currency"],
        expected["total"],
        expected["paid"],
        expected["due"],
    )
    assert [request.query_params.get("cursor") for request in reference.requests] == [
        page["cursor"] for page in document["pages"]
    ]
    assert_requests_match_the_reference(reference.requests)


@pytest.mark.parametrize(
    "case", fixture("errors.json")["responses"], ids=lambda case: case["body"]["error"]["code"]
)
async def test_the_reference_errors_are_ours(
    reference: Reference, provider: AfternoonProvider, case: dict[str, Any]
) -> None:
    reference.error = (case["status"], case["body"])
    expected = {"unauthorized": Unauthorized, "not_found": NotFound}[case["expected"]]

    with pytest.raises(expected) as caught:
        await provider.get_invoice(
            Scope("afternoon", "cm5x9z8nv0000h85r7l9p2k1m"), "cm5x9z8nv0001h85r7l9p2k2m"
        )

    assert case["says"] in str(caught.value)
    assert KEY not in str(caught.value) + str(caught.value.hint or "")
    assert_requests_match_the_reference(reference.requests)
