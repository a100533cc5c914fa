"""The document cache: bounded, keyed by principal and by the invoice as it is now."""

from __future__ import annotations

from pathlib import Path

from mcp_invoices.domain.models import InvoiceStatus
from mcp_invoices.principal import Scope
from mcp_invoices.replicas.documents import DocumentCache
from tests.conftest import local_client
from tests.factories import cached_invoice


def test_another_customers_request_never_hits_an_entry() -> None:
    cache = DocumentCache()
    cache.put(cache.key(Scope("local", "alice"), "pdf", cached_invoice()), b"alice's")
    assert cache.get(cache.key(Scope("local", "bob"), "pdf", cached_invoice())) is None


def test_a_changed_invoice_misses_the_cache() -> None:
    cache = DocumentCache()
    scope = Scope("local", "alice")
    cache.put(cache.key(scope, "pdf", cached_invoice()), b"open")
    assert cache.get(cache.key(scope, "pdf", cached_invoice(status=InvoiceStatus.PAID, paid="10.00"))) is None
    assert cache.get(cache.key(scope, "pdf", cached_invoice())) == b"open"


def test_the_cache_is_bounded_by_entries_and_bytes() -> None:
    cache = DocumentCache(max_entries=3, max_bytes=100)
    scope = Scope("local", "alice")
    for n in range(5):
        cache.put((scope.cache_key(), "pdf", str(n), "f"), b"x" * 20)
    assert len(cache) == 3
    cache.put((scope.cache_key(), "pdf", "big", "f"), b"x" * 24)
    cache.put((scope.cache_key(), "pdf", "big2", "f"), b"x" * 24)
    assert sum(len(cache.get(key) or b"") for key in list(cache._entries)) <= 100


async def test_reading_a_pdf_twice_renders_it_once(ledger_path: Path, monkeypatch) -> None:
    from mcp_invoices.providers.local.provider import LocalProvider

    renders: list[str] = []
    original = LocalProvider.render_pdf

    async def counting(self, invoice):  # type: ignore[no-untyped-def]
        renders.append(invoice.id)
        return await original(self, invoice)

    monkeypatch.setattr(LocalProvider, "render_pdf", counting)
    async with local_client(ledger_path, "cus_alice") as client:
        first = await client.read_resource("invoice://local/ord_1001/pdf")
        second = await client.read_resource("invoice://local/ord_1001/pdf")
    assert first.contents[0].blob == second.contents[0].blob
    assert renders == ["ord_1001"]
