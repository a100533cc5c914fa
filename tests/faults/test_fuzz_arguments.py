"""Any arguments to any tool, through the SDK's real client: a coded answer, never a trace.

Hypothesis draws each tool's arguments (its own names with values of every JSON kind, plausible and
hostile strings, nested junk, names no tool takes) and the server must answer each call with a
success or a structured error of a known code - never the "unexpected error" that means an input
reached code that did not expect it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from mcp_invoices.principal import Scope
from tests.faults.conftest import sessions
from tests.results import error_of

CODES = {
    "not_found",
    "not_paid",
    "missing_billing_details",
    "not_supported",
    "invalid_argument",
    "unauthorized",
    "rate_limited",
    "provider_unavailable",
    "timeout",
}
PLAUSIBLE = [
    "local",
    "polar",
    "paid",
    "open",
    "ord_1001",
    "ord_1003",
    "ord_2001",
    "INV-2026-0001",
    "inv-2026-0001",
    "2026-01-01",
    "2026-13-45",
    "0001-01-01",
    "9999-12-31",
    "",
    " ",
    "²",
    "9" * 30,
    "\x00",
    "\ud800",
    "a\udfff",
    "\u202e",
    "../ord_1001",
    "ord_1001/../ord_2001",
    "%2e%2e",
    "x" * 300,
    "1e100000",
    "eyJ2IjoxfQ",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(PLAUSIBLE)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
addresses = st.fixed_dictionaries(
    {},
    optional={
        "line1": st.sampled_from(["1 Main St", "", "\x00", "x" * 300]) | values,
        "city": st.sampled_from(["Berlin", "x" * 1000]) | values,
        "postal_code": st.sampled_from(["10117", "1" * 25]) | values,
        "country": st.sampled_from(["US", "de", "QQ", "U\x00", "USA", "XK"]) | values,
        "state": values,
        "line2": values,
        "extra": values,
    },
)


def arguments_for(tool: Any) -> st.SearchStrategy[dict[str, Any]]:
    properties = sorted(tool.input_schema.get("properties", {}))
    optional = {name: (addresses | values) if name == "billing_address" else values for name in properties}
    known = st.fixed_dictionaries({}, optional=optional)
    foreign = st.dictionaries(
        st.sampled_from(["customer", "customer_id", "tenant", "zzz"]), values, max_size=1
    )
    return st.tuples(known, foreign).map(lambda parts: {**parts[0], **parts[1]})


class _Unexpected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def target(
    seeded_ledger: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BlockingPortal, Client, list[Any], _Unexpected]]:
    """One server for every example (a fresh one each would cost seconds): driven from a portal thread."""
    ledger = tmp_path_factory.mktemp("fuzz") / "ledger.sqlite3"
    for sibling in seeded_ledger.parent.glob(seeded_ledger.name + "*"):
        shutil.copy(sibling, ledger.parent / sibling.name.replace(seeded_ledger.name, ledger.name))
    unexpected = _Unexpected()
    server_log = logging.getLogger("mcp_invoices.server")
    server_log.addHandler(unexpected)
    try:
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(
                sessions(ledger, "local", None, Scope("local", "cus_alice"))
            ) as session,
        ):
            tools = portal.call(session.victim.list_tools).tools
            yield portal, session.victim, tools, unexpected
    finally:
        server_log.removeHandler(unexpected)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_any_arguments_to_any_tool_get_a_coded_answer_and_no_trace(
    target: tuple[BlockingPortal, Client, list[Any], _Unexpected], data: st.DataObject
) -> None:
    portal, client, tools, unexpected = target
    tool = data.draw(st.sampled_from(tools), label="tool")
    arguments = data.draw(arguments_for(tool), label="arguments")
    result = portal.call(client.call_tool, tool.name, arguments)
    if result.is_error:
        error = error_of(result)
        assert error["code"] in CODES, error
        assert "unexpected error" not in error["message"], (tool.name, error)
        assert "Traceback" not in error["message"] and 'File "' not in error["message"]
    else:
        assert result.structured_content is not None, result.content
    assert not unexpected.records, [record.getMessage() for record in unexpected.records]


def test_an_unknown_tool_gets_a_coded_invalid_argument(
    target: tuple[BlockingPortal, Client, list[Any], _Unexpected],
) -> None:
    portal, client, _, _ = target
    error = error_of(portal.call(client.call_tool, "delete_everything", {"customer": "cus_bob"}))
    assert error["code"] == "invalid_argument" and "delete_everything" in error["message"]
