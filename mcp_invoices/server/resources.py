"""Invoice documents as resources: the JSON and PDF templates, and the session's own ``resources/list``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import date

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, ListResourcesResult, PaginatedRequestParams, Resource

from mcp_invoices.domain.errors import InvalidArgument, InvoiceError, NotFound
from mcp_invoices.domain.models import Invoice, InvoiceFilter
from mcp_invoices.domain.money import format_money
from mcp_invoices.principal import Principal, Scope
from mcp_invoices.server.calls import InvoiceServer
from mcp_invoices.server.compat import replace_request_handler
from mcp_invoices.server.inputs import check_id
from mcp_invoices.server.runtime import Runtime

__all__ = ["RESOURCE_LIST_LIMIT", "register_resources"]

logger = logging.getLogger("mcp_invoices.server")

RESOURCE_LIST_LIMIT = 50
"""``resources/list`` shows at most this many of the session's most recent invoices per provider."""


@contextlib.contextmanager
def _resource_errors() -> Iterator[None]:
    """A resource read fails with an MCP error carrying our error object: not found (same for not yours),
    invalid argument, or what the provider said."""
    try:
        yield
    except InvoiceError as error:
        # data carries {code, message, hint}; the version middleware picks the JSON-RPC code per version.
        code = INVALID_PARAMS if isinstance(error, NotFound | InvalidArgument) else INTERNAL_ERROR
        raise MCPError(code=code, message=error.message, data=error.to_dict()) from None


def register_resources(server: InvoiceServer) -> None:
    services = server.services
    runtime = services.runtime

    @server.resource(
        "invoice://{provider}/{invoice_id}",
        name="invoice",
        title="Invoice (JSON)",
        description="The normalized invoice as JSON; invoice_id is its id or its printed number.",
        mime_type="application/json",
    )
    async def invoice_json(provider: str, invoice_id: str, ctx: Context) -> str:
        with _resource_errors():
            check_id(invoice_id)
            scope = services.resolve_principal(ctx).scope_for(provider)
            invoice = await runtime.provider(scope).get_invoice(scope, invoice_id)
        return invoice.model_dump_json(indent=2)

    @server.resource(
        "invoice://{provider}/{invoice_id}/pdf",
        name="invoice-pdf",
        title="Invoice (PDF)",
        description="The invoice document: the provider's own where it offers one, otherwise rendered by "
        "the server; invoice_id is its id or its printed number.",
        mime_type="application/pdf",
    )
    async def invoice_pdf(provider: str, invoice_id: str, ctx: Context) -> bytes:
        with _resource_errors():
            check_id(invoice_id)
            scope = services.resolve_principal(ctx).scope_for(provider)
            return await runtime.provider(scope).invoice_pdf(scope, invoice_id, runtime.shared.documents)

    async def list_resources(ctx: Context, params: PaginatedRequestParams | None) -> ListResourcesResult:
        return await session_resources(runtime, services.resolve_principal(ctx))

    replace_request_handler(server, "resources/list", PaginatedRequestParams, list_resources)


async def session_resources(runtime: Runtime, principal: Principal) -> ListResourcesResult:
    """The session's own most recent invoices at each of its providers, most recent first."""
    resources: list[tuple[date, Resource]] = []

    async def collect(scope: Scope) -> None:
        try:
            page = await runtime.provider(scope).list_invoices(
                scope, InvoiceFilter(), limit=RESOURCE_LIST_LIMIT, cursor=None
            )
        except InvoiceError as error:
            logger.warning(
                "resources/list skipped a provider", extra={"provider": scope.provider, "code": error.code}
            )
            return
        resources.extend((invoice.issued_at or date.min, _resource(scope, invoice)) for invoice in page.items)

    async with anyio.create_task_group() as group:
        for scope in principal.scopes:
            group.start_soon(collect, scope)
    resources.sort(key=lambda entry: entry[0], reverse=True)
    return ListResourcesResult(resources=[resource for _, resource in resources])


def _resource(scope: Scope, invoice: Invoice) -> Resource:
    label = invoice.number or invoice.id
    return Resource(
        uri=invoice.documents.json_uri,
        name=label,
        title=f"Invoice {label} - {format_money(invoice.total, invoice.currency)} ({invoice.status.value})",
        description=f"{scope.provider} invoice issued {invoice.issued_at or 'n/a'}",
        mime_type="application/json",
    )
