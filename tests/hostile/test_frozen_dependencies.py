"""A database or shared store that stops answering: every call gets a coded answer within its deadline.

PostgreSQL and Redis are real servers of this test's own, stopped with SIGSTOP (connections stay
open; nothing answers) and resumed with SIGCONT. Before: a call waited ~110 s on a stopped
PostgreSQL and then got a bare ``500 Internal Server Error`` with a flood of log lines; PDF reads took
30-40 s with Redis stopped; /healthz said ok while the ledger could not be written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx2
import pytest

from tests.hostile.conftest import (
    CUSTOMER_DEADLINE,
    customer,
    figure,
    own_service,
    require_service,
    serve,
    served_within,
)

DATABASE_TIMEOUT = 1.0
PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})


def _health(url: str) -> tuple[int | None, dict[str, object]]:
    """/healthz's status and body, or (None, the failure) when it did not answer in time."""
    try:
        response = httpx2.get(url.replace("/mcp", "/healthz"), timeout=CUSTOMER_DEADLINE)
    except httpx2.TransportError as error:
        return None, {"failure": type(error).__name__}
    return response.status_code, response.json()


def _post(url: str, token: str) -> tuple[int | None, dict[str, object], float]:
    """One MCP request (a ping); its status (None: no answer in time), JSON body and how long it took."""
    started = time.monotonic()
    try:
        response = httpx2.post(
            url,
            content=PING,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "Content-Type": "application/json",
            },
            timeout=CUSTOMER_DEADLINE,
        )
    except httpx2.TransportError as error:
        return None, {"error": type(error).__name__}, time.monotonic() - started
    elapsed = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:60]}
    return response.status_code, body, elapsed


@pytest.mark.database
async def test_a_frozen_postgresql_gives_every_request_a_coded_503_within_the_deadline(
    tmp_path: Path,
) -> None:
    require_service("MCP_INVOICES_TEST_DATABASE_URL", "PostgreSQL", "postgres", ci_has_it=False)
    with own_service("postgres", tmp_path) as postgres:
        env = {
            "MCP_INVOICES_DATABASE_URL": postgres.url,
            "MCP_INVOICES_AUTO_MIGRATE": "1",
            "MCP_INVOICES_DATABASE_TIMEOUT": str(DATABASE_TIMEOUT),
        }
        with serve(tmp_path, env) as server:
            token = server.token("cus_hana")
            await served_within(server.url, token)
            log_before = server.log_bytes()
            with postgres.frozen():
                answers = [_post(server.url, token) for _ in range(3)]
                health = _health(server.url)
            log_growth = server.log_bytes() - log_before
            after = await served_within(server.url, token)  # SIGCONT: served again, nothing to restart
    figure(
        "PostgreSQL stopped (SIGSTOP): 3 requests",
        answers=[(status, body.get("error"), round(elapsed, 2)) for status, body, elapsed in answers],
        healthz=health,
        log_bytes=log_growth,
        served_after_sigcont_s=after,
    )
    for status, body, elapsed in answers:
        assert status == 503 and body["error"] == "service_unavailable", body
        assert elapsed < DATABASE_TIMEOUT + 2
    assert health[0] == 503 and health[1]["database"] == "unreachable"
    assert log_growth < 10_000, server.log_text()[-3000:]
    assert after < CUSTOMER_DEADLINE


async def test_a_frozen_redis_leaves_pdf_reads_and_lists_within_the_deadline(tmp_path: Path) -> None:
    require_service("MCP_INVOICES_TEST_REDIS_URL", "Redis", "redis")
    with own_service("redis", tmp_path) as redis:
        with serve(tmp_path, {"MCP_INVOICES_REDIS_URL": redis.url}) as server:
            token = server.token("cus_hana")
            await served_within(server.url, token)
            log_before = server.log_bytes()
            async with customer(server.url, token) as client:
                with redis.frozen():
                    started = time.monotonic()
                    pdfs = [await client.read_resource("invoice://local/ord_3001/pdf") for _ in range(3)]
                    listed = await client.call_tool("list_invoices", {})
                    elapsed = time.monotonic() - started
                    health = _health(server.url)
            log_growth = server.log_bytes() - log_before
    figure(
        "Redis stopped (SIGSTOP): 3 PDF reads and a list",
        served_s=elapsed,
        healthz=health,
        log_bytes=log_growth,
    )
    assert all(pdf.contents[0].mime_type == "application/pdf" for pdf in pdfs)
    assert not listed.is_error
    assert elapsed < 6  # one Redis timeout (2 s), then the breaker answers at once
    assert health[0] == 503 and health[1]["shared_state"] == "unreachable"
    assert log_growth < 10_000, server.log_text()[-3000:]


async def test_health_says_the_database_cannot_be_written_while_a_lock_holds_it_and_writes_fail_in_time(
    tmp_path: Path,
) -> None:
    env = {"MCP_INVOICES_DATABASE_TIMEOUT": str(DATABASE_TIMEOUT)}
    with serve(tmp_path, env) as server:
        token = server.token("cus_hana")
        await served_within(server.url, token)
        holder = sqlite3.connect(tmp_path / "ledger.sqlite3", timeout=5, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock (or the file is read-only)
        try:
            health = _health(server.url)
            async with customer(server.url, token) as client:
                started = time.monotonic()
                listed = await client.call_tool("list_invoices", {})  # readers are not blocked (WAL)
                generated = await client.call_tool("generate_invoice", {"order_id": "ord_3002"})
                elapsed = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    figure(
        "SQLite write lock held by another process: healthz, a list, a generation",
        healthz=health,
        listed_ok=not listed.is_error,
        generated=generated.content[0].text[:80],
        served_s=elapsed,
    )
    assert health[0] == 503 and health[1]["database_writable"] == "not writable"
    assert not listed.is_error
    assert generated.is_error and json.loads(generated.content[0].text)["code"] == "service_unavailable"
    assert elapsed < DATABASE_TIMEOUT * 2 + 2
