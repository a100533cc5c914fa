"""The browser tests' machinery: real results of the server, a test host page on 127.0.0.1, and Chromium.

- The results are read from the real server through the SDK's client (local ledger, and Payabli
  through the sandbox emulator), together with the view document the server serves as ``ui://``.
- A small Starlette app on 127.0.0.1 serves the test host page (the real ``AppBridge`` of
  ``@modelcontextprotocol/ext-apps``, bundled with esbuild), the view under a strict
  Content-Security-Policy (hashes of its inline script and style, nothing else), each scenario, and
  the resources a download asks for.
- One headless Chromium (Debian's) for the whole session, driven by ``driver.mjs`` over stdin/stdout.

Without chromium or ``node_modules`` (``npm ci`` in this directory) the tests skip, saying what is
missing; under ``CI=true`` they fail instead, since CI installs both (scripts/install-browser-test-deps.sh).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
import pytest_asyncio
from mcp import Client
from mcp_types import TextResourceContents
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mcp_invoices.config import load_config
from mcp_invoices.providers.emulation import running_app
from mcp_invoices.providers.payabli import emulator as payabli_emulator
from mcp_invoices.sandbox import SandboxStates, create_sandbox_app, sandbox_environment
from mcp_invoices.server.app import build_server
from mcp_invoices.server.runtime import environment_principal, open_runtime
from mcp_invoices.views import APP_MIME_TYPE, VIEW_URI
from tests.apps_host import AppsHost

HERE = Path(__file__).resolve().parent
README_SCREENSHOTS = HERE.parent.parent / "docs" / "screenshots"
"""The README's pictures of the view: written by these tests (see ``screenshots``)."""
NODE_MODULES = HERE / "node_modules"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI") == "true"
COMMAND_TIMEOUT = 60.0
"""Seconds one driver command may take (it bounds its own waits at 15 s each)."""


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("node") is None:
        return "no node on PATH"
    for package in ("@modelcontextprotocol/ext-apps", "playwright-core", "esbuild"):
        if not (NODE_MODULES / package).is_dir():
            return f"{package} is not installed (npm ci in {HERE})"
    return None


@pytest.fixture(scope="session")
def browser_ready() -> None:
    missing = _missing()
    if missing is None:
        return
    if IN_CI:
        pytest.fail(f"browser tests cannot run under CI: {missing}")
    pytest.skip(f"browser tests need Chromium and the test host's packages: {missing}")


# -- the browser ---------------------------------------------------------------------------------


class Browser:
    """One Chromium behind ``driver.mjs``; a command is a JSON line, and so is its answer."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            ["node", str(HERE / "driver.mjs")],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "CHROMIUM": CHROMIUM},
        )
        self._lock = threading.Lock()

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        with self._lock:
            self._process.stdin.write(json.dumps(command) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            stderr = self._process.stderr.read() if self._process.stderr else ""
            raise RuntimeError(f"the browser driver exited: {stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise AssertionError(
                f"browser command {command['op']} failed: {answer.get('error')}\n{answer.get('record')}"
            )
        return answer

    async def run(self, **command: Any) -> dict[str, Any]:
        """``command`` in a worker thread, so that this loop keeps serving the host page meanwhile."""
        with anyio.fail_after(COMMAND_TIMEOUT):
            return await anyio.to_thread.run_sync(self.call, command, abandon_on_cancel=True)

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(browser_ready: None) -> Iterator[Browser]:
    driver = Browser()
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture(scope="session")
def host_bundle(browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test host's script: host.mjs and the real AppBridge, bundled for the browser."""
    out = tmp_path_factory.mktemp("host") / "host.bundle.js"
    subprocess.run(
        [
            str(NODE_MODULES / ".bin" / "esbuild"),
            "host.mjs",
            "--bundle",
            "--format=esm",
            "--platform=browser",
            f"--outfile={out}",
            "--log-level=warning",
        ],
        cwd=HERE,
        check=True,
        timeout=120,
    )
    return out


SCREENSHOTS_USED: list[Path] = []


def readme_screenshots() -> list[str]:
    """The names of the README's pictures of the view (docs/screenshots/NAME.png)."""
    readme = (HERE.parent.parent / "README.md").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"docs/screenshots/([\w.-]+\.png)", readme)))


@pytest.fixture(scope="session")
def screenshots() -> Iterator[Path]:
    """Where each view's screenshot goes (printed at the end): MCP_INVOICES_SCREENSHOTS, else build/screenshots here.

    Not under pytest's temporary directories: those are pruned by the next runs, and an artifact must stay.
    At the end, the README's own pictures (docs/screenshots) are replaced by this run's, so that they
    cannot go stale: every run of these tests redraws them from the view as it is
    (``git status docs/screenshots`` shows what changed).
    """
    chosen = os.environ.get("MCP_INVOICES_SCREENSHOTS")
    directory = Path(chosen).resolve() if chosen else HERE / "build" / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS_USED.append(directory)
    started = datetime.now(UTC).timestamp()
    yield directory
    for name in readme_screenshots():
        shot = directory / name
        if shot.is_file() and shot.stat().st_mtime >= started:  # drawn by this run, not left by an older one
            shutil.copyfile(shot, README_SCREENSHOTS / name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for directory in SCREENSHOTS_USED:
        terminalreporter.write_line(f"view screenshots: {directory}")


# -- real results of the server ------------------------------------------------------------------


@dataclass
class Scenario:
    """One tool call as a host would hand it to the view: the tool, its arguments, its wire result."""

    tool: dict[str, Any]
    arguments: dict[str, Any]
    result: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        structured: dict[str, Any] = self.result.get("structuredContent") or {}  # none on an error
        return structured


@dataclass
class ServerResults:
    """What the tests read from one real server: scenarios, the view document, readable resources."""

    provider: str
    view_html: str
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    resources: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def _today() -> date:
    return datetime.now(UTC).date()  # the server's clock is UTC too


def _wire(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


async def _call(
    client: Client, tools: dict[str, dict[str, Any]], name: str, arguments: dict[str, Any]
) -> Scenario:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, result.content
    return Scenario(tool=tools[name], arguments=arguments, result=_wire(result))


def comparison_of(
    newer: dict[str, Any], older: dict[str, Any], rows: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A ``compare_invoices`` result in the tool's shape, computed exactly from two real invoices.

    Stands in for the tool until it is on this branch: the shape is the product contract's (and that of
    the tool's branch: the two invoices as list rows, nullable differences, where the total's difference
    comes from), filled with the server's own invoices and list rows, differences by Decimal.
    """

    def difference(after: str | None, before: str | None) -> str:
        scale = max(_scale(after), _scale(before))
        return str((Decimal(after or "0") - Decimal(before or "0")).quantize(Decimal(1).scaleb(-scale)))

    lines: list[dict[str, Any]] = []
    before_lines = {line["description"]: line for line in older["line_items"]}
    after_lines = {line["description"]: line for line in newer["line_items"]}
    for description in [*after_lines, *(name for name in before_lines if name not in after_lines)]:
        before, after = before_lines.get(description), after_lines.get(description)
        same = (
            before
            and after
            and all(before[key] == after[key] for key in ("quantity", "unit_amount", "total"))
        )
        lines.append(
            {
                "change": "added"
                if before is None
                else "removed"
                if after is None
                else "unchanged"
                if same
                else "changed",
                "description": description,
                "quantity_before": before and before["quantity"],
                "quantity_after": after and after["quantity"],
                "unit_amount_before": before and before["unit_amount"],
                "unit_amount_after": after and after["unit_amount"],
                "total_before": before and before["total"],
                "total_after": after and after["total"],
                "difference": difference(after and after["total"], before and before["total"]),
            }
        )
    differences: dict[str, str | None] = {
        key: None if newer[key] is None and older[key] is None else difference(newer[key], older[key])
        for key in ("subtotal", "discount", "tax", "shipping", "total")
    }
    total = Decimal(differences["total"] or "0")
    from_lines = sum((Decimal(line["difference"]) for line in lines), Decimal(0))
    from_shipping = Decimal(differences["shipping"] or "0")
    breakdown = {
        "lines": from_lines,
        "discount": Decimal(0),
        "tax": Decimal(0),
        "shipping": from_shipping,
        "other": total - from_lines - from_shipping,
    }
    exponent = Decimal(1).scaleb(-_scale(newer["total"]))
    return {
        "summary": f"Invoice {newer['number']} differs from {older['number']} by {differences['total']} "
        f"{newer['currency']} in total.",
        "invoice": rows[newer["id"]],
        "other": rows[older["id"]],
        "currency": newer["currency"],
        "differences": differences,
        "breakdown": {key: str(value.quantize(exponent)) for key, value in breakdown.items()},
        "lines": lines,
    }


def _scale(amount: str | None) -> int:
    exponent = Decimal(amount or "0").as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


async def _read_everything(client: Client, provider: str) -> ServerResults:
    view = (await client.read_resource(VIEW_URI)).contents[0]
    assert isinstance(view, TextResourceContents) and view.mime_type == APP_MIME_TYPE
    results = ServerResults(provider=provider, view_html=view.text)
    tools = {tool.name: _wire(tool) for tool in (await client.list_tools()).tools}
    results.scenarios["summary"] = await _call(client, tools, "summarize_invoices", {})
    missing = {"invoice_id": "no-such-invoice"}
    error = await client.call_tool("get_invoice", missing)
    assert error.is_error
    results.scenarios["error"] = Scenario(tool=tools["get_invoice"], arguments=missing, result=_wire(error))
    listing = (await client.call_tool("list_invoices", {"limit": 100})).structured_content or {}
    rows = listing["invoices"]
    # The invoice a person most needs to look at: unpaid and past due, else the most recent one.
    overdue = [
        row
        for row in rows
        if Decimal(row["amount_due"]) > 0 and row["due_at"] and row["due_at"] < _today().isoformat()
    ]
    chosen = (overdue or rows)[0]
    results.scenarios["invoice"] = await _call(client, tools, "get_invoice", {"invoice_id": chosen["id"]})
    # Two invoices of one currency, for the comparison (the chosen one and the one before it): the
    # compare_invoices tool's own result where the server has the tool, else one built to its shape.
    same_currency = [
        row for row in rows if row["currency"] == chosen["currency"] and row["id"] != chosen["id"]
    ]
    if same_currency:
        pair = {"invoice_id": chosen["id"], "other_invoice_id": same_currency[0]["id"]}
        if "compare_invoices" in tools:
            results.scenarios["comparison"] = await _call(client, tools, "compare_invoices", pair)
        else:
            older = (
                await client.call_tool("get_invoice", {"invoice_id": pair["other_invoice_id"]})
            ).structured_content
            comparison = comparison_of(
                results.scenarios["invoice"].data, older or {}, {row["id"]: row for row in rows}
            )
            results.scenarios["comparison"] = Scenario(
                tool={"name": "compare_invoices", "inputSchema": {"type": "object"}},
                arguments=pair,
                result={
                    "content": [{"type": "text", "text": comparison["summary"]}],
                    "structuredContent": comparison,
                },
            )
    for scenario in list(results.scenarios.values()):
        documents = scenario.data.get("documents") or {}
        if uri := documents.get("pdf_uri"):
            content = (await client.read_resource(uri)).contents[0]
            results.resources[uri] = (content.mime_type or "", base64.b64decode(content.blob))  # type: ignore[union-attr]
    return results


@contextlib.asynccontextmanager
async def _server_client(env: dict[str, str]) -> AsyncIterator[Client]:
    config = load_config(env)
    principal = environment_principal(config)
    async with (
        open_runtime(config) as runtime,
        Client(build_server(runtime, lambda ctx: principal), extensions=[AppsHost()]) as client,
    ):
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def local_results(tmp_path_factory: pytest.TempPathFactory, browser_ready: None) -> ServerResults:
    """The local ledger's real results, read as the ledger's owner (who sees every sample customer)."""
    ledger = tmp_path_factory.mktemp("ledger") / "ledger.sqlite3"
    async with _server_client({"MCP_INVOICES_DB": str(ledger)}) as client:
        results = await _read_everything(client, "local")
        tools = {tool.name: _wire(tool) for tool in (await client.list_tools()).tools}
        orders = (await client.call_tool("list_orders", {"limit": 100})).structured_content or {}
        ready = [
            order
            for order in orders["orders"]
            if order["invoice"] == "none" and order["paid"] and order["billing_complete"]
        ]
        assert ready, "the sample ledger has a paid order without an invoice"
        results.scenarios["generated"] = await _call(
            client, tools, "generate_invoice", {"order_id": ready[0]["id"]}
        )
        pdf_uri = results.scenarios["generated"].data["documents"]["pdf_uri"]
        content = (await client.read_resource(pdf_uri)).contents[0]
        results.resources[pdf_uri] = (content.mime_type or "", base64.b64decode(content.blob))  # type: ignore[union-attr]
    return results


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def remote_results(browser_ready: None) -> ServerResults:
    """Payabli's real results through its sandbox emulator on 127.0.0.1, as the sandbox customer alice."""
    states = SandboxStates(payabli=payabli_emulator.PayabliState())
    async with running_app(create_sandbox_app(states)) as url:
        env = {
            key: value
            for key, value in sandbox_environment(url, "alice").items()
            if key.startswith("PAYABLI_")
        }
        async with _server_client(env) as client:
            return await _read_everything(client, "payabli")


# -- the test host -------------------------------------------------------------------------------


def strict_csp(html: str) -> str:
    """Only the document's own inline script and style (by hash), and nothing from anywhere."""

    def hashes(tag: str) -> str:
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
        assert bodies, f"the view has an inline <{tag}>"
        return " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'" for body in bodies
        )

    return (
        f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; img-src 'none'; "
        "font-src 'none'; connect-src 'none'; frame-src 'none'; media-src 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


@dataclass
class Host:
    url: str
    results: ServerResults

    def page(self, scenario: str, theme: str, width: int = 720) -> str:
        return f"{self.url}/host.html?scenario={scenario}&theme={theme}&width={width}"


def host_app(results: ServerResults, bundle: Path) -> Starlette:
    async def host_page(request: Request) -> Response:
        return FileResponse(HERE / "host.html", media_type="text/html")

    async def host_script(request: Request) -> Response:
        return FileResponse(bundle, media_type="text/javascript")

    async def view(request: Request) -> Response:
        return HTMLResponse(
            results.view_html, headers={"Content-Security-Policy": strict_csp(results.view_html)}
        )

    async def scenario(request: Request) -> Response:
        chosen = results.scenarios[request.path_params["name"]]
        return JSONResponse({"tool": chosen.tool, "arguments": chosen.arguments, "result": chosen.result})

    async def resource(request: Request) -> Response:
        mime_type, body = results.resources[request.query_params["uri"]]
        return Response(body, media_type=mime_type)

    return Starlette(
        routes=[
            Route("/host.html", host_page),
            Route("/host.bundle.js", host_script),
            Route("/view.html", view),
            Route("/scenario/{name}", scenario),
            Route("/resource", resource),
            Route(
                "/favicon.ico", lambda request: Response(status_code=204)
            ),  # the browser asks; nothing to give
        ]
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def local_host(local_results: ServerResults, host_bundle: Path) -> AsyncIterator[Host]:
    async with running_app(host_app(local_results, host_bundle)) as url:
        yield Host(url, local_results)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def remote_host(remote_results: ServerResults, host_bundle: Path) -> AsyncIterator[Host]:
    async with running_app(host_app(remote_results, host_bundle)) as url:
        yield Host(url, remote_results)
