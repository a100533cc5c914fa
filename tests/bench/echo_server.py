"""Rows 3 and 7's server: exactly ``mcp-invoices serve``, plus a trivial ``echo`` tool.

``python tests/bench/echo_server.py --port P`` runs the real CLI entry point as ``serve --transport
http`` (same config loading, token verifier, auth settings, uvicorn settings and middleware);
``python tests/bench/echo_server.py --stdio`` runs it as ``serve`` over stdio. The only difference
is one more tool, added to the ``MCPServer`` that ``build_server`` builds. The hook wraps
``build_server`` as ``mcp_invoices.server.main`` sees it, so nothing in mcp_invoices is edited, and
the benchmark keeps measuring the real server as it changes. If the hook stops taking effect
(``build_server`` moved), the benchmark notices: ``echo`` is then missing from tools/list.

Over stdio the local ledger is opened before the server answers (one public read), as it is after
the first call of any session: row 7 measures calls, and each of its load tests starts a fresh
process, whose first call would otherwise pay the ledger's one-off opening (row 4's lazy start).
"""

from __future__ import annotations

import sys
from typing import Any

from mcp.server import MCPServer
from mcp_types import ToolAnnotations

import mcp_invoices.server.main as server_main
from mcp_invoices.cli import main as cli_main
from mcp_invoices.principal import Scope
from mcp_invoices.server.runtime import Runtime


def echo(text: str) -> str:
    """Return the text unchanged (the benchmark's reference for a tool that does no work)."""
    return text


_build_server = server_main.build_server


def build_server_with_echo(runtime: Runtime, *args: Any, **kwargs: Any) -> MCPServer:
    server = _build_server(runtime, *args, **kwargs)
    local = runtime.providers.get("local")
    if local is not None:
        serve_stdio = server.run_stdio_async

        async def opened_then_served() -> None:
            await local.list_orders(Scope("local", None), limit=1, cursor=None)
            await serve_stdio()

        server.run_stdio_async = opened_then_served  # type: ignore[method-assign]
    server.add_tool(
        echo,
        name="echo",
        description="Return the text unchanged.",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    return server


server_main.build_server = build_server_with_echo  # type: ignore[assignment]

if __name__ == "__main__":
    if sys.argv[1:] == ["--stdio"]:
        raise SystemExit(cli_main(["serve"]))
    raise SystemExit(cli_main(["serve", "--transport", "http", *sys.argv[1:]]))
