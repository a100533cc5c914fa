"""The event logs behind resumable streams (``server/streams.py``): what a stream kept, in this process
or in Redis, bounded by ``config.StreamLimits``.

A stream's events are kept under a random token, with the principal (and, with handshake sessions,
the session) that opened it; ``read_after`` and ``wait`` let a reconnecting client catch up and
follow. Oldest events are dropped first (the answer, the newest, is kept); a stream expires some
seconds after its last event; in memory the streams together are bounded too.
"""

from __future__ import annotations

import abc
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from mcp_invoices.config import StreamLimits
from mcp_invoices.logs import Throttled

if TYPE_CHECKING:
    from mcp_invoices.replicas import SharedState

__all__ = ["StreamInfo", "EventLog", "MemoryEventLog", "RedisEventLog", "event_log_for", "parse_event_id"]

logger = logging.getLogger("mcp_invoices.server")
_log = Throttled(logger, interval=1.0)

_EVENT_ID = re.compile(r"^([A-Za-z0-9_-]{22})\.([0-9]{1,12})$")
"""``<stream token>.<sequence>``: the token is ``secrets.token_urlsafe(16)``."""


@dataclass(frozen=True)
class StreamInfo:
    owner: str
    """The principal of the token that opened the stream."""
    session: str
    """The handshake session it belongs to; empty without sessions (stateless, replicas)."""
    stream_id: str
    """The SDK's stream id (the request's JSON-RPC id)."""
    complete: bool
    """Its answer (a response or an error) has been stored: nothing follows it."""


def parse_event_id(event_id: str) -> tuple[str, int] | None:
    match = _EVENT_ID.match(event_id.strip())
    return (match.group(1), int(match.group(2))) if match else None


class EventLog(abc.ABC):
    """Where the events of resumable streams are kept, bounded by ``limits``."""

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits

    @abc.abstractmethod
    async def open(self, token: str, info: StreamInfo) -> None:
        """Start the stream ``token`` (its priming event is sequence 0)."""

    @abc.abstractmethod
    async def append(self, token: str, payload: str, *, final: bool) -> int:
        """Keep one event; its sequence number (0 when the stream is no longer kept)."""

    @abc.abstractmethod
    async def info(self, token: str) -> StreamInfo | None: ...

    @abc.abstractmethod
    async def read_after(self, token: str, sequence: int) -> tuple[list[tuple[int, str]], bool]:
        """The kept events after ``sequence`` (oldest first), and whether the stream is complete."""

    @abc.abstractmethod
    async def wait(self, token: str, sequence: int, timeout: float) -> None:
        """Return once an event after ``sequence`` may have been kept, or after ``timeout`` seconds."""

    async def end_session(self, session: str) -> None:  # noqa: B027 - only the in-process log has sessions
        """A handshake session ended: its streams get no more events."""


# -- in this process ---------------------------------------------------------------------------------


@dataclass
class _Stream:
    info: StreamInfo
    events: deque[tuple[int, str]] = field(default_factory=deque)
    size: int = 0
    sequence: int = 0
    updated: float = 0.0
    changed: anyio.Event = field(default_factory=anyio.Event)


class MemoryEventLog(EventLog):
    """One process's log: at most ``max_streams`` streams, each bounded and dropped ``ttl`` after its last
    event (or first, when ``max_streams`` is reached: the least recently written)."""

    def __init__(self, limits: StreamLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limits)
        self._clock = clock
        self._streams: OrderedDict[str, _Stream] = OrderedDict()
        self.evicted = 0
        """Streams dropped before their time because ``max_streams`` were kept (for tests and the log)."""

    def __len__(self) -> int:
        return len(self._streams)

    def _expire(self) -> None:
        cutoff = self._clock() - self.limits.ttl
        while self._streams:
            token, stream = next(iter(self._streams.items()))
            if stream.updated >= cutoff and len(self._streams) <= self.limits.max_streams:
                break
            if stream.updated >= cutoff:
                self.evicted += 1
                _log.info(
                    "dropped the least recently written resumable stream: MCP_INVOICES_STREAM_MAX_STREAMS are kept",
                    key="max_streams",
                    extra={"max_streams": self.limits.max_streams},
                )
            del self._streams[token]
            stream.changed.set()

    def _live(self, token: str) -> _Stream | None:
        self._expire()
        return self._streams.get(token)

    async def open(self, token: str, info: StreamInfo) -> None:
        self._streams[token] = _Stream(info=info, updated=self._clock())
        self._expire()

    async def append(self, token: str, payload: str, *, final: bool) -> int:
        stream = self._live(token)
        if stream is None:
            return 0
        stream.sequence += 1
        stream.events.append((stream.sequence, payload))
        stream.size += len(payload)
        while len(stream.events) > 1 and (
            len(stream.events) > self.limits.max_events or stream.size > self.limits.max_bytes
        ):
            _, dropped = stream.events.popleft()
            stream.size -= len(dropped)
        if final:
            stream.info = StreamInfo(stream.info.owner, stream.info.session, stream.info.stream_id, True)
        stream.updated = self._clock()
        self._streams.move_to_end(token)
        stream.changed.set()
        stream.changed = anyio.Event()
        return stream.sequence

    async def info(self, token: str) -> StreamInfo | None:
        stream = self._live(token)
        return stream.info if stream is not None else None

    async def read_after(self, token: str, sequence: int) -> tuple[list[tuple[int, str]], bool]:
        stream = self._live(token)
        if stream is None:
            return [], True
        return [event for event in stream.events if event[0] > sequence], stream.info.complete

    async def wait(self, token: str, sequence: int, timeout: float) -> None:
        stream = self._live(token)
        if stream is None or stream.sequence > sequence or stream.info.complete:
            return
        with anyio.move_on_after(timeout):
            await stream.changed.wait()

    async def end_session(self, session: str) -> None:
        for stream in self._streams.values():
            if stream.info.session == session and not stream.info.complete:
                stream.info = StreamInfo(stream.info.owner, session, stream.info.stream_id, True)
                stream.changed.set()


# -- in Redis (every replica) ------------------------------------------------------------------------

_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local max_events, max_bytes, ttl_ms = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local sequence = redis.call('HINCRBY', KEYS[1], 'sequence', 1)
local entry = sequence .. '|' .. ARGV[1]
redis.call('RPUSH', KEYS[2], entry)
local size = redis.call('HINCRBY', KEYS[1], 'size', #entry)
local count = redis.call('LLEN', KEYS[2])
while count > 1 and (count > max_events or size > max_bytes) do
  local dropped = redis.call('LPOP', KEYS[2])
  size = redis.call('HINCRBY', KEYS[1], 'size', -#dropped)
  count = count - 1
end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'complete', '1') end
redis.call('PEXPIRE', KEYS[1], ttl_ms)
redis.call('PEXPIRE', KEYS[2], ttl_ms)
return sequence
"""

REDIS_POLL_SECONDS = 0.2
"""How often a resumed stream looks for new events in Redis while its call runs on another replica."""


class RedisEventLog(EventLog):
    """The log in Redis: a hash per stream (whose it is, its sequence, its size) and a list of its events,
    trimmed and given their time to live in one script. A Redis that fails raises
    ``SharedStateUnavailable`` (a reconnect is answered 503; a call's stream goes on without ids)."""

    def __init__(self, limits: StreamLimits, redis: Any, prefix: str) -> None:
        super().__init__(limits)
        self._redis = redis
        self._client = redis.client
        self._prefix = prefix
        self._append = self._client.register_script(_APPEND)

    def _keys(self, token: str) -> list[str]:
        return [f"{self._prefix}:stream:{token}", f"{self._prefix}:stream:{token}:events"]

    def _unavailable(self, error: Exception) -> Exception:
        if not self._redis.is_failure(error):
            return error
        return self._redis.unavailable("resumable streams", "a dropped stream cannot be resumed")  # type: ignore[no-any-return]

    async def open(self, token: str, info: StreamInfo) -> None:
        meta, _ = self._keys(token)
        try:
            await self._client.hset(
                meta,
                mapping={
                    "owner": info.owner,
                    "session": info.session,
                    "stream_id": info.stream_id,
                    "sequence": 0,
                    "size": 0,
                    "complete": 0,
                },
            )
            await self._client.pexpire(meta, int(self.limits.ttl * 1000))
        except Exception as error:
            raise self._unavailable(error) from None

    async def append(self, token: str, payload: str, *, final: bool) -> int:
        limits = self.limits
        try:
            return int(
                await self._append(
                    keys=self._keys(token),
                    args=[
                        payload,
                        "1" if final else "0",
                        limits.max_events,
                        limits.max_bytes,
                        int(limits.ttl * 1000),
                    ],
                )
            )
        except Exception as error:
            raise self._unavailable(error) from None

    async def info(self, token: str) -> StreamInfo | None:
        try:
            meta = await self._client.hgetall(self._keys(token)[0])
        except Exception as error:
            raise self._unavailable(error) from None
        if not meta:
            return None
        text = {_text(key): _text(value) for key, value in meta.items()}
        return StreamInfo(text["owner"], text["session"], text["stream_id"], text["complete"] == "1")

    async def read_after(self, token: str, sequence: int) -> tuple[list[tuple[int, str]], bool]:
        meta, events = self._keys(token)
        try:
            # The answer and "complete" are written in one script: reading "complete" first means a
            # complete stream's list, read next, holds its answer.
            complete = _text(await self._client.hget(meta, "complete") or b"1") == "1"
            entries = await self._client.lrange(events, 0, -1)
        except Exception as error:
            raise self._unavailable(error) from None
        kept: list[tuple[int, str]] = []
        for entry in entries:
            number, _, payload = _text(entry).partition("|")
            if int(number) > sequence:
                kept.append((int(number), payload))
        return kept, complete

    async def wait(self, token: str, sequence: int, timeout: float) -> None:
        await anyio.sleep(min(timeout, REDIS_POLL_SECONDS))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def event_log_for(shared: SharedState, limits: StreamLimits) -> EventLog:
    """Redis when the shared state is Redis (every replica sees every stream), else this process."""
    from mcp_invoices.replicas.redis_backend import RedisSharedState

    if isinstance(shared, RedisSharedState):
        return RedisEventLog(limits, shared.redis, shared.keys.prefix)
    return MemoryEventLog(limits)
