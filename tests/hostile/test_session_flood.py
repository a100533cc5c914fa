"""One token, many sessions: handshake-era ``initialize`` calls that are never closed.

Any customer's token could open sessions without end; at 10,000 the SDK refused every new session,
whoever asked, and the server had grown by ~400 MB. Each principal now holds at most
``MCP_INVOICES_MAX_SESSIONS_PER_PRINCIPAL`` sessions (its oldest closes first), and at
``MCP_INVOICES_MAX_SESSIONS`` the greediest principal's oldest session makes room.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx2

from tests.hostile.conftest import CUSTOMER_DEADLINE, figure, serve, served_within, timed

FLOOD = 300
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "flood", "version": "1"},
    },
}


async def open_sessions(url: str, token: str, count: int, concurrency: int = 20) -> list[str]:
    """``count`` handshake sessions opened with ``token`` (never closed); their Mcp-Session-Id, in order."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    ids: list[str] = []
    limit = asyncio.Semaphore(concurrency)
    async with httpx2.AsyncClient(headers=headers, timeout=CUSTOMER_DEADLINE) as http:

        async def one() -> None:
            async with limit:
                response = await http.post(url, content=json.dumps(INITIALIZE))
                assert response.status_code == 200, response.text
                ids.append(response.headers["mcp-session-id"])

        for start in range(0, count, concurrency):  # in batches, so that the order of ids is the order opened
            await asyncio.gather(*(one() for _ in range(start, min(count, start + concurrency))))
    return ids


async def session_answers(url: str, token: str, session_id: str) -> int:
    """The HTTP status a session's ping gets: 200 while it is open, 404 once closed."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Mcp-Session-Id": session_id,
        "Mcp-Protocol-Version": "2025-11-25",
    }
    async with httpx2.AsyncClient(headers=headers, timeout=CUSTOMER_DEADLINE) as http:
        response = await http.post(url, content=json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
    return response.status_code


async def test_one_token_flooding_sessions_keeps_only_its_newest_and_another_customer_is_served(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, {"MCP_INVOICES_MAX_SESSIONS_PER_PRINCIPAL": "16"}) as server:
        attacker, victim = server.token("cus_alice"), server.token("cus_hana")
        await served_within(server.url, victim)  # warm: the first call opens the ledger
        log_before, rss_before = server.log_bytes(), server.rss_bytes()
        ids = await open_sessions(server.url, attacker, FLOOD)
        elapsed, outcome = await timed(CUSTOMER_DEADLINE, lambda: served_within(server.url, victim))
        oldest, newest = (
            await session_answers(server.url, attacker, ids[0]),
            await session_answers(server.url, attacker, ids[-1]),
        )
        log_growth, rss_growth = server.log_bytes() - log_before, server.rss_bytes() - rss_before
    figure(
        "session flood: one token, 300 initialize never closed",
        served_s=elapsed,
        failure=None if elapsed is not None else type(outcome).__name__,
        log_bytes=log_growth,
        rss_mb=rss_growth / 2**20,
        attackers_oldest_session=oldest,
    )
    assert (oldest, newest) == (404, 200)
    assert elapsed is not None and elapsed < CUSTOMER_DEADLINE, outcome
    assert log_growth < 20_000, server.log_text()[-3000:]
    assert rss_growth < 30 * 2**20


async def test_at_the_servers_session_cap_the_greediest_principal_makes_room_for_another(
    tmp_path: Path,
) -> None:
    env = {"MCP_INVOICES_MAX_SESSIONS_PER_PRINCIPAL": "16", "MCP_INVOICES_MAX_SESSIONS": "20"}
    with serve(tmp_path, env) as server:
        alice, bob, hana = server.token("cus_alice"), server.token("cus_bob"), server.token("cus_hana")
        alice_ids = await open_sessions(server.url, alice, 16)
        bob_ids = await open_sessions(server.url, bob, 4)
        hana_ids = await open_sessions(server.url, hana, 2)  # the server is full: alice's oldest two go
        statuses = [await session_answers(server.url, alice, i) for i in alice_ids[:3]]
        assert statuses == [404, 404, 200]
        assert [await session_answers(server.url, bob, i) for i in bob_ids] == [200] * 4
        assert [await session_answers(server.url, hana, i) for i in hana_ids] == [200] * 2
