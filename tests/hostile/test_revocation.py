"""A token revoked while its event stream is open: the stream and its session end within seconds.

Tokens were verified when a request arrived and never again: a revoked token's open GET stream
stayed open and its server-sent events kept flowing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2

from tests.hostile.conftest import CUSTOMER_DEADLINE, SERVER_REPO, figure, serve, served_within, timed
from tests.hostile.test_session_flood import INITIALIZE

ENDS_WITHIN = 6.0
"""Seconds after ``token revoke`` by which the stream must have ended (the server re-checks every 2 s)."""


def _headers(token: str, session_id: str | None = None, version: str | None = "2025-11-25") -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    return (
        headers
        | ({"Mcp-Protocol-Version": version} if version else {})
        | ({"Mcp-Session-Id": session_id} if session_id else {})
    )


async def test_revoking_a_token_ends_its_open_event_stream_and_session_within_seconds(tmp_path: Path) -> None:
    with serve(tmp_path) as server:
        token, other = server.token("cus_alice"), server.token("cus_hana")
        async with httpx2.AsyncClient(timeout=CUSTOMER_DEADLINE) as http:
            opened = await http.post(
                server.url, content=json.dumps(INITIALIZE), headers=_headers(token, version=None)
            )
            session_id = opened.headers["mcp-session-id"]
            await http.post(
                server.url,
                content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                headers=_headers(token, session_id),
            )
            ended_after: float | None = None
            async with http.stream(
                "GET", server.url, headers=_headers(token, session_id), timeout=None
            ) as stream:
                assert stream.status_code == 200
                subprocess.run(
                    [sys.executable, "-m", "mcp_invoices", "token", "revoke", token],
                    cwd=SERVER_REPO,
                    env=os.environ | server.env | {"PYTHONPATH": str(SERVER_REPO)},
                    check=True,
                    capture_output=True,
                    timeout=60,
                )
                revoked_at = time.monotonic()

                async def drain() -> None:
                    async for _ in stream.aiter_raw():  # until the server ends the stream
                        pass

                with anyio.move_on_after(ENDS_WITHIN + 4):
                    try:
                        await drain()
                    except httpx2.TransportError:
                        pass
                    ended_after = time.monotonic() - revoked_at
            session_after = await http.post(
                server.url,
                content=json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
                headers=_headers(token, session_id),
            )
        served, outcome = await timed(CUSTOMER_DEADLINE, lambda: served_within(server.url, other))
    figure(
        "revocation during an open GET event stream",
        stream_ended_after_s=ended_after,
        request_after_revocation=session_after.status_code,
        other_customer_served_s=served,
    )
    assert ended_after is not None and ended_after < ENDS_WITHIN
    assert session_after.status_code == 401
    assert served is not None, outcome
