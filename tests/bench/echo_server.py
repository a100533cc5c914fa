"""Rows 3 and 7's server: exactly ``mcp-invoices serve``, plus a trivial ``echo`` tool.

``python tests/bench/echo_server.py --port P`` runs the real CLI entry point as ``serve --transport
http``; ``python tests/bench/echo_server.py --stdio`` as ``serve`` over stdio. Either way it is the real CLI entry point (same config loading,
token verifier, auth settings, uvicorn settings and middleware as ``serve --transport http``); the
only difference is one more tool, added to the ``MCPServer`` that ``build_http_app`` builds. The
hook wraps ``build_server`` as ``mcp_invoices.server.main`` sees it, so nothing in mcp_invoices is
edited, and the benchmark keeps measuring the real server as it changes. If the hook stops taking
effect (``build_server`` moved), the benchmark notices: ``echo`` is then missing from tools/list.
"""

from __future__ import annotations

import sys
from typing import Any

from mcp.server import MCPServer
from mcp_types import ToolAnnotations

import mcp_invoices.server.main as server_main
from mcp_invoices.cli import main as cli_main


def echo(text: str) -> str:
    """Return the text unchanged (the benchmark's reference for a tool that does no work)."""
    return text


_build_server = server_main.build_server


def build_server_with_echo(*args: Any, **kwargs: Any) -> MCPServer:
    server = _build_server(*args, **kwargs)
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
