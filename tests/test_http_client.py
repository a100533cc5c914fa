"""The shared provider HTTP layer: joining, retries, error mapping, JSON parsing and secrecy.

Most tests drive ``ProviderHTTP`` through ``httpx2.MockTransport`` with a recording fake sleep
(no test waits for real); the last few run it against a real uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_invoices.domain.errors import (
    InvalidArgument,
    InvoiceError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    Unauthorized,
)
from mcp_invoices.providers.http import (
    ProviderHTTP,
    RetryPolicy,
    path_segment,
    retry_after_seconds,
)
from mcp_invoices.providers.http.bodies import BodyTooLarge
from mcp_invoices.providers.http.errors import Deadline, failure_error
from mcp_invoices.providers.wire import Wire

_BODY = Wire("Polar", "Check POLAR_BASE_URL.").decoder(dict[str, Any])
"""How a provider reads a body (here as a plain object): the one decoder family, ``providers/wire.py``."""

SECRET = "polar_cst_s3cr3t-DO-NOT-LEAK"
AUTH_HINT = "Set POLAR_CUSTOMER_SESSION to a valid customer session token."

Handler = Callable[[httpx2.Request], httpx2.Response]


@dataclass
class RecordingSleep:
    """Stands in for ``anyio.sleep``: remembers each wait and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass
class Scripted:
    """A MockTransport handler answering from a script, recording every request it saw."""

    answers: list[httpx2.Response | Exception]
    requests: list[httpx2.Request] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def make_http(sleep: RecordingSleep) -> AsyncIterator[Callable[..., ProviderHTTP]]:
    created: list[ProviderHTTP] = []

    def make(handler: Handler, **overrides: Any) -> ProviderHTTP:
        options: dict[str, Any] = {
            "provider_name": "Polar",
            "base_url": "http://127.0.0.1:9000/polar",
            "headers": {"Authorization": f"Bearer {SECRET}", "requestToken": SECRET},
            "auth_hint": AUTH_HINT,
            "transport": httpx2.MockTransport(handler),
            "sleep": sleep,
            "rng": random.Random(7),
        }
        options.update(overrides)
        http = ProviderHTTP(**options)
        created.append(http)
        return http

    yield make
    for http in created:
        await http.aclose()


def json_response(status: int, body: object, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


# -- URL joining and what is sent -------------------------------------------------------------


async def test_leading_slash_in_path_keeps_the_base_url_prefix(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([json_response(200, {})])
    http = make_http(script)

    await http.request("GET", "/v1/customer-portal/orders/42")

    assert str(script.requests[0].url) == "http://127.0.0.1:9000/polar/v1/customer-portal/orders/42"


async def test_path_without_leading_slash_joins_under_the_prefix_too(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([json_response(200, {})])
    http = make_http(script, base_url="http://127.0.0.1:9000/polar/")

    await http.request("GET", "v1/orders", params={"page": 2})

    assert str(script.requests[0].url) == "http://127.0.0.1:9000/polar/v1/orders?page=2"


async def test_configured_headers_are_sent_on_every_request(make_http: Callable[..., ProviderHTTP]) -> None:
    script = Scripted([json_response(200, {})])
    http = make_http(script)

    await http.request("GET", "/a")

    assert script.requests[0].headers["requestToken"] == SECRET
    assert script.requests[0].headers["accept"] == "application/json"


async def test_absolute_url_is_refused_so_credentials_cannot_leave_the_base_url(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([json_response(200, {})])
    http = make_http(script)

    with pytest.raises(ValueError):
        await http.request("GET", "https://elsewhere.example/steal")
    assert script.requests == []


def test_path_segment_encodes_separators_so_an_id_stays_one_segment() -> None:
    assert path_segment("a/b?c#d") == "a%2Fb%3Fc%23d"


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
def test_path_segment_refuses_dot_segments(bad_id: str) -> None:
    with pytest.raises(InvalidArgument):
        path_segment(bad_id)


# -- status mapping ---------------------------------------------------------------------------


async def test_expected_404_is_returned_for_the_provider_to_map(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    http = make_http(Scripted([json_response(404, {"error": "ResourceNotFound"})]))

    response = await http.request("GET", "/v1/orders/x", expected=(200, 404))

    assert response.status_code == 404


async def test_unexpected_404_is_provider_unavailable(make_http: Callable[..., ProviderHTTP]) -> None:
    http = make_http(Scripted([json_response(404, {})]))

    with pytest.raises(ProviderUnavailable) as caught:
        await http.request("GET", "/v1/orders/x")

    assert "404" in caught.value.message


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_map_to_unauthorized_with_the_auth_hint(
    make_http: Callable[..., ProviderHTTP], status: int
) -> None:
    http = make_http(Scripted([json_response(status, {"error": "Unauthorized"})]))

    with pytest.raises(Unauthorized) as caught:
        await http.request("GET", "/v1/orders/x")

    assert caught.value.to_dict() == {
        "code": "unauthorized",
        "message": "Polar refused the credentials.",
        "hint": AUTH_HINT,
    }


async def test_refused_credentials_are_not_retried(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    script = Scripted([json_response(401, {})])
    http = make_http(script)

    with pytest.raises(Unauthorized):
        await http.request("GET", "/a")

    assert len(script.requests) == 1
    assert sleep.delays == []


async def test_persistent_429_maps_to_rate_limited_with_the_providers_retry_after(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    http = make_http(Scripted([json_response(429, {}, **{"Retry-After": "3"})]))

    with pytest.raises(RateLimited) as caught:
        await http.request("GET", "/a")

    assert caught.value.code == "rate_limited"
    assert caught.value.retry_after == 3.0
    assert caught.value.to_dict()["retry_after"] == 3.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_map_to_provider_unavailable_naming_the_status(
    make_http: Callable[..., ProviderHTTP], status: int
) -> None:
    http = make_http(Scripted([json_response(status, {})]))

    with pytest.raises(ProviderUnavailable) as caught:
        await http.request("GET", "/a")

    assert caught.value.message == f"Polar answered HTTP {status}."
    assert caught.value.hint and "status page" in caught.value.hint


@pytest.mark.parametrize("status", [301, 400, 409, 422])
async def test_other_unexpected_statuses_map_to_provider_unavailable(
    make_http: Callable[..., ProviderHTTP], status: int
) -> None:
    script = Scripted([json_response(status, {})])
    http = make_http(script)

    with pytest.raises(ProviderUnavailable) as caught:
        await http.request("GET", "/a")

    assert str(status) in caught.value.message
    assert len(script.requests) == 1


# -- retries ----------------------------------------------------------------------------------


async def test_transient_503_is_retried_until_the_expected_answer(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([json_response(503, {}), json_response(502, {}), json_response(200, {"ok": True})])
    http = make_http(script)

    response = await http.request("GET", "/a")

    assert response.status_code == 200
    assert len(script.requests) == 3


async def test_idempotent_requests_are_tried_at_most_policy_attempts_times(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([json_response(503, {})])
    http = make_http(script, retry=RetryPolicy(attempts=3))

    with pytest.raises(ProviderUnavailable):
        await http.request("GET", "/a")

    assert len(script.requests) == 3


async def test_retry_after_delta_seconds_is_honoured(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    http = make_http(Scripted([json_response(429, {}, **{"Retry-After": "2"}), json_response(200, {})]))

    await http.request("GET", "/a")

    assert sleep.delays == [2.0]


async def test_retry_after_on_503_is_honoured(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    http = make_http(Scripted([json_response(503, {}, **{"Retry-After": "1.5"}), json_response(200, {})]))

    await http.request("GET", "/a")

    assert sleep.delays == [1.5]


async def test_retry_after_is_capped_by_the_policy(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    http = make_http(
        Scripted([json_response(429, {}, **{"Retry-After": "3600"}), json_response(200, {})]),
        retry=RetryPolicy(max_retry_after=4.0),
    )

    await http.request("GET", "/a")

    assert sleep.delays == [4.0]


async def test_backoff_is_full_jitter_under_a_doubling_ceiling(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=1.5, total_budget=100.0)
    http = make_http(Scripted([json_response(502, {})]), retry=policy)

    with pytest.raises(ProviderUnavailable):
        await http.request("GET", "/a")

    ceilings = [0.5, 1.0, 1.5, 1.5]
    assert len(sleep.delays) == len(ceilings)
    assert all(0.0 <= delay <= ceiling for delay, ceiling in zip(sleep.delays, ceilings, strict=True))


async def test_total_budget_stops_retrying_before_it_is_exceeded(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    script = Scripted([json_response(429, {}, **{"Retry-After": "8"})])
    http = make_http(script, retry=RetryPolicy(attempts=10, max_retry_after=10.0, total_budget=20.0))

    with pytest.raises(RateLimited):
        await http.request("GET", "/a")

    assert sleep.delays == [8.0, 8.0]
    assert sum(sleep.delays) <= 20.0
    assert len(script.requests) == 3


async def test_each_attempt_timeout_is_shortened_to_the_remaining_budget(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([json_response(503, {}, **{"Retry-After": "6"}), json_response(200, {})])
    http = make_http(script, read_timeout=20.0, retry=RetryPolicy(total_budget=10.0), clock=lambda: 0.0)

    await http.request("GET", "/a")

    first, second = (request.extensions["timeout"] for request in script.requests)
    assert first["read"] == 10.0
    assert second["read"] == 4.0


async def test_post_is_not_retried_on_503(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    script = Scripted([json_response(503, {}), json_response(202, None)])
    http = make_http(script)

    with pytest.raises(ProviderUnavailable):
        await http.request("POST", "/v1/customer-portal/orders/1/invoice", expected=(202,))

    assert len(script.requests) == 1
    assert sleep.delays == []


async def test_post_marked_idempotent_is_retried_on_503(make_http: Callable[..., ProviderHTTP]) -> None:
    script = Scripted([json_response(503, {}), json_response(202, None)])
    http = make_http(script)

    response = await http.request("POST", "/generate", idempotent=True, expected=(202,))

    assert response.status_code == 202
    assert len(script.requests) == 2


async def test_get_marked_not_idempotent_is_not_retried(make_http: Callable[..., ProviderHTTP]) -> None:
    script = Scripted([json_response(503, {}), json_response(200, {})])
    http = make_http(script)

    with pytest.raises(ProviderUnavailable):
        await http.request("GET", "/a", idempotent=False)

    assert len(script.requests) == 1


async def test_post_is_retried_when_the_connection_was_never_made(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([httpx2.ConnectError("refused"), json_response(202, None)])
    http = make_http(script)

    response = await http.request("POST", "/generate", expected=(202,))

    assert response.status_code == 202
    assert len(script.requests) == 2


async def test_post_is_not_retried_when_the_connection_broke_after_sending(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    script = Scripted([httpx2.ReadError("reset"), json_response(202, None)])
    http = make_http(script)

    with pytest.raises(ProviderUnavailable):
        await http.request("POST", "/generate", expected=(202,))

    assert len(script.requests) == 1


async def test_connection_error_is_retried_then_mapped_naming_only_the_host(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    script = Scripted([httpx2.ConnectError("All connection attempts failed")])
    http = make_http(script)

    with pytest.raises(ProviderUnavailable) as caught:
        await http.request("GET", "/v1/orders/77", params={"customer_session": SECRET})

    assert len(script.requests) == 4
    assert len(sleep.delays) == 3
    assert caught.value.message == "Could not connect to Polar at 127.0.0.1:9000."
    assert "/v1" not in caught.value.message and "polar/" not in caught.value.message


@pytest.mark.parametrize(
    "failure", [httpx2.ReadTimeout("read"), httpx2.ConnectTimeout("connect"), httpx2.PoolTimeout("pool")]
)
async def test_timeouts_are_retried_then_mapped_to_timeout(
    make_http: Callable[..., ProviderHTTP], failure: Exception
) -> None:
    script = Scripted([failure])
    http = make_http(script)

    with pytest.raises(ProviderTimeout) as caught:
        await http.request("GET", "/a")

    assert caught.value.code == "timeout"
    assert len(script.requests) == 4


async def test_protocol_error_maps_to_provider_unavailable(make_http: Callable[..., ProviderHTTP]) -> None:
    http = make_http(Scripted([httpx2.RemoteProtocolError("peer closed connection")]))

    with pytest.raises(ProviderUnavailable):
        await http.request("GET", "/a")


@pytest.mark.parametrize(
    ("outcome", "error", "message"),
    [
        (401, Unauthorized, "Polar refused the credentials."),
        (403, Unauthorized, "Polar refused the credentials."),
        (429, RateLimited, "Polar is limiting how often this server may call it."),
        (503, ProviderUnavailable, "Polar answered HTTP 503."),
        (418, ProviderUnavailable, "Polar answered HTTP 418, which this server did not expect."),
        (
            Deadline(),
            ProviderTimeout,
            "Polar had not finished answering after 20 seconds "
            "(waiting, connecting or sending its answer too slowly), so the call was stopped.",
        ),
        (
            BodyTooLarge(4 * 1024 * 1024),
            ProviderUnavailable,
            "Polar sent an answer larger than 4 MiB, so it was refused unread.",
        ),
        (
            httpx2.InvalidURL("too long"),
            InvalidArgument,
            "The id or cursor is too long or malformed to send to Polar.",
        ),
        (
            httpx2.PoolTimeout("pool"),
            ProviderTimeout,
            "Too many requests to Polar are in flight from this server.",
        ),
        (
            httpx2.ConnectTimeout("slow"),
            ProviderTimeout,
            "Polar at api.example:8443 could not be reached in time.",
        ),
        (httpx2.ReadTimeout("slow"), ProviderTimeout, "Polar did not answer in time."),
        (
            httpx2.ConnectError("refused"),
            ProviderUnavailable,
            "Could not connect to Polar at api.example:8443.",
        ),
        (
            httpx2.RemoteProtocolError("closed"),
            ProviderUnavailable,
            "The connection to Polar failed before it answered.",
        ),
        (
            httpx2.DecodingError("gzip"),
            ProviderUnavailable,
            "Polar sent a response that could not be decoded.",
        ),
        (RuntimeError("unlisted"), ProviderUnavailable, "The connection to Polar failed before it answered."),
    ],
)
def test_the_failure_table_maps_each_outcome_to_its_error_and_words(
    outcome: int | Exception, error: type[InvoiceError], message: str
) -> None:
    """One table (``http.errors.FAILURES``), first match first: a pool timeout is not a plain timeout."""
    mapped = failure_error(outcome, name="Polar", host="api.example:8443", auth_hint=AUTH_HINT, seconds=20.0)

    assert type(mapped) is error and mapped.message == message and mapped.hint


async def test_cookies_a_provider_sets_are_never_sent_back(make_http: Callable[..., ProviderHTTP]) -> None:
    """One pooled client serves many customers' credentials: a session cookie set for one must not ride along."""
    script = Scripted(
        [json_response(200, {}, **{"Set-Cookie": "session=alice; Path=/"}), json_response(200, {})]
    )
    http = make_http(script)

    await http.request("GET", "/a")
    await http.request("GET", "/a")

    assert [request.headers.get("cookie") for request in script.requests] == [None, None]


async def test_a_providers_own_retry_after_sets_the_wait_and_the_rate_limited_error(
    make_http: Callable[..., ProviderHTTP], sleep: RecordingSleep
) -> None:
    """A provider that states its wait elsewhere than ``Retry-After`` (Bagisto: in the 429 body) is asked."""
    script = Scripted([json_response(429, {"retry_after": 3})])
    http = make_http(
        script,
        retry=RetryPolicy(attempts=2, total_budget=60.0),
        retry_after=lambda response: float(json.loads(response.content)["retry_after"]),
    )

    with pytest.raises(RateLimited) as caught:
        await http.request("GET", "/a")

    assert sleep.delays == [3.0] and caught.value.retry_after == 3.0


# -- Retry-After parsing ----------------------------------------------------------------------


def test_retry_after_http_date_is_seconds_from_now() -> None:
    now = 1_780_000_000.0
    date = email.utils.format_datetime(datetime.fromtimestamp(now + 30, tz=UTC), usegmt=True)

    assert retry_after_seconds(httpx2.Response(429, headers={"Retry-After": date}), now=now) == 30.0


def test_retry_after_date_in_the_past_is_zero() -> None:
    now = 1_780_000_000.0
    date = email.utils.format_datetime(datetime.fromtimestamp(now - 30, tz=UTC), usegmt=True)

    assert retry_after_seconds(httpx2.Response(429, headers={"Retry-After": date}), now=now) == 0.0


@pytest.mark.parametrize("value", ["soon", "-5", "nan", ""])
def test_unreadable_retry_after_is_none(value: str) -> None:
    assert retry_after_seconds(httpx2.Response(429, headers={"Retry-After": value})) is None


def test_missing_retry_after_is_none() -> None:
    assert retry_after_seconds(httpx2.Response(429)) is None


# -- JSON -------------------------------------------------------------------------------------


async def test_invalid_json_is_provider_unavailable(make_http: Callable[..., ProviderHTTP]) -> None:
    http = make_http(Scripted([httpx2.Response(200, content=b"<html>Bad gateway</html>")]))

    response = await http.request("GET", "/a")

    with pytest.raises(ProviderUnavailable) as caught:
        _BODY.read(response, what="an order")

    assert caught.value.message == "Polar sent a response that is not valid JSON."
    assert caught.value.__cause__ is None


async def test_an_empty_body_names_the_provider_that_sent_it(
    make_http: Callable[..., ProviderHTTP],
) -> None:
    http = make_http(Scripted([httpx2.Response(200, content=b"")]))
    response = await http.request("GET", "/a")

    with pytest.raises(ProviderUnavailable, match=r"^Polar sent a response that is not valid JSON"):
        _BODY.read(response, what="an order")


def test_invalid_utf8_body_is_provider_unavailable() -> None:
    with pytest.raises(ProviderUnavailable):
        _BODY.read(httpx2.Response(200, content=b'{"a": "\xff"}'), what="an order")


async def test_decimal_parsing_keeps_0_1_exact(make_http: Callable[..., ProviderHTTP]) -> None:
    http = make_http(Scripted([httpx2.Response(200, content=b'{"amount": 0.1, "cents": 1099}')]))

    body = _BODY.read(await http.request("GET", "/a"), what="an order")

    assert body["amount"] == Decimal("0.1")
    assert isinstance(body["amount"], Decimal)
    assert body["cents"] == 1099 and isinstance(body["cents"], int)


# -- secrets ----------------------------------------------------------------------------------


async def test_retries_are_logged_at_info_with_method_path_status_attempt_and_delay(
    make_http: Callable[..., ProviderHTTP], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mcp_invoices.http")
    http = make_http(Scripted([json_response(503, {}, **{"Retry-After": "2"}), json_response(200, {})]))

    await http.request("GET", "/v1/orders/9", params={"page": 3})

    (record,) = [r for r in caplog.records if r.name == "mcp_invoices.http" and r.levelno == logging.INFO]
    fields = {key: getattr(record, key) for key in ("method", "path", "status", "attempt", "delay")}
    assert fields == {"method": "GET", "path": "/v1/orders/9", "status": "503", "attempt": 1, "delay": 2.0}
    assert "page=3" not in record.getMessage()


async def test_credentials_never_appear_in_logs_or_errors(
    make_http: Callable[..., ProviderHTTP], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    outcomes: list[InvoiceError] = []
    answers: list[httpx2.Response | Exception] = [
        json_response(503, {}),
        json_response(401, {"detail": SECRET}),
        json_response(429, {}, **{"Retry-After": "1"}),
        httpx2.ConnectError(f"failed {SECRET}"),
        httpx2.ReadTimeout("timed out"),
        httpx2.Response(200, content=b"not json"),
    ]
    for answer in answers:
        http = make_http(
            Scripted([answer]), base_url=f"http://user:{SECRET}@127.0.0.1:9000/polar?key={SECRET}"
        )
        with pytest.raises(InvoiceError) as caught:
            response = await http.request(
                "GET", "/v1/orders/1", params={"token": SECRET}, headers={"X-Extra": SECRET}
            )
            _BODY.read(response, what="an order")
        outcomes.append(caught.value)
        assert SECRET not in repr(http)

    texts = [str(error) + repr(error) + str(error.to_dict()) for error in outcomes]
    assert len(outcomes) == 6
    assert all(SECRET not in text for text in texts)
    assert all(error.__cause__ is None and error.__suppress_context__ for error in outcomes)
    assert caplog.records, "the retries should have been logged"
    assert all(
        SECRET not in record.getMessage() and SECRET not in str(record.__dict__) for record in caplog.records
    )


async def test_httpx2_request_log_omits_the_query_string(
    make_http: Callable[..., ProviderHTTP], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx2")
    http = make_http(Scripted([json_response(200, {})]))

    await http.request("GET", "/v1/orders", params={"api_key": SECRET})

    messages = [record.getMessage() for record in caplog.records if record.name == "httpx2"]
    assert messages and all(SECRET not in message for message in messages)
    assert any("/polar/v1/orders" in message for message in messages)


# -- against a real server on loopback --------------------------------------------------------


@dataclass
class LoopbackServer:
    base_url: str
    client_ports: list[int]
    flaky_calls: list[int]


def _free_loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A Starlette app under uvicorn on 127.0.0.1, on a port the OS chose, in its own thread."""
    client_ports: list[int] = []
    flaky_calls: list[int] = []

    async def whoami(request: Request) -> Response:
        assert request.client is not None
        client_ports.append(request.client.port)
        return JSONResponse({"port": request.client.port, "amount": 0.1})

    async def flaky(request: Request) -> Response:
        assert request.client is not None
        client_ports.append(request.client.port)
        flaky_calls.append(len(flaky_calls) + 1)
        if len(flaky_calls) == 1:
            return JSONResponse({"error": "Maintenance"}, status_code=503, headers={"Retry-After": "1"})
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/api/whoami", whoami), Route("/api/flaky", flaky)])
    sock = _free_loopback_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.01)
    try:
        yield LoopbackServer(f"http://127.0.0.1:{port}/api", client_ports, flaky_calls)
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
        sock.close()


def _real_http(base_url: str, sleep: RecordingSleep) -> ProviderHTTP:
    return ProviderHTTP(
        provider_name="Polar",
        base_url=base_url,
        headers={"Authorization": f"Bearer {SECRET}"},
        auth_hint=AUTH_HINT,
        connect_timeout=2.0,
        read_timeout=5.0,
        sleep=sleep,
    )


async def test_real_server_503_then_200_is_retried_after_its_retry_after(
    loopback_server: LoopbackServer, sleep: RecordingSleep
) -> None:
    http = _real_http(loopback_server.base_url, sleep)
    try:
        body = _BODY.read(await http.request("GET", "/flaky"), what="an answer")
    finally:
        await http.aclose()

    assert body == {"ok": True}
    assert loopback_server.flaky_calls == [1, 2]
    assert sleep.delays == [1.0]


async def test_real_server_one_kept_alive_connection_serves_several_requests(
    loopback_server: LoopbackServer, sleep: RecordingSleep
) -> None:
    http = _real_http(loopback_server.base_url, sleep)
    try:
        bodies = [_BODY.read(await http.request("GET", "/whoami"), what="an answer") for _ in range(3)]
    finally:
        await http.aclose()

    assert len(loopback_server.client_ports) == 3
    assert len(set(loopback_server.client_ports)) == 1
    assert bodies[0]["amount"] == Decimal("0.1")


async def test_real_server_logs_carry_no_credentials(
    loopback_server: LoopbackServer, sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http = _real_http(loopback_server.base_url, sleep)
    try:
        await http.request("GET", "/flaky", params={"token": SECRET}, headers={"X-Extra": SECRET})
    finally:
        await http.aclose()

    assert caplog.records
    assert all(SECRET not in record.getMessage() for record in caplog.records)


async def test_real_refused_connection_maps_to_provider_unavailable_naming_the_host(
    sleep: RecordingSleep,
) -> None:
    sock = _free_loopback_socket()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now: connecting is refused at once
    http = _real_http(f"http://127.0.0.1:{port}/polar", sleep)
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await http.request("GET", "/v1/orders/1", params={"token": SECRET})
    finally:
        await http.aclose()

    assert caught.value.message == f"Could not connect to Polar at 127.0.0.1:{port}."
    assert len(sleep.delays) == 3
