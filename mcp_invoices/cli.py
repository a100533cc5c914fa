"""The ``mcp-invoices`` command: serve, token, migrate, sandbox, demo.

Over stdio nothing but protocol goes to stdout; people-facing messages and logs go to stderr.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Sequence

import anyio

from mcp_invoices import __version__
from mcp_invoices.config import load_config
from mcp_invoices.errors import ConfigError
from mcp_invoices.providers.catalog import PROVIDER_IDS, help_text

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
    for add_command in (_add_serve, _add_token, _add_migrate, _add_sandbox, _add_demo):
        add_command(commands)
    return parser


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the MCP server (stdio by default)",
        description="Run the MCP server. stdio is what MCP hosts (Claude Desktop, IDE agents) launch; "
        "http serves streamable HTTP at /mcp.",
        epilog=help_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default: 8000)")


def _add_token(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser(
        "token",
        help="issue, list and revoke the bearer tokens of the HTTP transport",
        description="Bearer tokens for `serve --transport http`. Each binds every request to one provider and "
        "one customer. Only a hash of each token is stored, in the server's database (MCP_INVOICES_DATABASE_URL, "
        "or the MCP_INVOICES_DB file).",
    )
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION")
    token_commands.required = True
    issue = token_commands.add_parser(
        "issue",
        help="print a new token",
        description="Print a new bearer token bound to one provider and one customer. It is shown once.",
    )
    issue.add_argument(
        "--provider", required=True, help=f"{', '.join(PROVIDER_IDS[:-1])} or {PROVIDER_IDS[-1]}"
    )
    issue.add_argument("--customer", required=True, help="the customer id the token is bound to")
    issue.add_argument(
        "--ttl", default="30d", help="lifetime: seconds or 90m / 12h / 30d (default 30d); 'never' for none"
    )
    issue.add_argument("--label", default=None, help="a note shown by `token list`")
    issue.add_argument(
        "--provider-credential-stdin",
        action="store_true",
        help="read this customer's own provider credential (a Bagisto customer token) from stdin and store it "
        "encrypted with MCP_INVOICES_SECRET_KEY",
    )
    token_commands.add_parser(
        "list", help="list tokens (never their secrets)", description="List issued tokens."
    )
    revoke = token_commands.add_parser(
        "revoke", help="withdraw a token", description="Withdraw a token: it fails on the next request."
    )
    revoke.add_argument("token_id", help="the token's id (from `token list`) or the token itself")


def _add_migrate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = commands.add_parser(
        "migrate",
        help="create or upgrade the database schema to this version's",
        description="Create or upgrade the schema of the server's database (MCP_INVOICES_DATABASE_URL; unset, the "
        "SQLite file of MCP_INVOICES_DB or the default one) to the latest revision. Run it once per deployment "
        "before starting replicas of a new version: a server refuses to start on a PostgreSQL database that is "
        "behind (unless MCP_INVOICES_AUTO_MIGRATE=1). Safe to repeat, and to run from several places at once: "
        "it migrates in one transaction, under a lock. A SQLite ledger upgrades itself when opened.",
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help="only report whether the database is up to date (exit 1 if it is behind); change nothing",
    )


def _add_sandbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="serve emulators of Polar, Afternoon, Bagisto and Payabli on 127.0.0.1",
        description="Serve local emulators of the four remote providers (fake data, fake credentials) and print "
        "the environment that points `mcp-invoices serve` at them, so every provider can be tried without an "
        "account. Runs until interrupted.",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=9000, help="port (default: 9000; 0 picks a free one)")
    sandbox.add_argument(
        "--customer", default="alice", choices=("alice", "bob", "carol"), help="whose credentials to print"
    )
    sandbox.add_argument("--latency-ms", type=float, default=0, help="added to every response (default: 0)")


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="walk through generate -> get -> summarise -> PDF on a sample ledger",
        description="Start the server over stdio on a fresh sample ledger (no accounts, no network), drive "
        "it with a real MCP client, print each step, and write the invoice PDF to a file.",
    )
    demo.add_argument("--out", default=".", help="directory for the PDF (default: current directory)")
    demo.add_argument(
        "--db",
        default=None,
        help="use this ledger file instead of a fresh temporary one (created if missing)",
    )
    demo.add_argument(
        "--customer", default="cus_alice", help="customer the session is bound to (default: cus_alice)"
    )


def _serve(args: argparse.Namespace) -> int:
    from mcp_invoices.config import load_http_auth
    from mcp_invoices.logs import configure_logging
    from mcp_invoices.server.main import serve_http, serve_stdio

    try:
        # Over stdio the process is one session and its environment must scope it; over HTTP each
        # request's token does.
        config = load_config(require_scope=args.transport == "stdio")
        auth = load_http_auth(args.host, args.port) if args.transport == "http" else None
    except ConfigError as error:
        print(f"mcp-invoices: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    try:
        if args.transport == "stdio":
            anyio.run(serve_stdio, config)
        else:
            if not _is_loopback(args.host):
                print(
                    f"mcp-invoices: serving on {args.host}: put TLS in front (a reverse proxy) and set "
                    "MCP_INVOICES_RESOURCE_URL to the public https URL of /mcp.",
                    file=sys.stderr,
                )
            assert auth is not None  # loaded above for the http transport
            anyio.run(serve_http, config, auth, args.host, args.port)
    except ConfigError as error:
        print(f"mcp-invoices: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _token(args: argparse.Namespace) -> int:
    from pydantic import SecretStr

    from mcp_invoices.auth.tokens import TokenError, TokenStore, parse_ttl
    from mcp_invoices.config import load_http_auth

    try:
        config = load_config(require_scope=False)
        secret_key = load_http_auth("127.0.0.1", 8000).secret_key
        store = TokenStore(config.database_url, secret_key=secret_key, auto_migrate=config.auto_migrate)
        if args.token_command == "issue":
            ttl = None if args.ttl == "never" else parse_ttl(args.ttl)
            credential = None
            if args.provider_credential_stdin:
                value = sys.stdin.readline().strip()
                if not value:
                    raise TokenError("--provider-credential-stdin was given but stdin was empty.")
                credential = SecretStr(value)
            issued = store.issue(
                args.provider, args.customer, ttl=ttl, label=args.label, provider_credential=credential
            )
            print(issued.token.get_secret_value())
            expires = issued.record.expires_at.isoformat() if issued.record.expires_at else "never"
            print(
                f"token {issued.record.id}: provider {issued.record.provider}, customer {issued.record.customer_id}, "
                f"expires {expires}. It is shown only once.",
                file=sys.stderr,
            )
        elif args.token_command == "list":
            from datetime import UTC, datetime

            now = datetime.now(UTC)
            print(f"{'id':<12}  {'provider':<9}  {'customer':<20}  {'state':<8}  {'expires':<25}  label")
            for record in store.list():
                state = "revoked" if record.revoked_at else ("active" if record.is_active(now) else "expired")
                expires = record.expires_at.isoformat(timespec="seconds") if record.expires_at else "never"
                print(
                    f"{record.id:<12}  {record.provider:<9}  {record.customer_id:<20}  {state:<8}  {expires:<25}  "
                    f"{record.label or ''}"
                )
        else:
            record = store.revoke(args.token_id)
            print(f"token {record.id} revoked ({record.provider}, customer {record.customer_id})")
    except (ConfigError, TokenError) as error:
        print(f"mcp-invoices: {error}", file=sys.stderr)
        return 2
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from mcp_invoices.logs import configure_logging
    from mcp_invoices.storage import (
        HEAD_REVISION,
        Database,
        current_revision,
        describe_error,
        display_url,
        upgrade,
    )

    try:
        config = load_config(require_scope=False)
    except ConfigError as error:
        print(f"mcp-invoices: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level)
    database = Database(config.database_url)
    where = display_url(database.url)  # never the password
    try:
        if args.check:
            with database.read() as connection:
                revision = current_revision(connection)
            if revision == HEAD_REVISION:
                print(f"{where} is up to date (revision {HEAD_REVISION}).")
                return 0
            print(
                f"{where} is at {f'revision {revision}' if revision else 'no revision (empty)'}; this version needs "
                f"revision {HEAD_REVISION}. Run `mcp-invoices migrate`."
            )
            return 1
        before, after = upgrade(database)
    except SQLAlchemyError as error:
        print(f"mcp-invoices: cannot migrate {where}: {describe_error(error)}", file=sys.stderr)
        return 2
    finally:
        database.close()
    if before == after:
        print(f"{where} is already up to date (revision {after}).")
    else:
        print(
            f"{where} migrated from {f'revision {before}' if before else 'an empty database'} to revision {after}."
        )
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from mcp_invoices.sandbox import sandbox_environment, serve_sandbox

    def ready(base_url: str) -> None:
        env = sandbox_environment(base_url, args.customer)
        print(
            f"# mcp-invoices sandbox on {base_url} (fake data; customer {args.customer}). In another shell:"
        )
        for name, value in env.items():
            print(f"export {name}={value}")
        print(
            "# then, for example:  mcp-invoices serve   (every provider above is enabled; pass provider=...)"
        )
        print("# Ctrl-C stops the sandbox.", flush=True)

    try:
        anyio.run(lambda: serve_sandbox(args.host, args.port, latency_ms=args.latency_ms, ready=ready))
    except KeyboardInterrupt:
        return 0
    return 0


def _demo(args: argparse.Namespace) -> int:
    from mcp_invoices.demo import run_demo

    return anyio.run(run_demo, args.out, args.db, args.customer)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"serve": _serve, "token": _token, "migrate": _migrate, "sandbox": _sandbox, "demo": _demo}
    return handlers[args.command](args)
