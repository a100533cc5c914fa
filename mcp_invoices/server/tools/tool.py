"""The record each tool module declares (``TOOL``): everything the registration needs, in one place.

A tool module holds its function (whose signature is its input model: the SDK publishes the
parameters' types and ``Field`` descriptions as the input schema), its description, its effect (from
which its annotations follow) and whether it has a view. The machinery every tool shares stays
shared: bounded argument types (``server.inputs``), argument descriptions used by several tools
(``server.arguments``), result shaping (``server.results``) and the one error boundary
(``server.calls.InvoiceServer.call_tool``).

What a protocol version sees of a tool is the same rule for every tool, so no tool declares it:
``server.versions`` strips the fields a version does not define (title, annotations, ``_meta``,
``outputSchema``) and ``server.results`` drops ``outputSchema`` and structured content before
2025-06-18. The questions ``generate_invoice`` may ask ride each era's own mechanism (``server.elicit``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from mcp_types import CallToolResult, ToolAnnotations

__all__ = ["Effect", "Tool"]

Effect = Literal["read", "generate"]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    title: str
    description: str
    effect: Effect
    handler: Callable[..., Awaitable[CallToolResult]]
    view: bool = False
    """Whether hosts that render MCP Apps show its result in the invoice view (``mcp_invoices.views``)."""

    def annotations(self, *, open_world: bool) -> ToolAnnotations:
        if self.effect == "read":
            return ToolAnnotations(read_only_hint=True, open_world_hint=open_world)
        # Generating is permanent but never destroys anything, and asking twice returns the same invoice.
        return ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=open_world
        )
