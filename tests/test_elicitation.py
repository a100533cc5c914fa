"""generate_invoice asks the person (elicitation) before a permanent generation, on both protocol eras.

Real SDK clients: one that answers, one that declines, one without the capability; in-process, over
stdio, over streamable HTTP, and across two HTTP replicas that share only the database and the
requestState keys.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ElicitRequestParams, ElicitResult

from mcp_invoices.domain.models import Address, Billing
from mcp_invoices.providers.emulation import running_app, serving_in_thread
from mcp_invoices.providers.local.ledger import Ledger, NewOrder, NewOrderLine
from mcp_invoices.providers.polar.emulator import POLAR_ORDER_IDS
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from tests.conftest import REPO, local_server, stdio_params
from tests.results import error_of
from tests.test_replicas import RoundRobin
from tests.test_transports import _free_port, http_server, issue_token

MODES = ["auto", "legacy"]  # the 2026-07-28 stateless protocol, and the 2025-11-25 handshake
FORM = {
    "billing_name": "Ada Lovelace Ltd",
    "line1": "12 Analytical Row",
    "postal_code": "EC1A 1BB",
    "city": "London",
    "country": "gb",
}
CUSTOMER = "cus_ask"


@dataclass
class Person:
    """The person behind a client: answers the billing form and the confirmation as told."""

    form: dict[str, Any] | None = field(default_factory=lambda: dict(FORM))
    billing_action: str = "accept"
    confirm: bool = True
    confirm_action: str = "accept"
    asked: list[str] = field(default_factory=list)

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.asked.append(params.message)
        if "confirm" in params.requested_schema.get("properties", {}):
            if self.confirm_action != "accept":
                return ElicitResult(action=self.confirm_action)
            return ElicitResult(action="accept", content={"confirm": self.confirm})
        if self.billing_action != "accept":
            return ElicitResult(action=self.billing_action)
        return ElicitResult(action="accept", content=self.form)


@contextlib.asynccontextmanager
async def asking_client(
    ledger_path: Path, person: Person | None, mode: str = "auto"
) -> AsyncIterator[Client]:
    """Alice's in-process session, through a client whose elicitation answers come from ``person``."""
    async with (
        local_server(ledger_path, "cus_alice") as server,
        Client(server, mode=mode, elicitation_callback=person) as client,
    ):
        yield client


def order_row(client_result: Any, order_id: str) -> dict[str, Any]:
    return next(row for row in client_result.structured_content["orders"] if row["id"] == order_id)


# -- in-process, both eras ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_missing_billing_details_are_asked_for_saved_and_printed_on_the_invoice(
    ledger_path: Path, mode: str
) -> None:
    person = Person()
    async with asking_client(ledger_path, person, mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1005"})
        orders = await client.call_tool("list_orders", {"limit": 100})
    invoice = result.structured_content
    assert not result.is_error and invoice["outcome"] == "generated" and invoice["number"]
    assert invoice["billing"]["name"] == "Ada Lovelace Ltd"
    assert invoice["billing"]["address"]["line1"] == "12 Analytical Row"
    assert invoice["billing"]["address"]["country"] == "GB"
    assert order_row(orders, "ord_1005")["billing_complete"] is True
    assert len(person.asked) == 2 and "ord_1005" in person.asked[0]


@pytest.mark.parametrize("mode", MODES)
async def test_the_name_and_address_to_be_printed_are_shown_for_confirmation_before_issuing(
    ledger_path: Path, mode: str
) -> None:
    person = Person()
    async with asking_client(ledger_path, person, mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
    assert result.structured_content["outcome"] == "generated"
    [question] = person.asked  # the billing was complete: only the confirmation
    assert (
        "Alice Martin" in question
        and "221 Baker Avenue" in question
        and "SAN FRANCISCO, CA 94107" in question
    )  # the US order: city, state, ZIP
    assert "permanent" in question and "$1,647.53" in question


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_declining_or_cancelling_the_confirmation_generates_nothing(
    ledger_path: Path, mode: str, action: str
) -> None:
    person = Person(confirm_action=action)
    async with asking_client(ledger_path, person, mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
        orders = await client.call_tool("list_orders", {"limit": 100})
        lookup = await client.call_tool("get_invoice", {"invoice_id": "ord_1003"})
    declined = result.structured_content
    assert not result.is_error and declined["outcome"] == "declined"
    assert declined["number"] is None and declined["status"] == "draft" and declined["total"] == "1647.53"
    assert order_row(orders, "ord_1003")["invoice"] == "none"
    assert error_of(lookup)["code"] == "not_found"


@pytest.mark.parametrize("mode", MODES)
async def test_answering_no_in_the_confirmation_is_a_decline(ledger_path: Path, mode: str) -> None:
    person = Person(confirm=False)
    async with asking_client(ledger_path, person, mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
    assert result.structured_content["outcome"] == "declined"


@pytest.mark.parametrize("mode", MODES)
async def test_declining_the_billing_form_generates_nothing_and_saves_nothing(
    ledger_path: Path, mode: str
) -> None:
    person = Person(billing_action="decline")
    async with asking_client(ledger_path, person, mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1005"})
        orders = await client.call_tool("list_orders", {"limit": 100})
    assert result.structured_content["outcome"] == "declined"
    assert len(person.asked) == 1  # no confirmation after a declined form
    row = order_row(orders, "ord_1005")
    assert row["invoice"] == "none" and row["billing_complete"] is False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "answer", [{"country": "U\u0000"}, {"country": "ZZ"}, {"city": "x" * 101}, {"line1": "\u202e"}]
)
async def test_a_form_answer_that_breaks_the_billing_rules_issues_nothing(
    ledger_path: Path, mode: str, answer: dict[str, str]
) -> None:
    person = Person(form=FORM | answer)
    async with asking_client(ledger_path, person, mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1005"})
        orders = await client.call_tool("list_orders", {"limit": 100})
    assert error_of(result)["code"] == "invalid_argument"
    assert next(iter(answer)) in error_of(result)["message"]
    assert order_row(orders, "ord_1005")["invoice"] == "none"


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_elicitation_gets_the_missing_billing_details_error(
    ledger_path: Path, mode: str
) -> None:
    async with local_server(ledger_path, "cus_alice") as server, Client(server, mode=mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1005"})
    error = error_of(result)
    assert error["code"] == "missing_billing_details" and "billing_address" in error["hint"]


@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_elicitation_generates_without_questions(ledger_path: Path, mode: str) -> None:
    async with local_server(ledger_path, "cus_alice") as server, Client(server, mode=mode) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
    assert result.structured_content["outcome"] == "generated"


async def test_an_order_that_already_has_its_invoice_is_returned_without_questions(ledger_path: Path) -> None:
    person = Person()
    async with asking_client(ledger_path, person) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1001"})
    assert result.structured_content["outcome"] == "already_generated" and person.asked == []


async def test_another_customers_order_is_not_found_without_questions(ledger_path: Path) -> None:
    person = Person()
    async with asking_client(ledger_path, person) as client:
        theirs = await client.call_tool("generate_invoice", {"order_id": "ord_2003"})
        missing = await client.call_tool("generate_invoice", {"order_id": "ord_9999"})
    assert person.asked == []
    assert error_of(theirs)["message"].replace("ord_2003", "<id>") == error_of(missing)["message"].replace(
        "ord_9999", "<id>"
    )


async def test_billing_given_as_arguments_is_what_the_confirmation_shows(ledger_path: Path) -> None:
    person = Person()
    arguments = {
        "order_id": "ord_1005",
        "billing_address": {"line1": "9 Given Street", "country": "US"},
    }
    async with asking_client(ledger_path, person) as client:
        result = await client.call_tool("generate_invoice", arguments)
    [question] = person.asked  # name from the order, address from the call: complete, no form
    assert "Alice Martin, 9 Given Street, UNITED STATES." in question
    assert result.structured_content["billing"]["address"]["line1"] == "9 Given Street"


@pytest.mark.parametrize("mode", MODES)
async def test_the_billing_form_comes_filled_in_with_what_the_order_already_has(
    ledger_path: Path, mode: str
) -> None:
    """ord_1005 has Alice's name but no address: the name is offered, the address asked for."""
    schemas: list[dict[str, Any]] = []

    async def fill_in(context: Any, params: ElicitRequestParams) -> ElicitResult:
        schemas.append(params.requested_schema)
        if "confirm" in params.requested_schema["properties"]:
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="accept", content={"line1": "1 Filled Lane", "country": "US"})

    async with (
        local_server(ledger_path, "cus_alice") as server,
        Client(server, mode=mode, elicitation_callback=fill_in) as client,
    ):
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1005"})
    form = schemas[0]
    assert form["properties"]["billing_name"]["default"] == "Alice Martin"
    assert set(form["required"]) == {"line1", "country"}
    assert result.structured_content["billing"] == {
        "name": "Alice Martin",
        "address": {
            "line1": "1 Filled Lane",
            "line2": None,
            "postal_code": None,
            "city": None,
            "state": None,
            "country": "US",
        },
    }


# -- over stdio and HTTP: a client that answers, one that declines, one without the capability --------


def add_unbilled_orders(location: Path, *order_ids: str) -> None:
    """Paid orders of CUSTOMER (added here, once per ledger) with no billing details, before a server opens it."""
    ledger = Ledger(
        os.environ.get("MCP_INVOICES_DATABASE_URL") or location
    )  # PostgreSQL in CI's database pass
    try:
        ledger.add_customer(CUSTOMER, "Ask Test", "ask@example.com", date(2026, 1, 1))
        for order_id in order_ids:
            ledger.add_order(
                NewOrder(
                    id=order_id,
                    customer_id=CUSTOMER,
                    created_at=date(2026, 3, 1),
                    currency="EUR",
                    status="paid",
                    lines=[NewOrderLine("Consulting day", Decimal(1), Decimal("800.00"))],
                    paid_at=datetime(2026, 3, 2, tzinfo=UTC),
                    billing=Billing(name=None, address=Address()),
                )
            )
    finally:
        ledger.close()


def expect(kind: str, result: Any) -> None:
    """What each kind of client gets for an order without billing details."""
    if kind == "answers":
        assert result.structured_content["outcome"] == "generated", result.content
        assert result.structured_content["billing"]["name"] == "Ada Lovelace Ltd"
    elif kind == "declines":
        assert result.structured_content["outcome"] == "declined", result.content
    else:
        assert error_of(result)["code"] == "missing_billing_details"


def person_for(kind: str) -> Person | None:
    return {"answers": Person(), "declines": Person(billing_action="decline"), "without": None}[kind]


KINDS = ["answers", "declines", "without"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
async def test_over_stdio_each_kind_of_client_gets_its_answer(
    ledger_path: Path, mode: str, kind: str
) -> None:
    add_unbilled_orders(ledger_path, "ord_ask1")
    env = {"MCP_INVOICES_DB": str(ledger_path), "MCP_INVOICES_CUSTOMER": CUSTOMER}
    if database_url := os.environ.get("MCP_INVOICES_DATABASE_URL"):
        env["MCP_INVOICES_DATABASE_URL"] = database_url
    params = stdio_params(env)
    async with Client(params, mode=mode, elicitation_callback=person_for(kind)) as client:
        result = await client.call_tool("generate_invoice", {"order_id": "ord_ask1"})
    expect(kind, result)


@pytest.fixture(scope="module")
def http_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """One HTTP server on a ledger with an unbilled order per test below; yields (url, token)."""
    ledger = tmp_path_factory.mktemp("elicit-http") / "ledger.sqlite3"
    add_unbilled_orders(ledger, *(f"ord_http_{mode}_{kind}" for mode in MODES for kind in KINDS))
    env = {"MCP_INVOICES_DB": str(ledger)}
    token = issue_token(env, "local", CUSTOMER)
    with http_server(env) as url:
        yield url, token


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", KINDS)
async def test_over_http_each_kind_of_client_gets_its_answer(
    http_deployment: tuple[str, str], mode: str, kind: str
) -> None:
    url, token = http_deployment
    person = person_for(kind)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(
            streamable_http_client(url, http_client=http), mode=mode, elicitation_callback=person
        ) as client,
    ):
        result = await client.call_tool("generate_invoice", {"order_id": f"ord_http_{mode}_{kind}"})
    expect(kind, result)


# -- Polar: completeness from the order Polar reports, details saved at Polar before it generates ----


@pytest.fixture
def polar_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], SandboxStates]]:
    """`serve` over stdio against the Polar emulator (on 127.0.0.1), as alice."""
    states = SandboxStates()
    states.polar.generation_delay = 0
    with serving_in_thread(create_sandbox_app(states)) as sandbox_url:
        polar_only = {
            name: value
            for name, value in sandbox_environment(sandbox_url, "alice").items()
            if name.startswith("POLAR_")
        }
        yield polar_only | {"MCP_INVOICES_DB": str(tmp_path / "ledger.sqlite3")}, states


@pytest.mark.parametrize("mode", MODES)
async def test_polar_asks_for_missing_billing_details_and_saves_them_before_generating(
    polar_env: tuple[dict[str, str], SandboxStates], mode: str
) -> None:
    env, states = polar_env
    person = Person()
    order_id = POLAR_ORDER_IDS["alice_paid_missing_billing"]
    async with Client(stdio_params(env), mode=mode, elicitation_callback=person) as client:
        result = await client.call_tool("generate_invoice", {"order_id": order_id})
    invoice = result.structured_content
    assert not result.is_error and invoice["outcome"] == "generated", result.content
    assert (
        invoice["billing"]["name"] == "Ada Lovelace Ltd" and invoice["billing"]["address"]["city"] == "London"
    )
    assert len(person.asked) == 2 and states.polar.generation_requests[order_id] == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_declined_polar_generation_asks_polar_for_nothing(
    polar_env: tuple[dict[str, str], SandboxStates], mode: str
) -> None:
    env, states = polar_env
    person = Person(confirm_action="decline")
    order_id = POLAR_ORDER_IDS["alice_paid_not_generated"]
    async with Client(stdio_params(env), mode=mode, elicitation_callback=person) as client:
        result = await client.call_tool("generate_invoice", {"order_id": order_id})
    declined = result.structured_content
    assert declined["outcome"] == "declined" and declined["total"] == "71.36" and declined["number"] is None
    [question] = person.asked
    assert "Alice Anders" in question and "€71.36" in question
    assert states.polar.generation_requests.get(order_id, 0) == 0


# -- across replicas ---------------------------------------------------------------------------------

STATE_KEY = "elicitation-test-request-state-key-0123456789"


@contextlib.contextmanager
def two_replicas(env: dict[str, str], workdir: Path) -> Iterator[list[int]]:
    processes: list[subprocess.Popen[bytes]] = []
    ports = [_free_port(), _free_port()]
    stack = contextlib.ExitStack()
    try:
        for port in ports:
            # The replica's output goes to a file shown when it fails to start (never DEVNULL).
            stderr = stack.enter_context((workdir / f"replica-{port}.log").open("wb"))
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "mcp_invoices",
                        "serve",
                        "--transport",
                        "http",
                        "--port",
                        str(port),
                    ],
                    env=os.environ | {"MCP_INVOICES_LOG_LEVEL": "WARNING"} | env,
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                )
            )
        deadline = time.monotonic() + 60
        for port, process in zip(ports, processes, strict=True):
            while True:  # bounded by the deadline
                assert process.poll() is None, "a replica exited; it said:\n" + (
                    workdir / f"replica-{port}.log"
                ).read_text(errors="replace")
                with contextlib.suppress(httpx2.TransportError):
                    if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                assert time.monotonic() < deadline, "a replica did not start"
                time.sleep(0.05)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        stack.close()


async def test_the_questions_of_one_call_may_be_answered_through_different_replicas(tmp_path: Path) -> None:
    """2026-07-28: each round of the call goes to the other replica; the sealed requestState carries the answers."""
    ledger = tmp_path / "ledger.sqlite3"
    add_unbilled_orders(ledger, "ord_replicas")
    env = {
        "MCP_INVOICES_DB": str(ledger),
        "MCP_INVOICES_STATE_KEYS": STATE_KEY,
        "MCP_INVOICES_RESOURCE_URL": "http://127.0.0.1:8000/mcp",  # the balancer's URL: every token's audience
    }
    token = issue_token(env, "local", CUSTOMER)
    person = Person()
    with two_replicas(env, tmp_path) as ports:
        transport = RoundRobin(ports)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(headers=headers, transport=transport, timeout=30) as http:
            url = f"http://127.0.0.1:{ports[0]}/mcp"
            async with Client(
                streamable_http_client(url, http_client=http), elicitation_callback=person
            ) as client:
                result = await client.call_tool("generate_invoice", {"order_id": "ord_replicas"})
    expect("answers", result)
    assert len(person.asked) == 2 and all(count > 0 for count in transport.sent.values())


async def test_a_stateless_handshake_without_a_channel_back_generates_as_without_elicitation(
    ledger_path: Path,
) -> None:
    """Replicas serve the 2025-11-25 handshake statelessly: nothing can be asked there, so nothing is."""
    person = Person()
    async with local_server(ledger_path, "cus_alice") as server:
        app = server.streamable_http_app(host="127.0.0.1", stateless_http=True)
        async with (
            server.session_manager.run(),  # the app's lifespan, by hand
            running_app(app) as base_url,
            Client(
                streamable_http_client(f"{base_url}/mcp"), mode="legacy", elicitation_callback=person
            ) as client,
        ):
            missing = await client.call_tool("generate_invoice", {"order_id": "ord_1005"})
            complete = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
    assert error_of(missing)["code"] == "missing_billing_details"
    assert complete.structured_content["outcome"] == "generated"
    assert person.asked == []


# -- answers that are not answers (issue 21) ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_an_accept_without_content_counts_as_declining_and_generates_nothing(
    ledger_path: Path, mode: str
) -> None:
    async def accept_empty(context: Any, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="accept")

    async with asking_client(ledger_path, accept_empty, mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
        orders = await client.call_tool("list_orders", {"limit": 100})
    if mode == "legacy":  # the handshake era's question is ours to bound: a plain decline
        assert not result.is_error and result.structured_content["outcome"] == "declined"
    else:  # the 2026-07-28 answer arrives with the call again: refused, saying it counts as declining
        assert error_of(result)["code"] == "invalid_argument"
        assert "counts as declining" in error_of(result)["message"]
    assert order_row(orders, "ord_1003")["invoice"] == "none"


async def test_a_clients_own_error_to_a_question_is_reported_as_the_clients(ledger_path: Path) -> None:
    from mcp_types import ErrorData

    async def refuse(context: Any, params: ElicitRequestParams) -> ErrorData:
        return ErrorData(code=-32601, message="elicitation is switched off here")

    async with asking_client(ledger_path, refuse, "legacy") as client:  # type: ignore[arg-type]
        result = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
    error = error_of(result)
    assert error["code"] == "not_supported"
    assert "Your client answered the question with its own error (-32601" in error["message"]


async def test_an_unanswered_question_is_abandoned_after_the_elicitation_timeout(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    monkeypatch.setenv("MCP_INVOICES_ELICITATION_TIMEOUT", "1")

    async def never_answer(context: Any, params: ElicitRequestParams) -> ElicitResult:
        await anyio.sleep(30)
        return ElicitResult(action="cancel")

    started = time.monotonic()
    async with asking_client(ledger_path, never_answer, "legacy") as client:  # type: ignore[arg-type]
        with anyio.fail_after(10):
            result = await client.call_tool("generate_invoice", {"order_id": "ord_1003"})
        orders = await client.call_tool("list_orders", {"limit": 100})
    assert (
        error_of(result)["code"] == "timeout"
        and "not answered within 1 seconds" in error_of(result)["message"]
    )
    assert order_row(orders, "ord_1003")["invoice"] == "none"
    assert time.monotonic() - started < 10
