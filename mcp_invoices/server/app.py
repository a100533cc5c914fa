"""The MCP surface: six tools, two resource templates, ``resources/list`` and a prompt.

Thin on purpose. Each handler resolves the principal (never from an argument), asks the runtime for
the provider of the requested scope, calls the domain, and shapes the result. Provider failures
arrive as ``InvoiceError`` and leave as ``isError`` results with ``{code, message, hint}``.
"""


import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, ParamSpec

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    ListResourcesResult,
    PaginatedRequestParams,
    Resource,
    ToolAnnotations,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mcp_invoices import __version__
from mcp_invoices.domain.errors import InvalidArgument, InvoiceError, NotFound
from mcp_invoices.domain.models import (
    Address,
    Billing,
    Invoice,
    InvoiceFilter,
    InvoiceRow,
    InvoiceStatus,
    OrderRow,
)
from mcp_invoices.domain.money import format_money
from mcp_invoices.domain.summary import InvoicesSummary, InvoiceSummary, summarize_invoice
from mcp_invoices.principal import Principal, Scope
from mcp_invoices.providers.base import InvoiceProvider
from mcp_invoices.server.results import (
    decode_cursor,
    encode_cursor,
    error_result,
    for_protocol,
    invoice_links,
    structured_result,
    unexpected_error_result,
)
from mcp_invoices.server.runtime import Runtime

__all__ = ["build_server", "PrincipalResolver", "SERVER_NAME"]

logger = logging.getLogger("mcp_invoices.server")

SERVER_NAME = "mcp-invoices"
RESOURCE_LIST_LIMIT = 50
"""``resources/list`` shows at most this many of the session's most recent invoices per provider."""

PrincipalResolver = Callable[[Context], Principal]
P = ParamSpec("P")

ProviderId = Literal["local", "polar", "afternoon", "bagisto", "payabli"]
StatusName = Literal["draft", "open", "paid", "partially_paid", "refunded", "void", "uncollectible", "pending"]

_PROVIDER = Field(
    default=None,
    description="Which provider to use. Optional when exactly one is enabled; the error lists the enabled ones.",
)
_STATUS = Field(default=None, description="Only invoices in this status.")
_ISSUED_AFTER = Field(default=None, description="Only invoices issued on or after (YYYY-MM-DD).")
_ISSUED_BEFORE = Field(default=None, description="Only invoices issued on or before (YYYY-MM-DD).")
_INVOICE_ID = Field(description="The invoice id, as list_invoices returns it (for local and polar: the order id).")

INSTRUCTIONS = """\
Invoices of the customer this session is bound to (the server decides who that is; no tool takes a
customer). Start with list_invoices or summarize_invoices; use get_invoice for one invoice and read
its PDF through the resource link it returns. To create an invoice from an order, call list_orders,
then generate_invoice. Amounts are decimal strings in the invoice's currency.
"""


class ListInvoicesResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoices: list[InvoiceRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class ListOrdersResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    orders: list[OrderRow]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class GeneratedInvoice(Invoice):
    """The invoice, plus how the call went."""

    outcome: Literal["generated", "already_generated", "pending"]
    next_step: str | None = Field(
        default=None, description="What to do next when the invoice is still pending at the provider."
    )


class BillingAddressInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: str = Field(description="Street and number")
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    state: str | None = None
    country: str = Field(description="ISO 3166-1 alpha-2 country code, e.g. US, DE, JP", min_length=2, max_length=2)


def _invoice_filter(status: str | None, issued_after: date | None, issued_before: date | None) -> InvoiceFilter:
    return InvoiceFilter(
        status=InvoiceStatus(status) if status else None, issued_after=issued_after, issued_before=issued_before
    )


def _today() -> date:
    return datetime.now(UTC).date()


def _tool_errors(name: str) -> Callable[[Callable[P, Awaitable[CallToolResult]]], Callable[P, Awaitable[CallToolResult]]]:
    """Expected failures become structured errors; anything else is logged by type and reported plainly."""

    def decorate(fn: Callable[P, Awaitable[CallToolResult]]) -> Callable[P, Awaitable[CallToolResult]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
            try:
                return await fn(*args, **kwargs)
            except InvoiceError as error:
                logger.info("tool failed", extra={"tool": name, "code": error.code})
                return error_result(error)
            except Exception as exc:  # noqa: BLE001 - the boundary: nothing unexpected crosses it
                logger.error("tool raised an unexpected error", extra={"tool": name, "error": type(exc).__name__})
                return unexpected_error_result(name)

        return wrapper

    return decorate


def _invoice_text(invoice: Invoice) -> str:
    label = invoice.number or f"(pending) for order {invoice.id}"
    return (
        f"Invoice {label}: {invoice.status.value}, total {format_money(invoice.total, invoice.currency)}, "
        f"due {format_money(invoice.amount_due, invoice.currency)}."
    )


def build_server(
    runtime: Runtime,
    resolve_principal: PrincipalResolver,
    *,
    clock: Callable[[], date] = _today,
    **server_options: Any,
) -> MCPServer:
    """The MCP server over ``runtime``; ``resolve_principal`` says who each request acts for."""
    server = MCPServer(
        SERVER_NAME,
        title="Invoices",
        description="Generate, retrieve and summarise invoices, scoped to one customer per session.",
        instructions=INSTRUCTIONS,
        version=__version__,
        **server_options,
    )
    open_world = runtime.any_remote
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=open_world)

    async def session_principal(ctx: Context) -> Principal:  # async: no worker-thread hop per call
        return resolve_principal(ctx)

    SessionPrincipal = Annotated[Principal, Resolve(session_principal)]

    @server.tool(
        title="List invoices",
        description="List this session's invoices, most recent first, one page at a time. Filter by status "
        "and issue date. Each row links to the invoice as a resource.",
        annotations=read_only,
    )
    @_tool_errors("list_invoices")
    async def list_invoices(
        principal: SessionPrincipal,
        provider: ProviderId | None = _PROVIDER,
        status: StatusName | None = _STATUS,
        issued_after: date | None = _ISSUED_AFTER,
        issued_before: date | None = _ISSUED_BEFORE,
        limit: int = Field(default=20, ge=1, le=100, description="Page size, 1 to 100."),
        cursor: str | None = Field(default=None, description="next_cursor from the previous page."),
    ) -> Annotated[CallToolResult, ListInvoicesResult]:
        scope = principal.scope_for(provider)
        query = _invoice_filter(status, issued_after, issued_before)
        listing = {"tool": "list_invoices", "provider": scope.provider, **query.model_dump(mode="json")}
        page = await runtime.provider(scope).list_invoices(
            scope, query, limit=limit, cursor=decode_cursor(listing, cursor)
        )
        rows = [invoice.row() for invoice in page.items]
        result = ListInvoicesResult(invoices=rows, next_cursor=encode_cursor(listing, page.next_cursor))
        more = " More are available with next_cursor." if result.next_cursor else ""
        return structured_result(result, f"{len(rows)} invoice(s) from {scope.provider}.{more}")

    @server.tool(
        title="List orders",
        description="List this session's orders, most recent first, with whether each has an invoice and "
        "whether its billing details are complete. Only for providers that generate invoices from orders "
        "(local, polar).",
        annotations=read_only,
    )
    @_tool_errors("list_orders")
    async def list_orders(
        principal: SessionPrincipal,
        provider: ProviderId | None = _PROVIDER,
        limit: int = Field(default=20, ge=1, le=100, description="Page size, 1 to 100."),
        cursor: str | None = Field(default=None, description="next_cursor from the previous page."),
    ) -> Annotated[CallToolResult, ListOrdersResult]:
        scope = principal.scope_for(provider)
        listing = {"tool": "list_orders", "provider": scope.provider}
        page = await runtime.provider(scope).list_orders(scope, limit=limit, cursor=decode_cursor(listing, cursor))
        result = ListOrdersResult(
            orders=[order.row() for order in page.items], next_cursor=encode_cursor(listing, page.next_cursor)
        )
        more = " More are available with next_cursor." if result.next_cursor else ""
        return structured_result(result, f"{len(result.orders)} order(s) from {scope.provider}.{more}")

    @server.tool(
        title="Get an invoice",
        description="One invoice in full: status, dates, customer, billing, line items and amounts, with "
        "resource links to its JSON and PDF documents.",
        annotations=read_only,
    )
    @_tool_errors("get_invoice")
    async def get_invoice(
        principal: SessionPrincipal,
        invoice_id: str = _INVOICE_ID,
        provider: ProviderId | None = _PROVIDER,
    ) -> Annotated[CallToolResult, Invoice]:
        scope = principal.scope_for(provider)
        invoice = await runtime.provider(scope).get_invoice(scope, invoice_id)
        return structured_result(invoice, _invoice_text(invoice), invoice_links(invoice))

    @server.tool(
        title="Generate an invoice",
        description="Generate the invoice of an order (see list_orders). Permanent: an order that already has "
        "an invoice gets that invoice back, never a second one. Billing name and address given here are "
        "saved on the order first. With wait=true (default) it waits for the provider, reporting progress; "
        "with wait=false it may return status 'pending' and say how to check later.",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=open_world
        ),
    )
    @_tool_errors("generate_invoice")
    async def generate_invoice(
        principal: SessionPrincipal,
        ctx: Context,
        order_id: str = Field(description="The order to invoice, as list_orders returns it."),
        provider: ProviderId | None = _PROVIDER,
        billing_name: str | None = Field(
            default=None, min_length=1, max_length=200, description="Name to bill (person or company)."
        ),
        billing_address: BillingAddressInput | None = Field(default=None, description="Address to bill."),
        wait: bool = Field(default=True, description="Wait until the invoice is ready (default true)."),
    ) -> Annotated[CallToolResult, GeneratedInvoice]:
        scope = principal.scope_for(provider)
        billing = None
        if billing_name is not None or billing_address is not None:
            billing = Billing(
                name=billing_name,
                address=Address(**billing_address.model_dump()) if billing_address else None,
            )
        target = runtime.provider(scope)

        async def progress(done: float, total: float | None, message: str) -> None:
            await ctx.report_progress(done, total, message)

        # Where the provider cannot generate, it answers not_supported itself, the same for every id:
        # looking the id up first would answer differently for an invoice that exists.
        already = await _existing_invoice(target, scope, order_id) if target.info.generates_invoices else None
        invoice = already or await target.generate_invoice(
            scope, order_id, billing=billing, wait=wait, progress=progress
        )
        if invoice.status is InvoiceStatus.PENDING:
            outcome, next_step = "pending", (
                f"The provider is still generating it. Call get_invoice with invoice_id {invoice.id!r} "
                "in a few seconds."
            )
            text = f"The invoice of order {order_id} is being generated. {next_step}"
        else:
            outcome, next_step = ("already_generated" if already else "generated"), None
            verb = "already had" if already else "now has"
            text = f"Order {order_id} {verb} an invoice. {_invoice_text(invoice)}"
        result = GeneratedInvoice(**invoice.model_dump(), outcome=outcome, next_step=next_step)
        return structured_result(result, text, invoice_links(invoice))

    @server.tool(
        name="summarize_invoice",
        title="Summarise an invoice",
        description="A short plain-language summary of one invoice with its key facts (amounts, dates, "
        "whether and how long it is overdue), small enough to quote in a chat.",
        annotations=read_only,
    )
    @_tool_errors("summarize_invoice")
    async def summarize_invoice_tool(
        principal: SessionPrincipal,
        invoice_id: str = _INVOICE_ID,
        provider: ProviderId | None = _PROVIDER,
    ) -> Annotated[CallToolResult, InvoiceSummary]:
        scope = principal.scope_for(provider)
        invoice = await runtime.provider(scope).get_invoice(scope, invoice_id)
        summary = summarize_invoice(invoice, clock())
        return structured_result(summary, summary.summary, invoice_links(invoice))

    @server.tool(
        name="summarize_invoices",
        title="Summarise invoices",
        description="Aggregates over ALL of this session's matching invoices (not one page): count, totals per "
        "currency for total / paid / due / overdue, counts by status, ageing of what is due, and the oldest "
        "unpaid invoice.",
        annotations=read_only,
    )
    @_tool_errors("summarize_invoices")
    async def summarize_invoices_tool(
        principal: SessionPrincipal,
        provider: ProviderId | None = _PROVIDER,
        status: StatusName | None = _STATUS,
        issued_after: date | None = _ISSUED_AFTER,
        issued_before: date | None = _ISSUED_BEFORE,
    ) -> Annotated[CallToolResult, InvoicesSummary]:
        scope = principal.scope_for(provider)
        query = _invoice_filter(status, issued_after, issued_before)
        summary = await runtime.provider(scope).summarize(scope, query, clock())
        return structured_result(summary, summary.summary)


    # -- resources -------------------------------------------------------------------------------

    async def read_invoice(ctx: Context, provider: str, invoice_id: str) -> Invoice:
        with _resource_errors():
            scope = resolve_principal(ctx).scope_for(provider)
            return await runtime.provider(scope).get_invoice(scope, invoice_id)

    @server.resource(
        "invoice://{provider}/{invoice_id}",
        name="invoice",
        title="Invoice (JSON)",
        description="The normalized invoice as JSON.",
        mime_type="application/json",
    )
    async def invoice_json(provider: str, invoice_id: str, ctx: Context) -> str:
        invoice = await read_invoice(ctx, provider, invoice_id)
        return invoice.model_dump_json(indent=2)

    @server.resource(
        "invoice://{provider}/{invoice_id}/pdf",
        name="invoice-pdf",
        title="Invoice (PDF)",
        description="The invoice document: the provider's own where it offers one, otherwise rendered by "
        "the server.",
        mime_type="application/pdf",
    )
    async def invoice_pdf(provider: str, invoice_id: str, ctx: Context) -> bytes:
        with _resource_errors():
            scope = resolve_principal(ctx).scope_for(provider)
            source = runtime.provider(scope)
            if source.info.own_documents:  # the provider's own document, as it serves it now
                return await source.invoice_pdf(scope, invoice_id)
            # Rendered here: the invoice as it is now keys the cache (a payment since means a new PDF).
            invoice = await source.get_invoice(scope, invoice_id)
            pdf = await runtime.shared.documents.get(scope, "pdf", invoice)
            if pdf is None:
                pdf = await source.render_pdf(invoice)
                await runtime.shared.documents.put(scope, "pdf", invoice, pdf)
            return pdf

    async def list_resources(ctx: Any, params: PaginatedRequestParams | None) -> ListResourcesResult:
        principal = resolve_principal(ctx)
        resources: list[tuple[date, Resource]] = []

        async def collect(scope: Scope) -> None:
            try:
                page = await runtime.provider(scope).list_invoices(
                    scope, InvoiceFilter(), limit=RESOURCE_LIST_LIMIT, cursor=None
                )
            except InvoiceError as error:
                logger.warning("resources/list skipped a provider", extra={"provider": scope.provider,
                                                                           "code": error.code})
                return
            for invoice in page.items:
                label = invoice.number or invoice.id
                resources.append(
                    (
                        invoice.issued_at or date.min,
                        Resource(
                            uri=invoice.documents.json_uri,
                            name=label,
                            title=f"Invoice {label} - {format_money(invoice.total, invoice.currency)} "
                            f"({invoice.status.value})",
                            description=f"{scope.provider} invoice issued {invoice.issued_at or 'n/a'}",
                            mime_type="application/json",
                        ),
                    )
                )

        async with anyio.create_task_group() as group:
            for scope in principal.scopes:
                group.start_soon(collect, scope)
        resources.sort(key=lambda entry: entry[0], reverse=True)
        return ListResourcesResult(resources=[resource for _, resource in resources])

    server._lowlevel_server.add_request_handler("resources/list", PaginatedRequestParams, list_resources)
    _validate_arguments_first(server)
    for tool in server._tool_manager.list_tools():
        # Results are built from pydantic models, validated as they are constructed; the SDK validating
        # the dumped dict again would cost every call a second pass. The outputSchema stays published
        # (and clients check results against it; so do the tests).
        tool.fn_metadata.output_model = None

    # -- prompts ---------------------------------------------------------------------------------

    @server.prompt(
        name="explain_invoice",
        title="Explain an invoice",
        description="Ask the assistant to explain one invoice in plain language, and compare it with the "
        "previous one when there is one.",
    )
    def explain_invoice(invoice_id: str, provider: str | None = None) -> list[UserMessage]:
        where = f" (provider {provider})" if provider else ""
        return [
            UserMessage(
                f"Explain invoice {invoice_id!r}{where} to me in plain language. Call get_invoice and "
                "summarize_invoice for it. Say what was billed, what is paid and what is still due and by "
                "when. Then call list_invoices to find the invoice issued before it, and explain briefly "
                "why the amounts differ, line by line where it helps. Quote amounts exactly as the tools "
                "give them."
            )
        ]

    return server


@contextlib.contextmanager
def _resource_errors() -> Iterator[None]:
    """A resource read fails with the matching MCP error: not found (same for not yours), or the message."""
    try:
        yield
    except NotFound as error:
        raise ResourceNotFoundError(error.message) from None
    except InvoiceError as error:
        raise ResourceError(error.message) from None


async def _existing_invoice(provider: InvoiceProvider, scope: Scope, order_id: str) -> Invoice | None:
    """The order's invoice if it already exists, so that generation is never repeated."""
    try:
        invoice: Invoice = await provider.get_invoice(scope, order_id)
    except NotFound:
        return None
    return None if invoice.status is InvoiceStatus.PENDING else invoice


def _argument_error(tool: str, error: ValidationError) -> InvalidArgument:
    """A person-readable account of rejected arguments: names and rules, never the values sent."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in detail["loc"]) or "arguments"
        problems.append(f"{where}: {detail['msg']}")
    return InvalidArgument(
        f"Invalid arguments for {tool}: {'; '.join(problems)}.",
        hint=f"See the input schema of {tool} in tools/list.",
    )


def _validate_arguments_first(server: MCPServer) -> None:
    """Check tool arguments before the SDK does, so that bad input gets a structured invalid_argument.

    Unknown arguments are refused rather than ignored: in particular no tool takes a customer, and a
    caller that tries to pass one learns that the session decides who the customer is.
    """
    sdk_call_tool = server._handle_call_tool

    async def call_tool(ctx: Any, params: CallToolRequestParams) -> Any:
        tool = server._tool_manager.get_tool(params.name)
        if tool is None:
            return error_result(
                InvalidArgument(
                    f"There is no tool named {params.name[:80]!r}.",
                    hint="Call tools/list to see the tools this server offers.",
                )
            )
        arguments = params.arguments or {}
        allowed = set(tool.parameters.get("properties", {}))
        unknown = sorted(set(arguments) - allowed)
        if unknown:
            return error_result(
                InvalidArgument(
                    f"{params.name} does not take {', '.join(unknown)}.",
                    hint="The customer and account come from the session, never from arguments; "
                    f"{params.name} accepts: {', '.join(sorted(allowed)) or 'no arguments'}.",
                )
            )
        try:
            tool.fn_metadata.arg_model.model_validate(tool.fn_metadata.pre_parse_json(arguments))
        except ValidationError as error:
            return error_result(_argument_error(params.name, error))
        result = await sdk_call_tool(ctx, params)
        return for_protocol(result, ctx.protocol_version) if isinstance(result, CallToolResult) else result

    server._lowlevel_server.add_request_handler("tools/call", CallToolRequestParams, call_tool)
