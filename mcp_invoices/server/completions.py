"""``completion/complete``: suggestions for ``provider`` and ``invoice_id``, from the session's own invoices.

Hosts that offer pickers for resource-template variables and prompt arguments ask here. Every
suggestion comes from the caller's own scope (the same provider calls the tools make, with the
principal the server resolved), so a prefix can never reveal another customer's id or number.
Matching is a case-insensitive prefix of an invoice's id or its printed number; at most
``COMPLETION_LIMIT`` values (the protocol's cap), most recent invoices first, from at most
``SCAN_LIMIT`` invoices per provider so that a keystroke never pages through a whole account.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp_types import (
    CompleteRequestParams,
    CompleteResult,
    Completion,
    PromptReference,
    ResourceTemplateReference,
)

from mcp_invoices.domain.errors import InvoiceError
from mcp_invoices.domain.models import InvoiceFilter
from mcp_invoices.principal import Principal, Scope
from mcp_invoices.server.calls import InvoiceServer
from mcp_invoices.server.compat import replace_request_handler
from mcp_invoices.server.runtime import Runtime

__all__ = ["COMPLETION_LIMIT", "INVOICE_TEMPLATES", "SCAN_LIMIT", "complete", "register_completions"]

logger = logging.getLogger("mcp_invoices.server")

COMPLETION_LIMIT = 100
"""The protocol allows at most 100 values in one completion."""

SCAN_LIMIT = 200
"""Invoices read per provider for one completion (two pages): recent invoices are the likely picks."""

INVOICE_TEMPLATES = frozenset({"invoice://{provider}/{invoice_id}", "invoice://{provider}/{invoice_id}/pdf"})

_COMPLETED = frozenset({"provider", "invoice_id"})


def _empty() -> Completion:
    return Completion(values=[], total=0, has_more=False)


def _bounded(values: list[str]) -> Completion:
    return Completion(
        values=values[:COMPLETION_LIMIT], total=len(values), has_more=len(values) > COMPLETION_LIMIT
    )


def _applies(ref: ResourceTemplateReference | PromptReference, prompts: frozenset[str]) -> bool:
    if isinstance(ref, ResourceTemplateReference):
        return ref.uri in INVOICE_TEMPLATES
    return ref.name in prompts


async def _invoice_values(runtime: Runtime, scope: Scope, prefix: str) -> list[str]:
    """Ids and numbers of the scope's most recent invoices that start with ``prefix`` (any case)."""
    wanted = prefix.casefold()
    values: list[str] = []
    cursor: str | None = None
    scanned = 0
    provider = runtime.provider(scope)
    while scanned < SCAN_LIMIT:  # bounded: two pages at most
        page = await provider.list_invoices(scope, InvoiceFilter(), limit=100, cursor=cursor)
        for invoice in page.items:
            for value in (invoice.id, invoice.number):
                if value and value.casefold().startswith(wanted) and value not in values:
                    values.append(value)
        scanned += len(page.items)
        cursor = page.next_cursor
        if cursor is None or not page.items:
            break
    return values


async def complete(
    runtime: Runtime,
    principal: Principal,
    ref: ResourceTemplateReference | PromptReference,
    argument: str,
    value: str,
    context: dict[str, str],
    *,
    prompts: frozenset[str],
) -> Completion:
    """The completion of ``argument`` typed so far as ``value``, within ``principal``'s scopes only."""
    if argument not in _COMPLETED or not _applies(ref, prompts):
        return _empty()
    enabled = [scope for scope in principal.scopes if scope.provider in runtime.providers]
    if argument == "provider":
        wanted = value.casefold()
        return _bounded([scope.provider for scope in enabled if scope.provider.casefold().startswith(wanted)])
    named = context.get("provider")
    scopes = [scope for scope in enabled if named is None or scope.provider == named]
    found: dict[str, list[str]] = {}

    async def collect(scope: Scope) -> None:
        try:
            found[scope.provider] = await _invoice_values(runtime, scope, value)
        except InvoiceError as error:  # a provider that fails offers nothing; the others still do
            logger.info(
                "completion skipped a provider", extra={"provider": scope.provider, "code": error.code}
            )

    async with anyio.create_task_group() as group:
        for scope in scopes:
            group.start_soon(collect, scope)
    values: list[str] = []
    for scope in scopes:  # in the session's provider order, whatever order the answers came in
        values.extend(value for value in found.get(scope.provider, []) if value not in values)
    return _bounded(values)


def register_completions(server: InvoiceServer, prompts: frozenset[str]) -> None:
    """Answer ``completion/complete`` for the invoice templates and ``prompts``, per request's principal."""
    services = server.services

    async def handle(ctx: Any, params: CompleteRequestParams) -> CompleteResult:
        principal = services.resolve_principal(ctx)
        context = dict(params.context.arguments or {}) if params.context else {}
        completion = await complete(
            services.runtime,
            principal,
            params.ref,
            params.argument.name,
            params.argument.value,
            context,
            prompts=prompts,
        )
        return CompleteResult(completion=completion)

    replace_request_handler(server, "completion/complete", CompleteRequestParams, handle)
