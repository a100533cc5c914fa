"""CI fails only for the project: test services of their own, and a failing server's output on show.

Two checkouts (two CI runs on one machine) each get their own Redis and PostgreSQL on free ports and
in their own directories; a server a test starts writes its output where the report shows it when
the test fails, never to DEVNULL.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "start-test-services.sh"


def _start_redis(directory: Path) -> str:
    finished = subprocess.run(
        ["bash", str(SCRIPT), "redis"],
        env={k: v for k, v in os.environ.items() if not k.startswith("MCP_INVOICES_REDIS_")}
        | {"MCP_INVOICES_REDIS_DIR": str(directory)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.strip()


def _port(url: str) -> int:
    match = re.fullmatch(r"redis://127\.0\.0\.1:(\d+)/0", url)
    assert match, url
    return int(match[1])


@pytest.fixture
def redis_directories(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run this: scripts/start-test-services.sh redis installs redis-server")
        pytest.skip("needs redis-server and redis-cli (scripts/start-test-services.sh redis installs them)")
    first, second = tmp_path / "checkout-a", tmp_path / "checkout-b"
    try:
        yield first, second
    finally:
        for directory in (first, second):
            port_file = directory / "port"
            if port_file.exists():
                subprocess.run(
                    [
                        "redis-cli",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        port_file.read_text().strip(),
                        "shutdown",
                        "nosave",
                    ],
                    capture_output=True,
                    timeout=10,
                    check=False,
                )


def test_two_checkouts_get_two_redis_servers_and_each_keeps_its_own(
    redis_directories: tuple[Path, Path],
) -> None:
    first, second = redis_directories
    with socket.socket() as squatter:  # something else already on the port the first checkout used
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        first.mkdir()
        (first / "port").write_text(f"{taken}\n")
        url_a = _start_redis(first)
        url_b = _start_redis(second)
        assert _port(url_a) != taken, "took a port another program listens on"
    assert url_a != url_b
    for url in (url_a, url_b):
        ping = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(_port(url)), "ping"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        assert ping.stdout.strip() == "PONG"
    # Idempotent: running it again in a checkout reuses that checkout's server.
    assert _start_redis(first) == url_a


def test_no_server_a_test_starts_sends_its_output_to_devnull() -> None:
    """A server that dies must leave something to read: its stderr goes to a file or a pipe."""
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        if "bench" not in path.relative_to(REPO).parts  # benchmarks are not tests a CI run fails on
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "stderr=subprocess." + "DEVNULL" in line.replace(" ", "")
    ]
    assert offenders == []


def test_a_failing_set_up_shows_what_the_server_said(tmp_path: Path) -> None:
    """The stdio server of the protocol-version tests cannot start (Redis unreachable): the failure
    report carries the server's own explanation instead of only 'stream closed'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_protocol_versions.py::test_before_resource_links_a_generation_is_answered_in_a_form_the_client_parses[2024-11-05]",
        ],
        cwd=REPO,
        env=os.environ | {"MCP_INVOICES_REDIS_URL": f"redis://127.0.0.1:{closed}/0", "CI": ""},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode != 0, finished.stdout
    assert "server output" in finished.stdout, finished.stdout
    assert f"cannot connect to Redis at 127.0.0.1:{closed}" in finished.stdout, finished.stdout


def test_stop_stops_this_checkouts_redis_and_no_other(redis_directories: tuple[Path, Path]) -> None:
    """``.ci/run`` stops its services on exit, failed or not: ``stop`` ends the Redis of its own
    directory and leaves another checkout's running."""
    first, second = redis_directories
    url_a, url_b = _start_redis(first), _start_redis(second)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MCP_INVOICES_REDIS_", "MCP_INVOICES_PG_"))
    }
    stopped = subprocess.run(
        ["bash", str(SCRIPT), "stop"],
        env=env | {"MCP_INVOICES_REDIS_DIR": str(first), "MCP_INVOICES_PG_DIR": str(first / "no-postgres")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert stopped.returncode == 0, stopped.stderr

    def answers(url: str) -> bool:
        ping = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(_port(url)), "ping"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return ping.stdout.strip() == "PONG"

    assert not answers(url_a)
    assert answers(url_b)
