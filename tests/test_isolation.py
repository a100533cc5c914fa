"""Isolation: a session bound to one customer can never see, guess or generate another's invoice.

One real server process over streamable HTTP serves all five providers at once (the local ledger
and the four emulators over real HTTP on 127.0.0.1). Every provider x every tool and resource x
{own object, another customer's, missing} is checked through the SDK's real client, on both
protocol eras (completions and compare_invoices included); then two principals interleave many calls concurrently; then the emulators' request
logs and the server's own log are searched for the server's bearer tokens and the providers' keys.
All of it twice: with printed tokens, and with tokens customers got by signing in (local, Polar, Bagisto).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference
from pydantic import SecretStr

from mcp_invoices.auth.tokens import TokenStore
from mcp_invoices.providers.catalog import PROVIDER_IDS, ProviderSpec, spec
from mcp_invoices.providers.emulation import serving_in_thread
from mcp_invoices.providers.emulation.emulator import Emulator
from mcp_invoices.sandbox import EMULATED, SandboxStates, create_sandbox_app, sandbox_environment
from tests.conftest import REPO
from tests.results import error_of
from tests.signin_support import sign_in_for_tokens

SECRET_KEY = "isolation-test-secret-key-0123456789abcdef"


@dataclass(frozen=True)
class Case:
    """One provider's objects as seen by alice: hers, bob's, and one nobody has."""

    provider: str
    alice: str
    bob: str
    own_invoice: str
    others_invoice: str
    missing_invoice: str
    own_order: str | None = None  # an order of alice's that already has its invoice (generate returns it)
    others_order: str | None = None


def _emulated(entry: ProviderSpec, emulator: Emulator[Any]) -> Case:
    """A provider's case from its emulator's declaration: the seed's objects by role."""
    seeded = emulator.seeded
    return Case(
        entry.id,
        emulator.customer_ids["alice"],
        emulator.customer_ids["bob"],
        seeded.invoices["alice"],
        seeded.invoices["bob"],
        seeded.missing_invoice,
        seeded.orders.get("alice"),
        seeded.orders.get("bob"),
    )


CASES = [
    Case("local", "cus_alice", "cus_bob", "ord_1001", "ord_2001", "ord_9999", "ord_1001", "ord_2001"),
    *(_emulated(entry, emulator) for entry, emulator in EMULATED),
]
IDS = [case.provider for case in CASES]


def test_the_matrix_covers_every_provider_of_the_catalog() -> None:
    """A provider added to the catalog (with its emulator) joins every test below without an edit here."""
    assert IDS == list(PROVIDER_IDS)
    assert all(case.own_order for case in CASES if spec(case.provider).info.generates_invoices)


@dataclass
class Deployment:
    url: str
    tokens: dict[tuple[str, str], str]  # (provider, "alice"|"bob") -> bearer token
    states: SandboxStates
    stderr_path: Path
    secrets: list[str]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SIGN_IN: dict[str, tuple[tuple[str, str | None], tuple[str, str | None]]] = {
    # provider -> (alice, bob): how each signs in through the server's own pages (e-mail, password
    # or None where the server e-mails a code)
    "local": (("alice@example.com", None), ("bob@okafor.example", None)),
    **{
        entry.id: (emulator.sign_in["alice"], emulator.sign_in["bob"])
        for entry, emulator in EMULATED
        if emulator.sign_in
    },
}
"""With ``signed-in``, these providers' sessions use tokens a customer got by signing in (OAuth), not
printed ones; the providers whose emulator declares no sign-in keep printed tokens."""


def _customers_own_variables(entry: ProviderSpec) -> list[str]:
    """The variables that name one customer: HTTP mode takes the scope from each token instead."""
    own = [credential.variable for credential in entry.credentials if credential.transports == {"stdio"}]
    return own + ([entry.customer_variable] if entry.customer_variable else [])


def _carried_credential(entry: ProviderSpec, emulator: Emulator[Any], who: str) -> SecretStr | None:
    """The customer's own credential a printed token carries, where the server's HTTP credentials
    cannot stand in for it (no credential used over HTTP alone, such as Polar's organisation token)."""
    own = [credential for credential in entry.credentials if credential.transports == {"stdio"}]
    if not own or any(credential.transports == {"http"} for credential in entry.credentials):
        return None
    [credential] = own
    return SecretStr(emulator.credentials(who)[credential.key])


def _code_from_log(stderr_path: Path, email: str, seen: int) -> Callable[[], str]:
    """Reads the development-mode code for ``email`` from the server's log: the one after ``seen``."""

    def read() -> str:
        deadline = time.monotonic() + 15
        while True:  # bounded: until the server has logged the code or the deadline passes
            codes = re.findall(
                rf"development sign-in code for {re.escape(email)}: (\d{{8}})", stderr_path.read_text()
            )
            if len(codes) > seen:
                return codes[seen]
            assert time.monotonic() < deadline, f"no sign-in code for {email} in the server log"
            time.sleep(0.05)

    return read


@pytest.fixture(scope="module", params=["printed", "signed-in"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("isolation")
    db = workdir / "ledger.sqlite3"
    states = SandboxStates()
    for state in states.values():  # emulators that generate invoices after a delay (Polar's) do it at once
        if hasattr(state, "generation_delay"):
            state.generation_delay = 0
    with serving_in_thread(create_sandbox_app(states)) as sandbox_url:
        provider_env = sandbox_environment(sandbox_url, "alice")
        # HTTP mode takes the scope from each token: the per-customer variables are not the server's.
        for entry, _ in EMULATED:
            for name in _customers_own_variables(entry):
                provider_env.pop(name)
        store = TokenStore(db, secret_key=SecretStr(SECRET_KEY))
        tokens: dict[tuple[str, str], str] = {}
        carried = {entry.id: (entry, emulator) for entry, emulator in EMULATED}
        for case in CASES:
            for who, customer in (("alice", case.alice), ("bob", case.bob)):
                credential = (
                    _carried_credential(*carried[case.provider], who) if case.provider in carried else None
                )
                issued = store.issue(
                    case.provider, customer, ttl=timedelta(hours=1), provider_credential=credential
                )
                tokens[(case.provider, who)] = issued.token.get_secret_value()
        port = _free_port()
        stderr_path = workdir / "server.stderr"
        env = (
            os.environ
            | provider_env
            | {
                "MCP_INVOICES_DB": str(db),
                "MCP_INVOICES_LOCAL": "1",  # the local ledger beside the four remote providers
                "MCP_INVOICES_SECRET_KEY": SECRET_KEY,
                "MCP_INVOICES_LOG_LEVEL": "DEBUG",
                "MCP_INVOICES_SIGNIN_LOG_CODES": "1",
            }
        )
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "mcp_invoices", "serve", "--transport", "http", "--port", str(port)],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            try:
                deadline = time.monotonic() + 30
                while True:  # bounded wait for the health endpoint
                    assert process.poll() is None, stderr_path.read_text()
                    with contextlib.suppress(httpx2.TransportError):
                        if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                            break
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.05)
                if request.param == "signed-in":
                    url = f"http://127.0.0.1:{port}/mcp"
                    for provider, people in SIGN_IN.items():
                        for who, (email, password) in zip(("alice", "bob"), people, strict=True):
                            seen = len(
                                re.findall(rf"sign-in code for {re.escape(email)}:", stderr_path.read_text())
                            )
                            signed_in = sign_in_for_tokens(
                                url,
                                provider,
                                email,
                                code=_code_from_log(stderr_path, email, seen) if password is None else None,
                                password=password,
                            )
                            tokens[(provider, who)] = signed_in["access_token"]
                secrets = (
                    list(tokens.values())
                    + [  # every credential of every seeded customer of every emulator
                        value
                        for _, emulator in EMULATED
                        for who in emulator.customer_ids
                        for value in emulator.credentials(who).values()
                    ]
                    + [SECRET_KEY]
                )
                yield Deployment(f"http://127.0.0.1:{port}/mcp", tokens, states, stderr_path, secrets)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.asynccontextmanager
async def session(
    deployment: Deployment, provider: str, who: str, mode: str = "auto"
) -> AsyncIterator[Client]:
    token = deployment.tokens[(provider, who)]
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with Client(streamable_http_client(deployment.url, http_client=http), mode=mode) as client:
            yield client


def _same_answer(theirs: dict[str, Any], missing: dict[str, Any], their_id: str, missing_id: str) -> bool:
    def normal(error: dict[str, Any], object_id: str) -> str:
        return json.dumps(error, sort_keys=True).replace(object_id, "<id>")

    return normal(theirs, their_id) == normal(missing, missing_id)


# -- the matrix: provider x surface x {own, another customer's, missing} ----------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("tool", ["get_invoice", "summarize_invoice"])
async def test_invoice_tools_serve_own_and_answer_others_exactly_as_missing(
    deployment: Deployment, case: Case, tool: str, mode: str
) -> None:
    async with session(deployment, case.provider, "alice", mode) as client:
        own = await client.call_tool(tool, {"invoice_id": case.own_invoice})
        theirs = await client.call_tool(tool, {"invoice_id": case.others_invoice})
        missing = await client.call_tool(tool, {"invoice_id": case.missing_invoice})
    assert not own.is_error, own.content
    assert theirs.is_error and missing.is_error
    assert error_of(theirs)["code"] == "not_found"
    assert _same_answer(error_of(theirs), error_of(missing), case.others_invoice, case.missing_invoice)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_generate_serves_own_order_and_answers_others_exactly_as_missing(
    deployment: Deployment, case: Case
) -> None:
    async with session(deployment, case.provider, "alice") as client:
        if case.own_order is None:  # providers without generation say so, the same for every id
            answers = [
                await client.call_tool("generate_invoice", {"order_id": order})
                for order in (case.own_invoice, case.others_invoice, case.missing_invoice)
            ]
            assert {error_of(answer)["code"] for answer in answers} == {"not_supported"}
            return
        own = await client.call_tool("generate_invoice", {"order_id": case.own_order})
        theirs = await client.call_tool("generate_invoice", {"order_id": case.others_order})
        missing = await client.call_tool("generate_invoice", {"order_id": case.missing_invoice})
    assert not own.is_error and own.structured_content["outcome"] == "already_generated"
    assert error_of(theirs)["code"] == "not_found"
    assert _same_answer(error_of(theirs), error_of(missing), case.others_order, case.missing_invoice)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("suffix", ["", "/pdf"], ids=["json", "pdf"])
async def test_resources_serve_own_and_answer_others_exactly_as_missing(
    deployment: Deployment, case: Case, suffix: str
) -> None:
    async with session(deployment, case.provider, "alice") as client:
        own = await client.read_resource(f"invoice://{case.provider}/{case.own_invoice}{suffix}")
        errors = []
        for object_id in (case.others_invoice, case.missing_invoice):
            with pytest.raises(MCPError) as raised:
                await client.read_resource(f"invoice://{case.provider}/{object_id}{suffix}")
            errors.append(raised.value)
    assert own.contents
    theirs, missing = errors
    assert theirs.error.code == missing.error.code
    assert str(theirs).replace(case.others_invoice, "<id>") == str(missing).replace(
        case.missing_invoice, "<id>"
    )


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_lists_summaries_and_resource_lists_hold_only_the_sessions_invoices(
    deployment: Deployment, case: Case
) -> None:
    async with (
        session(deployment, case.provider, "alice") as alice,
        session(deployment, case.provider, "bob") as bob,
    ):
        alice_rows = (await alice.call_tool("list_invoices", {"limit": 100})).structured_content["invoices"]
        bob_rows = (await bob.call_tool("list_invoices", {"limit": 100})).structured_content["invoices"]
        alice_summary = (await alice.call_tool("summarize_invoices", {})).structured_content
        alice_resources = (await alice.list_resources()).resources
    alice_ids = {row["id"] for row in alice_rows}
    bob_ids = {row["id"] for row in bob_rows}
    assert case.own_invoice in alice_ids and case.others_invoice in bob_ids
    assert not alice_ids & bob_ids
    assert alice_summary["count"] == len(alice_rows)
    assert {resource.uri for resource in alice_resources} <= {row["uri"] for row in alice_rows}
    assert not any(case.others_invoice in resource.uri for resource in alice_resources)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_completions_suggest_only_the_sessions_own_invoices(
    deployment: Deployment, case: Case, mode: str
) -> None:
    template = ResourceTemplateReference(uri="invoice://{provider}/{invoice_id}")
    prompt = PromptReference(name="explain_invoice")
    async with session(deployment, case.provider, "bob") as bob:
        bob_rows = (await bob.call_tool("list_invoices", {"limit": 100})).structured_content["invoices"]
    bobs = {row["id"] for row in bob_rows} | {row["number"] for row in bob_rows if row["number"]}
    async with session(deployment, case.provider, "alice", mode) as alice:
        own = (await alice.complete(template, {"name": "invoice_id", "value": ""})).completion.values
        suggested = set(own)
        for typed in sorted(bobs):  # what bob's ids and numbers look like, typed in full and in part
            for ref in (template, prompt):
                for value in (typed, typed[:3]):
                    answer = await alice.complete(ref, {"name": "invoice_id", "value": value})
                    suggested |= set(answer.completion.values)
    assert case.own_invoice in own
    assert not suggested & bobs


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_compare_invoices_stays_within_the_session_and_answers_others_exactly_as_missing(
    deployment: Deployment, case: Case
) -> None:
    async with session(deployment, case.provider, "alice") as client:
        rows = (await client.call_tool("list_invoices", {"limit": 100})).structured_content["invoices"]
        # An invoice with an earlier issued one in its currency where the session has one (else the newest).
        position = next(
            (
                index
                for index, row in enumerate(rows)
                if any(
                    later["currency"] == row["currency"] and later["status"] not in ("pending", "draft")
                    for later in rows[index + 1 :]
                )
            ),
            0,
        )
        default = await client.call_tool("compare_invoices", {"invoice_id": rows[position]["id"]})
        theirs = await client.call_tool(
            "compare_invoices", {"invoice_id": case.own_invoice, "other_invoice_id": case.others_invoice}
        )
        missing = await client.call_tool(
            "compare_invoices", {"invoice_id": case.own_invoice, "other_invoice_id": case.missing_invoice}
        )
    # The invoice issued just before it, same currency, read from the session's own listing.
    earlier = [
        row
        for row in rows[position + 1 :]
        if row["currency"] == rows[position]["currency"]
        and row["issued_at"]
        and row["status"] not in ("pending", "draft")
    ]
    if earlier:
        assert not default.is_error, default.content
        comparison = default.structured_content
        assert comparison["other"]["id"] == earlier[0]["id"]
        parts = comparison["breakdown"]
        explained = sum(Decimal(parts[name]) for name in ("discount", "tax", "shipping", "other"))
        lines = sum(Decimal(line["difference"]) for line in comparison["lines"])
        assert lines + explained == Decimal(comparison["differences"]["total"])
    else:
        assert error_of(default)["code"] == "not_found"
    assert error_of(theirs)["code"] == "not_found"
    assert _same_answer(error_of(theirs), error_of(missing), case.others_invoice, case.missing_invoice)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_numbers_serve_own_invoice_in_any_case_and_answer_anothers_number_exactly_as_missing(
    deployment: Deployment, case: Case
) -> None:
    """The printed number works wherever an id does; another customer's number is a missing one."""
    missing_number = "no-such-number-0001"
    async with (
        session(deployment, case.provider, "alice") as alice,
        session(deployment, case.provider, "bob") as bob,
    ):
        own_number = (
            await alice.call_tool("get_invoice", {"invoice_id": case.own_invoice})
        ).structured_content["number"]
        their_number = (
            await bob.call_tool("get_invoice", {"invoice_id": case.others_invoice})
        ).structured_content["number"]
        assert own_number and their_number and own_number != their_number
        for tool in ("get_invoice", "summarize_invoice"):
            own = await alice.call_tool(tool, {"invoice_id": own_number.lower()})
            theirs = await alice.call_tool(tool, {"invoice_id": their_number.lower()})
            missing = await alice.call_tool(tool, {"invoice_id": missing_number})
            assert not own.is_error, own.content
            assert case.own_invoice in {
                own.structured_content.get("id"),
                own.structured_content.get("invoice_id"),
            }
            assert error_of(theirs)["code"] == "not_found"
            assert _same_answer(error_of(theirs), error_of(missing), their_number.lower(), missing_number)
        for suffix in ("", "/pdf"):
            read = await alice.read_resource(f"invoice://{case.provider}/{own_number.lower()}{suffix}")
            assert read.contents
            errors = []
            for number in (their_number.lower(), missing_number):
                with pytest.raises(MCPError) as raised:
                    await alice.read_resource(f"invoice://{case.provider}/{number}{suffix}")
                errors.append(raised.value)
            theirs_error, missing_error = errors
            assert theirs_error.error.code == missing_error.error.code
            assert str(theirs_error).replace(their_number.lower(), "<n>") == str(missing_error).replace(
                missing_number, "<n>"
            )


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_overdue_and_due_date_listings_hold_only_the_sessions_invoices(
    deployment: Deployment, case: Case
) -> None:
    async with (
        session(deployment, case.provider, "alice") as alice,
        session(deployment, case.provider, "bob") as bob,
    ):
        bob_ids = {
            row["id"]
            for row in (await bob.call_tool("list_invoices", {"limit": 100})).structured_content["invoices"]
        }
        for arguments in (
            {"overdue": True},
            {"overdue": False},
            {"due_after": "2000-01-01", "due_before": "2100-01-01"},
        ):
            listed = await alice.call_tool("list_invoices", {"limit": 100, **arguments})
            summary = await alice.call_tool("summarize_invoices", arguments)
            assert not listed.is_error and not summary.is_error, (listed.content, summary.content)
            rows = listed.structured_content["invoices"]
            assert not {row["id"] for row in rows} & bob_ids
            assert summary.structured_content["count"] == len(rows)


# -- concurrency: two principals interleaving on one server -----------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_interleaved_principals_never_receive_each_others_data(
    deployment: Deployment, mode: str
) -> None:
    """Alice and Bob, on every provider at once, 20 rounds each: every answer is exactly their own."""
    expected: dict[tuple[str, str], tuple[set[str], int]] = {}
    for case in CASES:  # what each principal's own answers are, asked one at a time first
        for who in ("alice", "bob"):
            async with session(deployment, case.provider, who) as client:
                rows = (await client.call_tool("list_invoices", {"limit": 100})).structured_content[
                    "invoices"
                ]
            expected[(case.provider, who)] = ({row["id"] for row in rows}, len(rows))
    failures: list[str] = []

    async def worker(case: Case, who: str) -> None:
        own_ids, own_count = expected[(case.provider, who)]
        own_invoice = case.own_invoice if who == "alice" else case.others_invoice
        own_customer = case.alice if who == "alice" else case.bob
        async with session(deployment, case.provider, who, mode) as client:
            for _ in range(20):  # bounded
                rows = (await client.call_tool("list_invoices", {"limit": 100})).structured_content[
                    "invoices"
                ]
                if {row["id"] for row in rows} != own_ids:
                    failures.append(
                        f"{case.provider}/{who}: list_invoices {sorted(row['id'] for row in rows)}"
                    )
                summary = (await client.call_tool("summarize_invoices", {})).structured_content
                if summary["count"] != own_count:
                    failures.append(f"{case.provider}/{who}: summarize_invoices count {summary['count']}")
                invoice = await client.call_tool("get_invoice", {"invoice_id": own_invoice})
                content = invoice.structured_content
                customer = (content.get("customer") or {}).get("id")
                if invoice.is_error or content["id"] != own_invoice or customer not in (own_customer, None):
                    failures.append(f"{case.provider}/{who}: get_invoice {json.dumps(content)[:160]}")

    async with anyio.create_task_group() as group:
        for case in CASES:
            group.start_soon(worker, case, "alice")
            group.start_soon(worker, case, "bob")
    assert failures == []


# -- no token passthrough, no secret in logs --------------------------------------------------------


async def test_the_servers_bearer_token_never_reaches_a_provider(deployment: Deployment) -> None:
    for case in CASES:  # make sure every provider has been called at least once
        async with session(deployment, case.provider, "alice") as client:
            await client.call_tool("list_invoices", {})
    bearer_tokens = {token for token in deployment.tokens.values()}
    logged = [
        json.dumps({"path": entry.path, "query": entry.query, "headers": dict(entry.headers)})
        for controls in deployment.states.all_controls()
        for entry in controls.request_log
    ]
    assert logged, "the emulators recorded no request"
    assert not [line for line in logged if any(token in line for token in bearer_tokens)]
    assert not [line for line in logged if "mcpi_" in line]


async def test_the_server_log_carries_no_token_or_key(deployment: Deployment) -> None:
    for case in CASES:  # a miss on every provider, logged at DEBUG with whatever it sent and received
        async with session(deployment, case.provider, "alice") as client:
            await client.call_tool("get_invoice", {"invoice_id": case.missing_invoice})
    log = deployment.stderr_path.read_text()
    assert log, "the server logged nothing at DEBUG"
    leaked = [secret for secret in deployment.secrets if secret and secret in log]
    assert leaked == []
