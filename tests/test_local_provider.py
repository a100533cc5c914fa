"""Specification of the local provider: the ledger behind the async provider interface.

Real ledger databases (SQLite files in ``tmp_path``, or PostgreSQL: see conftest); concurrency
through real anyio task groups and worker threads.
"""

from __future__ import annotations

import io
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pypdf
import pytest

from mcp_invoices.domain.errors import NotFound
from mcp_invoices.domain.models import Address, Billing, Invoice, InvoiceFilter
from mcp_invoices.principal import Scope
from mcp_invoices.providers.base import Generation
from mcp_invoices.providers.local.ledger import NewOrder, NewOrderLine
from mcp_invoices.providers.local.provider import LocalProvider, open_local_provider
from mcp_invoices.providers.local.seed import SAMPLE_CUSTOMERS
from tests.databases import rows

OWNER = Scope("local", None)
ALICE = Scope("local", "cus_alice")
BOB = Scope("local", "cus_bob")
BILLING = Billing(name="Test Buyer Ltd", address=Address(line1="1 Test Street", country="US"))


@pytest.fixture
def ledger_file(tmp_path: Path, database: Path | str) -> Path | str:
    """A SQLite file in a directory that does not exist yet, or a fresh PostgreSQL database."""
    return tmp_path / "data" / "ledger.sqlite3" if isinstance(database, Path) else database


@pytest.fixture
async def local(ledger_file: Path | str) -> AsyncIterator[LocalProvider]:
    """The provider on a freshly seeded sample ledger."""
    provider = await open_local_provider(ledger_file)
    yield provider
    await provider.aclose()


@pytest.fixture
async def unseeded(ledger_file: Path | str) -> AsyncIterator[LocalProvider]:
    """The provider on an empty ledger with one customer, ``cus_a``."""
    provider = await open_local_provider(ledger_file, seed=False)
    provider.ledger.add_customer("cus_a", "Customer A", None, date(2026, 1, 1))
    yield provider
    await provider.aclose()


def add_paid_orders(provider: LocalProvider, count: int) -> list[str]:
    ids = [f"ord_{n:03d}" for n in range(count)]
    for order_id in ids:
        provider.ledger.add_order(
            NewOrder(
                order_id,
                "cus_a",
                date(2026, 1, 1),
                "USD",
                "paid",
                [NewOrderLine("Service", Decimal(1), Decimal("10.00"))],
                billing=BILLING,
            )
        )
    return ids


def table_counts(ledger_file: Path | str) -> dict[str, int]:
    return {
        table: rows(ledger_file, f"SELECT count(*) FROM {table}")[0][0]
        for table in ("customers", "orders", "order_lines", "invoices")
    }


def last_numbers(ledger_file: Path | str) -> dict[int, int]:
    return {year: last for year, last in rows(ledger_file, "SELECT year, last FROM invoice_sequences")}


# -- opening and seeding ---------------------------------------------------------------------------


async def test_first_open_creates_the_ledger_file_and_its_directory(
    local: LocalProvider, ledger_file: Path | str
) -> None:
    if not isinstance(ledger_file, Path):
        pytest.skip("a SQLite file's behaviour; a PostgreSQL database exists before the server opens it")
    assert ledger_file.is_file()


async def test_first_open_seeds_three_customers_and_at_least_ten_orders(
    local: LocalProvider, ledger_file: Path | str
) -> None:
    counts = table_counts(ledger_file)
    assert counts["customers"] == 3
    assert counts["orders"] >= 10
    orders = (await local.list_orders(OWNER, limit=100, cursor=None)).items
    assert {order.currency for order in orders} >= {"USD", "EUR", "JPY"}
    assert {order.status for order in orders} >= {"paid", "pending", "void", "refunded"}


async def test_first_open_seeds_relative_to_the_given_day(ledger_file: Path | str) -> None:
    provider = await open_local_provider(ledger_file, today=date(2026, 3, 1))
    try:
        invoice = await provider.get_invoice(OWNER, "ord_3002")
    finally:
        await provider.aclose()
    assert invoice.issued_at == date(2026, 3, 1) - timedelta(days=5)


async def test_reopening_an_existing_ledger_does_not_seed_again(ledger_file: Path | str) -> None:
    first = await open_local_provider(ledger_file, today=date(2026, 3, 1))
    before = (await first.list_orders(OWNER, limit=100, cursor=None)).items
    await first.aclose()
    counts = table_counts(ledger_file)

    again = await open_local_provider(ledger_file, today=date(2026, 9, 1))
    try:
        after = (await again.list_orders(OWNER, limit=100, cursor=None)).items
    finally:
        await again.aclose()
    assert table_counts(ledger_file) == counts
    assert after == before


async def test_opening_without_seed_leaves_the_ledger_empty(ledger_file: Path | str) -> None:
    provider = await open_local_provider(ledger_file, seed=False)
    try:
        assert (await provider.list_orders(OWNER, limit=10, cursor=None)).items == []
        assert (await provider.list_invoices(OWNER, InvoiceFilter(), limit=10, cursor=None)).items == []
    finally:
        await provider.aclose()


async def test_a_ledger_opened_without_seed_is_seeded_on_a_later_open(ledger_file: Path | str) -> None:
    await (await open_local_provider(ledger_file, seed=False)).aclose()
    await (await open_local_provider(ledger_file)).aclose()
    assert table_counts(ledger_file)["customers"] == len(SAMPLE_CUSTOMERS)


# -- reads through the provider --------------------------------------------------------------------


async def test_a_customer_scope_lists_only_that_customers_invoices(local: LocalProvider) -> None:
    invoices = (await local.list_invoices(ALICE, InvoiceFilter(), limit=100, cursor=None)).items
    assert {invoice.id for invoice in invoices} == {"ord_1001", "ord_1002"}


async def test_another_customers_invoice_is_the_same_not_found_as_a_missing_one(local: LocalProvider) -> None:
    with pytest.raises(NotFound) as other:
        await local.get_invoice(ALICE, "ord_2001")
    with pytest.raises(NotFound) as missing:
        await local.get_invoice(ALICE, "ord_2009")
    assert str(other.value).replace("ord_2001", "<id>") == str(missing.value).replace("ord_2009", "<id>")
    assert other.value.hint == missing.value.hint


async def test_the_pdf_of_another_customers_invoice_is_the_same_not_found_as_a_missing_one(
    local: LocalProvider,
) -> None:
    with pytest.raises(NotFound) as other:
        await local.invoice_pdf(BOB, "ord_1001")
    with pytest.raises(NotFound) as missing:
        await local.invoice_pdf(BOB, "ord_1009")
    assert str(other.value).replace("ord_1001", "<id>") == str(missing.value).replace("ord_1009", "<id>")
    assert other.value.hint == missing.value.hint


# -- generation through the provider ---------------------------------------------------------------


async def test_generating_reports_progress_to_completion(local: LocalProvider) -> None:
    reports: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str) -> None:
        reports.append((done, total))

    generation = await local.generate_invoice(ALICE, "ord_1003", billing=None, wait=True, progress=progress)
    assert generation.invoice.number and generation.outcome == "generated"
    assert reports[0][0] == 0 and reports[-1][0] == reports[-1][1]


async def test_two_simultaneous_generations_of_one_order_issue_one_invoice(
    unseeded: LocalProvider, ledger_file: Path | str
) -> None:
    [order_id] = add_paid_orders(unseeded, 1)
    generations: list[Generation] = []

    async def generate() -> None:
        generations.append(await unseeded.generate_invoice(OWNER, order_id, billing=None, wait=True))

    async with anyio.create_task_group() as group:
        group.start_soon(generate)
        group.start_soon(generate)

    first, second = (generation.invoice for generation in generations)
    assert sorted(generation.outcome for generation in generations) == ["already_generated", "generated"]
    assert first == second
    assert first.issued_at is not None
    assert first.number == f"INV-{first.issued_at.year}-0001"
    assert table_counts(ledger_file)["invoices"] == 1
    assert last_numbers(ledger_file) == {first.issued_at.year: 1}


async def test_n_simultaneous_generations_for_n_orders_get_n_consecutive_numbers(
    unseeded: LocalProvider, ledger_file: Path | str
) -> None:
    order_ids = add_paid_orders(unseeded, 16)
    invoices: list[Invoice] = []

    async def generate(order_id: str) -> None:
        invoices.append((await unseeded.generate_invoice(OWNER, order_id, billing=None, wait=True)).invoice)

    async with anyio.create_task_group() as group:
        for order_id in order_ids:
            group.start_soon(generate, order_id)

    assert {invoice.id for invoice in invoices} == set(order_ids)
    year = invoices[0].issued_at.year if invoices[0].issued_at else 0
    assert sorted(invoice.number or "" for invoice in invoices) == [
        f"INV-{year}-{n:04d}" for n in range(1, 17)
    ]
    assert last_numbers(ledger_file) == {year: 16}


# -- blocking work off the event loop --------------------------------------------------------------

PROVIDER_CALLS: dict[str, tuple[str, Callable[[LocalProvider], Awaitable[Any]]]] = {
    # name: (the ledger method it must run in a worker thread, the provider call)
    "invoice_by_id": ("get_invoice", lambda p: p.invoice_by_id(OWNER, "ord_1001")),
    "list_invoices": (
        "list_invoices",
        lambda p: p.list_invoices(OWNER, InvoiceFilter(), limit=5, cursor=None),
    ),
    "list_orders": ("list_orders", lambda p: p.list_orders(OWNER, limit=5, cursor=None)),
    "generate_invoice": (
        "issue_invoice",
        lambda p: p.generate_invoice(OWNER, "ord_1003", billing=None, wait=True),
    ),
    "invoice_pdf": ("seller", lambda p: p.invoice_pdf(OWNER, "ord_1001")),
    "aclose": ("close", lambda p: p.aclose()),
}


@pytest.mark.parametrize("call", list(PROVIDER_CALLS))
async def test_ledger_work_runs_in_a_worker_thread_not_on_the_event_loop(
    local: LocalProvider, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    method_name, invoke = PROVIDER_CALLS[call]
    original = getattr(local.ledger, method_name)
    on_main_thread: list[bool] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        on_main_thread.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(local.ledger, method_name, recording)
    await invoke(local)
    assert on_main_thread == [False]


async def test_one_invoice_is_read_on_the_event_loop_from_sqlite_and_in_a_worker_thread_otherwise(
    local: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert local.ledger is not None
    original = local.ledger.find_invoice
    on_main_thread: list[bool] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        on_main_thread.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(local.ledger, "find_invoice", recording)
    await local.get_invoice(OWNER, "ord_1001")
    assert on_main_thread == [local.ledger.database.is_sqlite]


async def test_opening_and_seeding_run_in_a_worker_thread(
    ledger_file: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mcp_invoices.providers.local.seed as seed_module

    original = seed_module.seed_sample_data
    on_main_thread: list[bool] = []

    def recording(*args: Any, **kwargs: Any) -> None:
        on_main_thread.append(threading.current_thread() is threading.main_thread())
        original(*args, **kwargs)

    monkeypatch.setattr(seed_module, "seed_sample_data", recording)
    await (await open_local_provider(ledger_file)).aclose()
    assert on_main_thread == [False]


# -- the PDF ---------------------------------------------------------------------------------------


async def test_the_pdf_of_a_local_invoice_is_a_pdf(local: LocalProvider) -> None:
    assert (await local.invoice_pdf(ALICE, "ord_1001")).startswith(b"%PDF-")


async def test_the_pdf_of_a_local_invoice_shows_its_number_and_the_seller(local: LocalProvider) -> None:
    invoice = await local.get_invoice(ALICE, "ord_1001")
    pdf = await local.invoice_pdf(ALICE, "ord_1001")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert invoice.number and invoice.number in text
    assert "Northwind Studio Ltd" in text


async def test_the_pdf_of_a_jpy_invoice_shows_its_number_and_the_seller(local: LocalProvider) -> None:
    invoice = await local.get_invoice(OWNER, "ord_3001")
    pdf = await local.invoice_pdf(OWNER, "ord_3001")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert invoice.number and invoice.number in text
    assert "Northwind Studio Ltd" in text


async def test_sql_aggregation_gives_exactly_the_summary_of_every_invoice_one_by_one(
    database: Path | str,
) -> None:
    """The ledger's GROUP BY and the pure domain function agree, for every filter and scope."""
    from datetime import UTC, datetime, timedelta

    from mcp_invoices.domain.models import InvoiceFilter, InvoiceStatus
    from mcp_invoices.domain.summary import summarize_invoices
    from mcp_invoices.principal import Scope
    from mcp_invoices.providers.base import InvoiceProvider
    from mcp_invoices.providers.local.provider import open_local_provider

    provider = await open_local_provider(database)
    try:
        today = datetime.now(UTC).date()
        for order in ("ord_1003", "ord_2003", "ord_3003"):
            await provider.generate_invoice(Scope("local", None), order, billing=None, wait=True)
        filters = [
            InvoiceFilter(),
            InvoiceFilter(status=InvoiceStatus.OPEN),
            InvoiceFilter(issued_after=today - timedelta(days=60)),
            InvoiceFilter(issued_before=today - timedelta(days=30)),
            InvoiceFilter(due_after=today - timedelta(days=20)),
            InvoiceFilter(due_before=today + timedelta(days=20)),
        ]
        for customer in (None, "cus_alice", "cus_bob", "cus_hana"):
            scope = Scope("local", customer)
            every = [i async for i in provider.iter_invoices(scope, InvoiceFilter())]
            for as_of in (today, today + timedelta(days=45), today + timedelta(days=200)):
                overdue = [InvoiceFilter(overdue=flag, as_of=as_of) for flag in (True, False)]
                for query in filters + overdue:
                    by_sql = await provider.summarize(scope, query, as_of)
                    one_by_one = await InvoiceProvider.summarize(provider, scope, query, as_of)
                    assert by_sql == one_by_one
                    assert by_sql == summarize_invoices(
                        [i async for i in provider.iter_invoices(scope, query)], as_of
                    )
                    # The SQL filter selects exactly what the domain rule selects.
                    assert by_sql == summarize_invoices([i for i in every if query.matches(i)], as_of)
    finally:
        await provider.aclose()


async def test_a_real_ledger_can_start_empty_with_seeding_turned_off(tmp_path) -> None:
    from mcp_invoices.config import load_config
    from mcp_invoices.domain.models import InvoiceFilter
    from mcp_invoices.principal import Scope
    from mcp_invoices.server.runtime import open_runtime

    config = load_config({"MCP_INVOICES_DB": str(tmp_path / "real.sqlite3"), "MCP_INVOICES_SEED": "0"})
    async with open_runtime(config) as runtime:
        page = await runtime.providers["local"].list_invoices(
            Scope("local", None), InvoiceFilter(), limit=10, cursor=None
        )
    assert page.items == []


async def test_a_lazily_made_provider_opens_the_ledger_on_first_use_in_a_worker_thread(
    tmp_path: Path,
) -> None:
    from mcp_invoices.domain.models import InvoiceFilter
    from mcp_invoices.principal import Scope

    path = tmp_path / "lazy.sqlite3"
    provider = await open_local_provider(path, lazy=True)
    try:
        assert provider.ledger is None and not path.exists()
        page = await provider.list_invoices(
            Scope("local", "cus_alice"), InvoiceFilter(), limit=5, cursor=None
        )
        assert page.items and provider.ledger is not None
    finally:
        await provider.aclose()
