"""Plumbing for the benchmarks: subprocesses on 127.0.0.1, /proc readings, statistics, clients.

Every wait here is bounded by a deadline; every subprocess started here is ended by its own handle.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent.parent

_PROVIDER_PREFIXES = ("POLAR_", "AFTERNOON_", "BAGISTO_", "PAYABLI_", "MCP_INVOICES_")


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any provider or server setting, plus ``extra``.

    A developer's own provider variables must not leak into a benchmark server.
    """
    base = {key: value for key, value in os.environ.items() if not key.startswith(_PROVIDER_PREFIXES)}
    return base | {"MCP_INVOICES_LOG_LEVEL": "WARNING"} | dict(extra)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """``min-max`` of a sample, to show how noisy a median is."""
    if not values:
        return "-"
    return f"{min(values):.1f}-{max(values):.1f}"


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Terminate one process we started, by its handle; kill it if it will not go."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


# -- /proc ------------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3 of stat(5), utime 14, stime 15.
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def child_pids() -> list[int]:
    """Direct children of this process (e.g. the stdio server the SDK client spawned)."""
    children: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            children.extend(int(pid) for pid in (task / "children").read_text().split())
    return children


def command_line(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    return []


def stdio_server_pid() -> int | None:
    """The pid of the ``mcp-invoices serve`` (stdio) child this process started, if exactly one runs."""
    found = [
        pid for pid in child_pids() if "serve" in command_line(pid) and "--transport" not in command_line(pid)
    ]
    return found[0] if len(found) == 1 else None


def machine_description() -> list[str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    from importlib.metadata import version

    return [
        f"- CPU: {model}; {os.cpu_count()} logical cores ({usable} usable by this process)",
        f"- Python {sys.version.split()[0]} ({sys.executable}); mcp {version('mcp')}, httpx2 {version('httpx2')}, "
        f"msgspec {version('msgspec')}",
        f"- load average at start: {load}",
    ]


# -- subprocesses -------------------------------------------------------------------------------------


@contextlib.contextmanager
def emulator_process(
    *, latency_ms: float, payabli_extra: int = 0, afternoon_extra: int = 0
) -> Iterator[tuple[str, int]]:
    """The provider emulators in their own process; yields (their base URL, their pid)."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(BENCH / "emulator.py"),
            "--latency-ms",
            str(latency_ms),
            "--payabli-extra",
            str(payabli_extra),
            "--afternoon-extra",
            str(afternoon_extra),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env=clean_environment({}),
    )
    try:
        assert process.stdout is not None
        line = read_line(process.stdout, time.monotonic() + 60)
        if not line.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.strip(), process.pid
    finally:
        if process.stdin:
            with contextlib.suppress(OSError):
                process.stdin.close()
        stop(process)


class LineReader:
    """Lines from a pipe, read in large chunks (timing must not pay a syscall per byte), with deadlines."""

    def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
        self.fd = stream.fileno()
        self.buffer = b""

    def line(self, deadline: float) -> bytes:
        import select

        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise TimeoutError(f"no complete line before the deadline; got {self.buffer[:200]!r}")
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError(f"stream closed; got {self.buffer[:200]!r}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


def read_line(stream, deadline: float) -> str:  # type: ignore[no-untyped-def]
    """One line from a pipe that carries nothing else, or an error at the deadline (never hangs)."""
    return LineReader(stream).line(deadline).decode()


@contextlib.contextmanager
def http_server_process(
    argv: Sequence[str], env: Mapping[str, str], *, interrupt: bool = False
) -> Iterator[tuple[str, int]]:
    """A streamable-HTTP server subprocess (``argv`` gets ``--port``); yields (its /mcp URL, its pid).

    ``interrupt`` ends it with SIGINT (Ctrl-C) rather than SIGTERM: uvicorn re-raises the signal it
    caught once it has shut down, and only SIGINT then ends the process as an exception, which lets
    a wrapper such as cProfile write its results.
    """
    port = free_port()
    process = subprocess.Popen(
        [*argv, "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=clean_environment(env),
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # bounded: until /healthz answers or the deadline passes
            if process.poll() is not None:
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"the server exited at start-up: {stderr[-2000:]}")
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not become healthy within 60 s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp", process.pid
    finally:
        if interrupt and process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
        stop(process)
        if process.stderr:
            process.stderr.close()


def serve_command() -> list[str]:
    """``mcp-invoices serve`` as installed (the console script), or through ``-m`` if there is none."""
    script = Path(sys.executable).with_name("mcp-invoices")
    return [str(script), "serve"] if script.exists() else [sys.executable, "-m", "mcp_invoices", "serve"]


# -- MCP clients ------------------------------------------------------------------------------------


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA store costs ~50 ms per client; the benchmarks open 1,000 clients (all plain http).
    return ssl.create_default_context()


@contextlib.asynccontextmanager
async def bearer_client(
    url: str, token: str, *, mode: str = "auto", timeout: float = 60
) -> AsyncIterator[Client]:
    """An SDK client session over streamable HTTP with a bearer token."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout, verify=_tls_context()) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        yield client
