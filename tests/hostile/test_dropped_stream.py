"""A proxy that cuts idle connections, in front of a slow ``generate_invoice`` (SEP-1699 resumable streams).

Before, a POST stream had no event ids: a client whose connection was cut mid-answer could not get it
back (the call went on, its answer lost). Now the stream is primed and kept; the client resumes with
``Last-Event-ID`` and gets the answer.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2

from mcp_invoices.providers.polar.emulator import POLAR_CUSTOMER_IDS
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment, serving_in_thread
from tests.hostile.conftest import figure, serve
from tests.test_streams import (
    CALL,
    GENERATION_SECONDS,
    IDLE_CUT_SECONDS,
    ORDER,
    Events,
    IdleCuttingProxy,
    _headers,
    _open_session,
    _read_events,
)


async def test_a_call_cut_by_an_idle_proxy_still_reaches_its_client(tmp_path: Path) -> None:
    states = SandboxStates()
    states.polar.generation_delay = GENERATION_SECONDS
    with serving_in_thread(create_sandbox_app(states)) as sandbox_url:
        env = {
            name: value
            for name, value in sandbox_environment(sandbox_url, "alice").items()
            if name.startswith("POLAR_") and name != "POLAR_CUSTOMER_SESSION"
        } | {"MCP_INVOICES_STREAM_RETRY_MS": "100"}
        with serve(tmp_path, env) as server:
            token = server.token(POLAR_CUSTOMER_IDS["alice"], "polar")
            proxy = IdleCuttingProxy(server.port, IDLE_CUT_SECONDS)
            started = time.monotonic()
            answer = None
            async with proxy.running() as proxied, httpx2.AsyncClient(timeout=30) as http:
                session = await _open_session(http, proxied, token)
                first = Events()
                async with http.stream(
                    "POST", proxied, content=json.dumps(CALL), headers=_headers(token, session)
                ) as sent:
                    await _read_events(sent, first, CALL["id"])
                answer, last_id = first.answer, first.last_id
                for _ in range(20):  # bounded: each reconnect gets further, until the answer
                    if answer is not None or last_id is None:
                        break
                    events = Events()
                    resume = _headers(token, session, **{"Last-Event-ID": last_id})
                    async with http.stream("GET", proxied, headers=resume) as got:
                        if got.status_code != 200:
                            break
                        await _read_events(got, events, CALL["id"])
                    answer, last_id = events.answer, events.last_id or last_id
            seconds = time.monotonic() - started
    primed = bool(first.items and first.items[0].get("id") and "retry" in first.items[0])
    figure(
        "dropped stream (SEP-1699)",
        cuts=proxy.cuts,
        primed=primed,
        answer_reached_client=answer is not None,
        seconds=round(seconds, 2),
        provider_generations=states.polar.generation_requests[ORDER],
    )
    assert proxy.cuts >= 1 and primed
    assert answer is not None and answer["result"]["structuredContent"]["outcome"] == "generated"
