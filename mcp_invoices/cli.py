"""The ``mcp-invoices`` command: serve, demo, sandbox.

Over stdio nothing but protocol goes to stdout; people-facing messages and logs go to stderr.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence

import anyio

from mcp_invoices import __version__
from mcp_invoices.config import ConfigError, load_config

__all__ = ["main"]

_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-invoices",
        description="An MCP server that lets AI assistants generate, retrieve and summarise invoices, "
        "scoped to one customer per session. Configure providers with environment variables "
        "(see the README); with none, it serves the embedded local ledger.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-invoices {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    serve = commands.add_parser(
        "serve",
        help="run the MCP server (stdio by default)",
        description="Run the MCP server. stdio is what MCP hosts (Claude Desktop, IDE agents) launch; "
        "http serves streamable HTTP at /mcp.",
    )
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default: 8000)")

    demo = commands.add_parser(
        "demo",
        help="walk through generate -> get -> summarise -> PDF on a sample ledger",
        description="Start the server over stdio on a fresh sample ledger (no accounts, no network), drive "
        "it with a real MCP client, print each step, and write the invoice PDF to a file.",
    )
    demo.add_argument("--out", default=".", help="directory for the PDF (default: current directory)")
    demo.add_argument(
        "--db", default=None, help="use this ledger file instead of a fresh temporary one (created if missing)"
    )
    demo.add_argument("--customer", default="cus_alice", help="customer the session is bound to (default: cus_alice)")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from mcp_invoices.logs import configure_logging
    from mcp_invoices.server.main import serve_http, serve_stdio

    if args.transport == "http" and not _is_loopback(args.host):
        print(
            f"mcp-invoices: refusing to serve HTTP on {args.host}: this version authenticates HTTP callers only "
            "by the loopback boundary. Bind to 127.0.0.1 (the default) and put an authenticating proxy in front.",
            file=sys.stderr,
        )
        return 2
    try:
        config = load_config()
    except ConfigError as error:
        print(f"mcp-invoices: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    try:
        if args.transport == "stdio":
            anyio.run(serve_stdio, config)
        else:
            anyio.run(serve_http, config, args.host, args.port)
    except ConfigError as error:
        print(f"mcp-invoices: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _demo(args: argparse.Namespace) -> int:
    from mcp_invoices.demo import run_demo

    return anyio.run(run_demo, args.out, args.db, args.customer)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"serve": _serve, "demo": _demo}
    return handlers[args.command](args)
