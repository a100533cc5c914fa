"""The MCP Apps view as the protocol carries it: linked from tools, served as a ``ui://`` resource, and
invisible to hosts without the extension (their results are byte-for-byte those of a server without it).

What the view shows is tested in a real browser (tests/browser/).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

import mcp_invoices.server.app as app_module
from mcp_invoices.config import load_config
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import environment_principal, open_runtime
from mcp_invoices.server.tools import TOOLS
from mcp_invoices.views import VIEW_URI, view_html
from tests.apps_host import AppsHost
from tests.conftest import local_client

VIEWED_TOOLS = {tool.name for tool in TOOLS if tool.view}
"""Tools whose results a person would rather look at than read (each says so in its ``TOOL``)."""
VIEW_BUDGET_BYTES = 40_000
"""The view travels with every host's first render of it; it stays small."""


@contextlib.asynccontextmanager
async def client_of(ledger: Path, *, views: bool, host_renders_apps: bool) -> AsyncIterator[Client]:
    """A client of the local server (as cus_alice), built with or without the views."""
    config = load_config({"MCP_INVOICES_DB": str(ledger), "MCP_INVOICES_CUSTOMER": "cus_alice"})
    principal = environment_principal(config)
    extensions = [AppsHost()] if host_renders_apps else None
    async with open_runtime(config) as runtime:
        with pytest.MonkeyPatch.context() as patch:
            if not views:  # the server as it was before the views: no extension, no links
                patch.setattr(app_module, "InvoiceServer", _without_extensions(app_module.InvoiceServer))
                patch.setattr(app_module, "view_meta", lambda tool_name: None)
            server = build_server(runtime, lambda ctx: principal)
        async with Client(server, extensions=extensions) as client:
            yield client


def _without_extensions(server_class: Any) -> Any:
    """The server class, ignoring the extensions it is given."""

    def build(*args: Any, extensions: Any = None, **kwargs: Any) -> Any:
        return server_class(*args, **kwargs)

    return build


async def _results(client: Client) -> list[str]:
    """Every viewed (and one unviewed) tool's result on the wire, in a fixed order."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_invoices", {}),
        ("get_invoice", {"invoice_id": "ord_1002"}),
        ("summarize_invoice", {"invoice_id": "ord_1002"}),
        ("summarize_invoices", {}),
        ("generate_invoice", {"order_id": "ord_1003"}),
        ("get_invoice", {"invoice_id": "no_such_invoice"}),
    ]
    wire = []
    for name, arguments in calls:
        result = await client.call_tool(name, arguments)
        assert result.is_error == (arguments.get("invoice_id") == "no_such_invoice"), (name, result.content)
        wire.append(result.model_dump_json(by_alias=True, exclude_none=True))
    return wire


async def test_tools_with_a_view_name_it_in_their_meta_and_the_others_do_not(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        if tool.name in VIEWED_TOOLS:
            assert tool.meta == {"ui": {"resourceUri": VIEW_URI}, "ui/resourceUri": VIEW_URI}
        else:
            assert tool.meta is None, tool.name
    assert {"get_invoice", "generate_invoice", "summarize_invoices"} <= {
        tool.name for tool in tools if tool.meta
    }


async def test_the_view_is_served_as_an_mcp_app_that_asks_for_no_network(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        content = (await client.read_resource(VIEW_URI)).contents[0]
        listed = [resource.uri for resource in (await client.list_resources()).resources]
    assert content.mime_type == APP_MIME_TYPE
    assert content.meta == {"ui": {"csp": {}, "prefersBorder": True}}  # no domains: nothing to reach
    assert content.text == view_html()  # type: ignore[union-attr]
    assert all(uri.startswith("invoice://") for uri in listed)  # resources/list stays the session's invoices


async def test_the_server_advertises_the_ui_extension(ledger_path: Path) -> None:
    async with local_client(ledger_path) as client:
        capabilities = client.server_capabilities
    assert capabilities is not None and capabilities.extensions is not None
    assert EXTENSION_ID in capabilities.extensions


async def test_results_are_byte_for_byte_those_of_the_server_without_views(tmp_path: Path) -> None:
    async with client_of(tmp_path / "before.sqlite3", views=False, host_renders_apps=False) as client:
        before = await _results(client)
        assert all(tool.meta is None for tool in (await client.list_tools()).tools)
    async with client_of(tmp_path / "after.sqlite3", views=True, host_renders_apps=False) as client:
        after = await _results(client)
    assert after == before


async def test_a_host_that_renders_views_gets_the_very_same_results(tmp_path: Path) -> None:
    async with client_of(tmp_path / "plain.sqlite3", views=True, host_renders_apps=False) as client:
        plain = await _results(client)
    async with client_of(tmp_path / "apps.sqlite3", views=True, host_renders_apps=True) as client:
        with_apps = await _results(client)
    assert with_apps == plain


def test_the_view_is_one_small_document_that_loads_nothing_from_outside() -> None:
    html = view_html()
    assert len(html.encode()) < VIEW_BUDGET_BYTES
    assert not re.search(
        r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(|<link|<img|<iframe|\bsrc=", html, re.IGNORECASE
    )
    assert not re.search(r"\sstyle=\"", html)  # no inline style attributes: a strict CSP would refuse them
    assert html.count("<script>") == 1 and html.count("<style>") == 1


def test_the_view_never_turns_money_into_a_binary_float() -> None:
    script = view_html().split("<script>", 1)[1]
    for forbidden in (
        "parseFloat",
        "toFixed",
        "toLocaleString",
        "Number(amount",
        "+amount",
    ):
        assert forbidden not in script, forbidden
    # Intl.NumberFormat formats money only from the decimal string (ECMA-402 formats a numeric string
    # exactly; a Number argument would round through a binary float).
    formats = re.findall(r"new Intl\.NumberFormat\([^)]*\)\.(\w+\([^)]*\))", script)
    assert formats and set(formats) <= {"format(text)", "resolvedOptions()"}, formats
    assert "const text = String(amount);" in script
