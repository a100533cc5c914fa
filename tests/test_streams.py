"""Streams that survive a dropped connection (SEP-1699; issue 21 item 8).

A slow ``generate_invoice`` (the Polar emulator takes seconds to generate) is called through a loopback
proxy that cuts connections idle for a moment, as load balancers do; the client reconnects with
``Last-Event-ID`` and receives the rest of its answer: from the same server, from another replica
sharing Redis, and through the MCP SDK's own client. Another session or principal presenting that id
gets nothing. The event log's bounds evict.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
from anyio.abc import SocketStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import JSONRPCResponse
from pydantic import SecretStr

from mcp_invoices.auth.tokens import TokenStore
from mcp_invoices.config import StreamLimits
from mcp_invoices.providers.polar.emulator import POLAR_CUSTOMER_IDS, POLAR_ORDER_IDS
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment, serving_in_thread
from mcp_invoices.server.streams import MemoryEventLog, RedisEventLog, ScopedEventStore, StreamInfo
from tests.conftest import REPO
from tests.redis_support import require_redis, unique_prefix
from tests.test_transports import _free_port

SECRET_KEY = "streams-test-secret-key-0123456789abcdef"
STATE_KEY = "streams-test-request-state-key-0123456789"
GENERATION_SECONDS = 3.0
"""The Polar emulator's generation delay: the client polls at 0.25, 0.5, 1 and 2 s intervals meanwhile,
each poll a progress event; the gaps between them are longer than the proxy's idle cut."""
IDLE_CUT_SECONDS = 0.6
ORDER = POLAR_ORDER_IDS["alice_paid_not_generated"]
VERSION = "2025-11-25"


# -- the proxy that cuts idle connections --------------------------------------------------------------


@dataclass
class IdleCuttingProxy:
    """TCP on 127.0.0.1 to ``target_port``; a connection with no byte either way for ``idle`` seconds is closed."""

    target_port: int
    idle: float
    max_cuts: int = 1_000
    port: int = 0
    cuts: int = 0
    cut: anyio.Event = field(default_factory=anyio.Event)

    async def _pump(self, source: SocketStream, sink: SocketStream, touched: list[float]) -> None:
        with contextlib.suppress(
            anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError
        ):
            for _ in range(10_000_000):  # bounded: ends with either side
                data = await source.receive()
                touched[0] = time.monotonic()
                await sink.send(data)

    async def _handle(self, client: SocketStream) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", self.target_port) as upstream:
            touched = [time.monotonic()]
            async with anyio.create_task_group() as group:
                group.start_soon(self._pump, client, upstream, touched)
                group.start_soon(self._pump, upstream, client, touched)
                for _ in range(1_000_000):  # bounded: the pumps end, or the connection is cut
                    await anyio.sleep(0.05)
                    if time.monotonic() - touched[0] > self.idle and self.cuts < self.max_cuts:
                        self.cuts += 1
                        self.cut.set()
                        break
                group.cancel_scope.cancel()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with listener, anyio.create_task_group() as group:
            group.start_soon(listener.serve, self._handle)
            yield f"http://127.0.0.1:{self.port}/mcp"
            group.cancel_scope.cancel()


# -- deployments --------------------------------------------------------------------------------------


@dataclass
class Deployment:
    ports: list[int]
    states: SandboxStates
    tokens: dict[str, str]
    workdir: Path

    def log(self, index: int = 0) -> str:
        return (self.workdir / f"server-{self.ports[index]}.log").read_text(errors="replace")

    def url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}/mcp"


@contextlib.contextmanager
def deployment(
    workdir: Path,
    *,
    replicas: int = 1,
    redis_url: str | None = None,
    generation_seconds: float = GENERATION_SECONDS,
) -> Iterator[Deployment]:
    states = SandboxStates()
    states.polar.generation_delay = generation_seconds
    db = workdir / "ledger.sqlite3"
    with serving_in_thread(create_sandbox_app(states)) as sandbox_url:
        env = {
            name: value
            for name, value in sandbox_environment(sandbox_url, "alice").items()
            if name.startswith("POLAR_") and name != "POLAR_CUSTOMER_SESSION"
        } | {
            "MCP_INVOICES_DB": str(db),
            "MCP_INVOICES_SECRET_KEY": SECRET_KEY,
            "MCP_INVOICES_STATE_KEYS": STATE_KEY,
            "MCP_INVOICES_LOG_LEVEL": "INFO",
            "MCP_INVOICES_STREAM_RETRY_MS": "100",
        }
        if redis_url:
            env |= {"MCP_INVOICES_REDIS_URL": redis_url, "MCP_INVOICES_REDIS_PREFIX": unique_prefix()}
        ports = [_free_port() for _ in range(replicas)]
        env["MCP_INVOICES_RESOURCE_URL"] = f"http://127.0.0.1:{ports[0]}/mcp"  # one audience for all replicas
        store = TokenStore(db, secret_key=SecretStr(SECRET_KEY))
        tokens = {
            who: store.issue(
                "polar", POLAR_CUSTOMER_IDS[who], ttl=timedelta(hours=1)
            ).token.get_secret_value()
            for who in ("alice", "bob")
        }
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for port in ports:
                log = (workdir / f"server-{port}.log").open("wb")
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
                        env=os.environ | env,
                        cwd=REPO,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                )
                log.close()
            deadline = time.monotonic() + 60
            for port, process in zip(ports, processes, strict=True):
                while True:  # bounded by the deadline
                    assert process.poll() is None, (workdir / f"server-{port}.log").read_text(
                        errors="replace"
                    )
                    with contextlib.suppress(httpx2.TransportError):
                        if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                            break
                    assert time.monotonic() < deadline, "a server did not start"
                    time.sleep(0.05)
            yield Deployment(ports, states, tokens, workdir)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _headers(token: str, session: str | None = None, **more: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Mcp-Protocol-Version": VERSION,
        **({"Mcp-Session-Id": session} if session else {}),
        **more,
    }


async def _open_session(http: httpx2.AsyncClient, url: str, token: str) -> str | None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": VERSION,
            "capabilities": {},
            "clientInfo": {"name": "resume", "version": "1"},
        },
    }
    opened = await http.post(url, content=json.dumps(initialize), headers=_headers(token))
    assert opened.status_code == 200, opened.text
    session = opened.headers.get("mcp-session-id")
    await http.post(
        url,
        content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        headers=_headers(token, session),
    )
    return session


@dataclass
class Events:
    """What one SSE connection carried."""

    items: list[dict[str, str]] = field(default_factory=list)
    answer: dict[str, Any] | None = None

    @property
    def last_id(self) -> str | None:
        ids = [event["id"] for event in self.items if event.get("id")]
        return ids[-1] if ids else None


async def _read_events(response: httpx2.Response, events: Events, request_id: int) -> None:
    """Parse server-sent events until the answer to ``request_id`` or the connection ends (cut or closed)."""
    current: dict[str, str] = {}
    with contextlib.suppress(httpx2.TransportError, httpx2.StreamError):
        async for line in response.aiter_lines():
            if line == "":
                if current:
                    events.items.append(current)
                    data = current.get("data", "")
                    if data:
                        message = json.loads(data)
                        if message.get("id") == request_id and ("result" in message or "error" in message):
                            events.answer = message
                            return
                current = {}
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            current[name] = current[name] + "\n" + value if name == "data" and name in current else value


CALL = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "tools/call",
    "params": {"name": "generate_invoice", "arguments": {"order_id": ORDER}, "_meta": {"progressToken": "p"}},
}


async def _call_cut_then_resume(
    post_url: str, resume_urls: list[str], token: str, *, session_url: str | None = None
) -> tuple[Events, list[Events], str | None]:
    """POST the slow call through ``post_url`` (a cutting proxy), then resume through ``resume_urls`` in turn."""
    async with httpx2.AsyncClient(timeout=30) as http:
        session = await _open_session(http, session_url or post_url, token)
        first = Events()
        async with http.stream(
            "POST", post_url, content=json.dumps(CALL), headers=_headers(token, session)
        ) as sent:
            assert sent.status_code == 200 and sent.headers["content-type"].startswith("text/event-stream")
            await _read_events(sent, first, CALL["id"])
        resumed: list[Events] = []
        last_id = first.last_id
        for attempt in range(20):  # bounded: each reconnect receives more, until the answer
            assert last_id is not None
            events = Events()
            url = resume_urls[attempt % len(resume_urls)]
            async with http.stream(
                "GET", url, headers=_headers(token, session, **{"Last-Event-ID": last_id})
            ) as got:
                assert got.status_code == 200, await got.aread()
                await _read_events(got, events, CALL["id"])
            resumed.append(events)
            last_id = events.last_id or last_id
            if events.answer is not None:
                break
    return first, resumed, session


def _assert_generated_once(answer: dict[str, Any] | None, states: SandboxStates) -> None:
    assert answer is not None, "the answer never arrived"
    result = answer["result"]
    assert not result.get("isError"), result
    assert result["structuredContent"]["outcome"] == "generated"
    assert states.polar.generation_requests[ORDER] == 1


async def test_a_post_stream_cut_by_an_idle_proxy_is_resumed_with_last_event_id(tmp_path: Path) -> None:
    with deployment(tmp_path) as served:
        proxy = IdleCuttingProxy(served.ports[0], IDLE_CUT_SECONDS)
        async with proxy.running() as proxied:
            first, resumed, _ = await _call_cut_then_resume(proxied, [proxied], served.tokens["alice"])
    priming = first.items[0]
    assert priming["id"] and priming.get("retry") == "100" and priming.get("data", "") == ""
    assert first.answer is None and proxy.cuts >= 1, "the proxy never cut the call's stream"
    _assert_generated_once(resumed[-1].answer, served.states)
    # What the reconnects carried continues the first stream: no event twice, none lost, in order.
    sequences = [
        int(event["id"].rsplit(".", 1)[1])
        for events in (first, *resumed)
        for event in events.items
        if event.get("id") and event.get("data")
    ]
    assert sequences == list(range(1, len(sequences) + 1)) and len(sequences) >= 3


async def test_the_sdk_client_resumes_a_cut_call_on_its_own(tmp_path: Path) -> None:
    """The SDK's client counts a connection cut while it reads a resumed stream as a failed attempt (two
    allowed), so this proxy cuts the call's stream once; the client resumes it and gets the answer."""
    with deployment(tmp_path) as served:
        proxy = IdleCuttingProxy(served.ports[0], IDLE_CUT_SECONDS, max_cuts=1)
        async with (
            proxy.running() as proxied,
            httpx2.AsyncClient(
                headers={"Authorization": f"Bearer {served.tokens['alice']}"}, timeout=30
            ) as http,
            Client(streamable_http_client(proxied, http_client=http), mode="legacy") as client,
        ):
            with anyio.fail_after(30):
                result = await client.call_tool("generate_invoice", {"order_id": ORDER})
    assert proxy.cuts == 1
    assert not result.is_error and result.structured_content["outcome"] == "generated"
    assert served.states.polar.generation_requests[ORDER] == 1


async def test_a_last_event_id_gives_nothing_to_another_session_or_principal(tmp_path: Path) -> None:
    with deployment(tmp_path) as served:
        proxy = IdleCuttingProxy(served.ports[0], IDLE_CUT_SECONDS)
        async with proxy.running() as proxied:
            first, _, alices_session = await _call_cut_then_resume(proxied, [proxied], served.tokens["alice"])
        alices_id = first.last_id
        assert alices_id is not None
        url = served.url()
        async with httpx2.AsyncClient(timeout=30) as http:
            bobs_session = await _open_session(http, url, served.tokens["bob"])
            alices_other_session = await _open_session(http, url, served.tokens["alice"])
            attempts = {
                "bob, his session": _headers(
                    served.tokens["bob"], bobs_session, **{"Last-Event-ID": alices_id}
                ),
                "bob, alice's session id": _headers(
                    served.tokens["bob"], alices_session, **{"Last-Event-ID": alices_id}
                ),
                "alice, another session": _headers(
                    served.tokens["alice"], alices_other_session, **{"Last-Event-ID": alices_id}
                ),
                "alice, an id never issued": _headers(
                    served.tokens["alice"], alices_session, **{"Last-Event-ID": "A" * 22 + ".0"}
                ),
            }
            for who, headers in attempts.items():
                answer = await http.get(url, headers=headers)
                assert answer.status_code == 404, (who, answer.status_code)
                assert ORDER not in answer.text and "generated" not in answer.text, who
                assert (
                    "No stream with this Last-Event-ID is kept for you" in answer.json()["error"]["message"]
                )
            # Alice, in her session, still may.
            mine = await http.get(
                url, headers=_headers(served.tokens["alice"], alices_session, **{"Last-Event-ID": alices_id})
            )
            assert mine.status_code == 200


async def test_a_stream_cut_on_one_replica_is_resumed_on_another(tmp_path: Path) -> None:
    redis_url = require_redis()
    with deployment(tmp_path, replicas=2, redis_url=redis_url) as served:
        proxy = IdleCuttingProxy(served.ports[0], IDLE_CUT_SECONDS)
        async with proxy.running() as proxied:
            first, resumed, session = await _call_cut_then_resume(
                proxied, [served.url(1)], served.tokens["alice"], session_url=served.url(0)
            )
            assert session is None  # replicas serve the handshake without sessions
            # Bob, on the replica that resumed it, gets nothing of it.
            assert first.last_id is not None
            async with httpx2.AsyncClient(timeout=30) as http:
                bobs = await http.get(
                    served.url(1), headers=_headers(served.tokens["bob"], **{"Last-Event-ID": first.last_id})
                )
    assert first.answer is None and proxy.cuts >= 1
    _assert_generated_once(resumed[-1].answer, served.states)
    assert bobs.status_code == 404 and ORDER not in bobs.text


# -- the bounds ------------------------------------------------------------------------------------


def _answer(request_id: int) -> JSONRPCResponse:
    return JSONRPCResponse(jsonrpc="2.0", id=request_id, result={"done": True})


def _progress(number: int) -> Any:
    from mcp_types import JSONRPCNotification

    return JSONRPCNotification(
        jsonrpc="2.0", method="notifications/progress", params={"progressToken": "p", "progress": number}
    )


async def _exercise_bounds(log: Any) -> None:
    """Five progress events and an answer into a log keeping three events of at most 400 bytes."""
    store = ScopedEventStore(log, owner="polar:cus_a")
    primed = await store.store_event("1", None)
    for number in range(5):
        await store.store_event("1", _progress(number))
    await store.store_event("1", _answer(1))
    token = primed.split(".")[0]
    events, complete = await log.read_after(token, 0)
    assert complete and len(events) == 3
    assert [json.loads(payload).get("params", {}).get("progress") for _, payload in events[:-1]] == [3, 4]
    assert json.loads(events[-1][1])["result"] == {"done": True}  # the answer, the newest, is kept
    big = ScopedEventStore(log, owner="polar:cus_a")
    token = (await big.store_event("2", None)).split(".")[0]
    for number in range(3):
        await big.store_event("2", _progress(number * 10**300))  # ~330 bytes each
    events, _ = await log.read_after(token, 0)
    assert len(events) == 1  # two would pass 400 bytes
    assert await store.settled(0.1) and not await big.settled(0.01)


async def test_the_in_process_log_evicts_by_count_bytes_age_and_streams() -> None:
    now = [0.0]
    log = MemoryEventLog(
        StreamLimits(max_events=3, max_bytes=400, ttl=60, max_streams=3), clock=lambda: now[0]
    )
    await _exercise_bounds(log)
    assert len(log) == 2
    now[0] = 61.0  # both streams' last events are older than the time to live
    assert await log.info("x" * 22) is None and len(log) == 0
    for number in range(5):
        await log.open(f"{number:022d}", StreamInfo("o", "", str(number), False))
    assert len(log) == 3 and log.evicted == 2 and await log.info(f"{0:022d}") is None


async def test_the_redis_log_evicts_by_count_bytes_and_age() -> None:
    from mcp_invoices.replicas import SharedSettings, open_shared_state

    prefix = unique_prefix()
    settings = SharedSettings(
        redis_url=SecretStr(require_redis()), prefix=prefix, secret_key=None, state_keys=()
    )
    async with open_shared_state(settings) as shared:
        log = RedisEventLog(StreamLimits(max_events=3, max_bytes=400, ttl=2), shared.redis, prefix)  # type: ignore[attr-defined]
        await _exercise_bounds(log)
        client = shared.redis.client  # type: ignore[attr-defined]
        keys = [key async for key in client.scan_iter(match=f"{prefix}:stream:*")]
        lives = [await client.pttl(key) for key in keys]
        assert len(keys) == 4 and all(0 < life <= 2000 for life in lives)


# -- work stops when the client leaves (issue 21 item 6) ---------------------------------------------


def _invoice_polls(states: SandboxStates) -> int:
    return sum(
        1
        for logged in states.polar.controls.request_log
        if logged.path.endswith("/invoice") and logged.method == "GET"
    )


async def test_a_call_whose_client_leaves_stops_and_the_next_call_answers_the_same_invoice(
    tmp_path: Path,
) -> None:
    """A 2025-06-18 client (no priming: it cannot resume) drops its connection while Polar generates; the
    server stops the call (its polling ends), and nothing is left half-done: the next call finds the
    generation it asked for instead of asking again."""
    with deployment(tmp_path, generation_seconds=60) as served:
        url, token = served.url(), served.tokens["alice"]
        old = "2025-06-18"
        async with httpx2.AsyncClient(timeout=30) as http:
            initialize = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": old,
                    "capabilities": {},
                    "clientInfo": {"name": "leaves", "version": "1"},
                },
            }
            headers = _headers(token) | {"Mcp-Protocol-Version": old}
            opened = await http.post(url, content=json.dumps(initialize), headers=headers)
            headers |= {"Mcp-Session-Id": opened.headers["mcp-session-id"]}
            await http.post(
                url,
                content=json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                headers=headers,
            )
            async with http.stream("POST", url, content=json.dumps(CALL), headers=headers) as sent:
                async for line in sent.aiter_lines():  # the first progress event: Polar was asked
                    if line.startswith("data:") and "notifications/progress" in line:
                        break
            # The connection is closed here, mid-answer.
        deadline = time.monotonic() + 10
        while "stopped a call: its client left" not in served.log():  # bounded by the deadline
            assert time.monotonic() < deadline, "the server did not stop the call:\n" + served.log()[-2000:]
            await anyio.sleep(0.05)
        polls_when_stopped = _invoice_polls(served.states)
        assert served.states.polar.generation_requests[ORDER] == 1
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
        ):
            again = await client.call_tool("generate_invoice", {"order_id": ORDER, "wait": False})
        assert not again.is_error and again.structured_content["outcome"] == "pending"
        assert served.states.polar.generation_requests[ORDER] == 1  # never asked twice
        assert _invoice_polls(served.states) == polls_when_stopped  # the stopped call polls no more
