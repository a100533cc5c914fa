"""The attack suite's deployment: `mcp-invoices serve --transport http` as an operator runs it, on loopback.

Each attack runs against a real server process beside a customer who is not the attacker; the tests
assert that customer is still served within the deadline, and that the server's log (stderr, kept
in a file) and memory stay small. ``Server.measure`` gives the figures the README's table reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import REPO
from tests.test_transports import _free_port, issue_token

__all__ = ["Server", "serve", "customer", "served_within", "CUSTOMER_DEADLINE"]

SERVER_REPO = Path(os.environ.get("MCP_INVOICES_HOSTILE_SERVER_REPO") or REPO)
"""The checkout whose server the attacks run against: this one, or (for the README's "before" column)
another, e.g. ``git worktree add /tmp/before21 c214cfc`` (``tests/hostile/proof_table.py``)."""

CUSTOMER_DEADLINE = 10.0
"""Seconds a customer's call may take while an attack runs: a host's usual tool-call timeout is longer."""


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str]

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    def log_bytes(self) -> int:
        return self.log_path.stat().st_size

    def rss_bytes(self) -> int:
        """The server process's resident memory, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def token(self, customer: str, provider: str = "local") -> str:
        if SERVER_REPO == REPO:
            return issue_token(self.env, provider, customer)
        completed = subprocess.run(  # the other checkout's own CLI: its database, its migrations
            [
                sys.executable,
                "-m",
                "mcp_invoices",
                "token",
                "issue",
                "--provider",
                provider,
                "--customer",
                customer,
            ],
            capture_output=True,
            timeout=60,
            cwd=SERVER_REPO,
            env=os.environ | self.env | {"PYTHONPATH": str(SERVER_REPO)},
            check=True,
        )
        return completed.stdout.decode().strip()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _lower_open_files(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


@contextlib.contextmanager
def serve(
    workdir: Path, env: dict[str, str] | None = None, *, open_files: int | None = None
) -> Iterator[Server]:
    """The HTTP server on a free loopback port, its stderr in a file; ``open_files`` lowers its hard limit."""
    port = _free_port()
    base_env = {"MCP_INVOICES_DB": str(workdir / "ledger.sqlite3"), "MCP_INVOICES_LOG_LEVEL": "INFO"}
    full_env = base_env | (env or {})
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mcp_invoices", "serve", "--transport", "http", "--port", str(port)],
            env=os.environ | full_env | {"PYTHONPATH": str(SERVER_REPO)},
            cwd=SERVER_REPO,
            stdout=subprocess.DEVNULL,
            stderr=log,
            preexec_fn=_lower_open_files(open_files) if open_files else None,
        )
    try:
        deadline = time.monotonic() + 30
        while True:  # bounded: until /healthz answers or the deadline passes
            if process.poll() is not None:
                raise AssertionError(f"server exited: {log_path.read_text()[-2000:]}")
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not become healthy within 30 s")
            time.sleep(0.05)
        yield Server(f"http://127.0.0.1:{port}/mcp", process, log_path, full_env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def customer(url: str, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=CUSTOMER_DEADLINE
    ) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            yield client


async def served_within(url: str, token: str, deadline: float = CUSTOMER_DEADLINE) -> float:
    """Seconds a fresh customer takes to connect and list their invoices; fails past ``deadline``."""
    started = time.monotonic()
    with anyio.fail_after(deadline):
        async with customer(url, token) as client:
            result = await client.call_tool("list_invoices", {})
    assert not result.is_error, result.content
    return time.monotonic() - started


# -- a dependency of our own, to freeze ------------------------------------------------------------


@dataclass
class Dependency:
    """A PostgreSQL or Redis server started for one test (never the shared test services), to stop with SIGSTOP."""

    url: str
    main_pid: int

    def pids(self) -> list[int]:
        """The server process and its children (PostgreSQL's backends), from /proc."""
        pids = [self.main_pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.main_pid:
                    pids.append(int(stat.parent.name))
        return pids

    def signal_all(self, signum: int) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Stopped (SIGSTOP: connections stay open, nothing answers) until the block ends (SIGCONT)."""
        self.signal_all(signal.SIGSTOP)
        try:
            yield
        finally:
            self.signal_all(signal.SIGCONT)


def require_service(variable: str, kind: str, script_name: str, *, ci_has_it: bool = True) -> None:
    """Skip without the test service; where CI always has it (Redis), a missing one fails under CI, as
    ``tests/redis_support.py`` does. PostgreSQL is CI's second pass (``pytest -m database``) only."""
    if not os.environ.get(variable, "").strip():
        if os.environ.get("CI") and ci_has_it:
            pytest.fail(f"CI must run the frozen-{kind} tests: .ci/run exports {variable}")
        pytest.skip(f"needs {kind}: export {variable}=$(bash scripts/start-test-services.sh {script_name})")


@contextlib.contextmanager
def own_service(kind: str, workdir: Path) -> Iterator[Dependency]:
    """``scripts/start-test-services.sh`` on a free port and directory of this test's own; stopped afterwards."""
    port = _free_port()
    # Not under pytest's tmp_path: as root the cluster belongs to `postgres`, who must reach its directory.
    parent = Path(tempfile.mkdtemp(prefix=f"mcp-invoices-hostile-{kind}-"))
    parent.chmod(0o755)
    directory = parent / kind
    env = os.environ | (
        {"MCP_INVOICES_PG_PORT": str(port), "MCP_INVOICES_PG_DIR": str(directory)}
        if kind == "postgres"
        else {"MCP_INVOICES_REDIS_PORT": str(port), "MCP_INVOICES_REDIS_DIR": str(directory)}
    )
    completed = subprocess.run(
        ["bash", "scripts/start-test-services.sh", kind], cwd=REPO, env=env, capture_output=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    # The script keeps PostgreSQL's cluster in <dir>/data (initdb wants a directory of its own).
    pid_file = directory / ("data/postmaster.pid" if kind == "postgres" else "redis.pid")
    dependency = Dependency(completed.stdout.decode().strip(), int(pid_file.read_text().split()[0]))
    try:
        yield dependency
    finally:
        dependency.signal_all(signal.SIGCONT)
        # PostgreSQL: SIGQUIT is its immediate shutdown; Redis: SIGTERM.
        with contextlib.suppress(ProcessLookupError):
            os.kill(dependency.main_pid, signal.SIGQUIT if kind == "postgres" else signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _running(dependency.main_pid) and time.monotonic() < deadline:  # bounded
            time.sleep(0.05)
        shutil.rmtree(parent, ignore_errors=True)


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie nobody reaps has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def figure(attack: str, **values: object) -> None:
    """Record what an attack did (for the README's table): one JSON line appended to the file
    ``MCP_INVOICES_HOSTILE_FIGURES`` names, when it is set; nothing otherwise."""
    path = os.environ.get("MCP_INVOICES_HOSTILE_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            server = os.environ.get("MCP_INVOICES_HOSTILE_LABEL") or (
                "after" if SERVER_REPO == REPO else "before"
            )
            out.write(json.dumps({"attack": attack, "server": server, **values}, default=str) + "\n")


async def timed(deadline: float, work: Callable[[], Awaitable[object]]) -> tuple[float | None, object]:
    """``(seconds, result)`` of ``work()``, or ``(None, the exception)`` when it failed or passed ``deadline``."""
    started = time.monotonic()
    try:
        with anyio.fail_after(deadline):
            result = await work()
    except Exception as error:
        return None, error
    return time.monotonic() - started, result
