"""Slowloris: connections that send a request line, then a header line every second, and never finish.

With no deadline on receiving a request and no cap on connections, 400 of them against a server
whose open-files limit is 256 left no file for anyone else: nobody was served, and every refused
``accept()`` was logged with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile.conftest import CUSTOMER_DEADLINE, figure, serve, served_within, timed

OPEN_FILES = 256
ATTACK_CONNECTIONS = 400


@dataclass
class Slowloris:
    port: int
    connections: int
    opened: int = 0
    closed_by_server: int = 0

    async def hold(self, stop: asyncio.Event) -> None:
        """One attacker connection, reopened whenever the server closes it, until ``stop``."""
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.2)
                continue
            self.opened += 1
            try:
                writer.write(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=1.0)
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
                    if reader.at_eof() or await _closed(reader):
                        self.closed_by_server += 1
                        break
            except OSError:
                self.closed_by_server += 1
            finally:
                writer.close()


async def _closed(reader: asyncio.StreamReader) -> bool:
    """Whether the server closed its side (a read returns EOF at once) without waiting for more."""
    try:
        data = await asyncio.wait_for(reader.read(1024), timeout=0.001)
    except TimeoutError:
        return False
    return data == b"" or data.startswith(b"HTTP/1.1 503")


async def test_a_customer_is_served_while_slowloris_holds_more_connections_than_the_server_has_files(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, open_files=OPEN_FILES) as server:
        token = server.token("cus_hana")
        log_before, rss_before = server.log_bytes(), server.rss_bytes()
        attack = Slowloris(server.port, ATTACK_CONNECTIONS)
        stop = asyncio.Event()
        holders = [asyncio.create_task(attack.hold(stop)) for _ in range(ATTACK_CONNECTIONS)]
        try:
            deadline = time.monotonic() + 10
            while attack.opened < ATTACK_CONNECTIONS and time.monotonic() < deadline:  # bounded
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # the attack settles: every header line sent at least once
            elapsed, outcome = await timed(CUSTOMER_DEADLINE, lambda: served_within(server.url, token))
            log_growth, rss_growth = server.log_bytes() - log_before, server.rss_bytes() - rss_before
        finally:
            stop.set()
            await asyncio.gather(*holders, return_exceptions=True)
    figure(
        "slowloris: 400 connections, a header line a second, open-files limit 256",
        served_s=elapsed,
        failure=None if elapsed is not None else type(outcome).__name__,
        log_bytes=log_growth,
        rss_mb=rss_growth / 2**20,
        attacker_connections_opened=attack.opened,
        closed_by_server=attack.closed_by_server,
    )
    assert attack.opened >= ATTACK_CONNECTIONS
    assert elapsed is not None and elapsed < CUSTOMER_DEADLINE, outcome
    assert log_growth < 20_000, server.log_text()[-3000:]
    assert rss_growth < 50 * 2**20


@pytest.mark.parametrize("partial", [b"", b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n"])
async def test_a_request_that_does_not_arrive_within_the_deadline_is_closed(
    tmp_path: Path, partial: bytes
) -> None:
    with serve(tmp_path, {"MCP_INVOICES_HTTP_REQUEST_TIMEOUT": "1"}) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        started = time.monotonic()
        writer.write(partial)
        with contextlib.suppress(ConnectionError):
            while time.monotonic() - started < 5:  # bounded: a header line every 0.2 s, as slowloris does
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                if await _closed(reader):
                    break
                await asyncio.sleep(0.2)
        closed_after = time.monotonic() - started
        writer.close()
    assert closed_after < 2.5
