"""The test Redis: ``MCP_INVOICES_TEST_REDIS_URL`` (``scripts/start-test-services.sh redis`` starts one).

Tests that need it skip with a reason when the variable is unset, so a plain local ``pytest``
passes; under CI (``CI`` set) a missing Redis is a failure instead, because CI must run them.
Each test uses its own key prefix, so runs (and tests) never see each other's keys.
"""

from __future__ import annotations

import os
import socket
import uuid

import pytest

__all__ = ["closed_port_url", "require_redis", "unique_prefix"]


def require_redis() -> str:
    url = os.environ.get("MCP_INVOICES_TEST_REDIS_URL", "").strip()
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Redis tests: .ci/run exports MCP_INVOICES_TEST_REDIS_URL")
        pytest.skip(
            "needs Redis: export MCP_INVOICES_TEST_REDIS_URL=$(bash scripts/start-test-services.sh redis)"
        )
    return url


def unique_prefix() -> str:
    return f"mcpi-test-{uuid.uuid4().hex[:12]}"


def closed_port_url() -> str:
    """A Redis URL on a loopback port where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"
