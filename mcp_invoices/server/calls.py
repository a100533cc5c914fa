"""What a tool call acts for and with, injected into tool functions.

A tool is a plain async function whose first parameter is a ``Call``: the verified principal (never an
argument), the runtime's providers, today's date and the call's progress channel. The MCP server
fills it per request (``CurrentCall``); tests may build one directly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, Icon, InputRequiredResult, ToolAnnotations
from pydantic import ValidationError

from mcp_invoices.domain.errors import InvalidArgument, InvoiceError
from mcp_invoices.principal import Principal, Scope
from mcp_invoices.providers.base import InvoiceProvider, Progress, no_progress
from mcp_invoices.server import compat
from mcp_invoices.server.results import error_result, for_protocol, unexpected_error_result
from mcp_invoices.server.runtime import Runtime
from mcp_invoices.server.versions import progress_message_for

__all__ = [
    "Call",
    "CurrentCall",
    "InvoiceServer",
    "PrincipalResolver",
    "Services",
    "failure_result",
    "today_utc",
]

logger = logging.getLogger("mcp_invoices.server")

PrincipalResolver = Callable[[Context], Principal]


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True, slots=True)
class Services:
    """What every call of one server shares."""

    runtime: Runtime
    resolve_principal: PrincipalResolver
    clock: Callable[[], date] = today_utc


@dataclass(frozen=True, slots=True)
class Call:
    runtime: Runtime
    principal: Principal
    today: date
    progress: Progress = no_progress

    def provider(self, provider: str | None) -> tuple[Scope, InvoiceProvider]:
        """The session's scope at ``provider`` (or its only one) and the provider that serves it."""
        scope = self.principal.scope_for(provider)
        return scope, self.runtime.provider(scope)


class InvoiceServer(MCPServer):
    """An ``MCPServer`` that carries the services its tools are called with, and gives every tool call
    the same boundary: unknown tools and arguments refused, invalid arguments a structured
    ``invalid_argument`` (checked once, by the SDK), and the result in the form the client's protocol
    version defines."""

    def __init__(self, services: Services, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.services = services
        self.tool_arguments: dict[str, frozenset[str]] = {}
        """Each tool's argument names, as its input schema publishes them (filled at registration)."""

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """Register a tool and the argument names its input schema publishes (what ``call_tool`` accepts)."""
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        registered = name or fn.__name__
        self.tool_arguments[registered] = compat.input_properties(self, registered)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context | None = None
    ) -> CallToolResult | InputRequiredResult:
        allowed = self.tool_arguments.get(name)
        if allowed is None:
            return error_result(
                InvalidArgument(
                    f"There is no tool named {name[:80]!r}.",
                    hint="Call tools/list to see the tools this server offers.",
                )
            )
        if unknown := sorted(set(arguments) - allowed):
            # No tool takes a customer: a caller that tries to pass one learns who decides it.
            return error_result(
                InvalidArgument(
                    f"{name} does not take {', '.join(unknown)}.",
                    hint="The customer and account come from the session, never from arguments; "
                    f"{name} accepts: {', '.join(sorted(allowed)) or 'no arguments'}.",
                )
            )
        if context is not None:
            compat.bound_elicitation(context, _bounded_elicit(context.elicit))
        try:
            result = await super().call_tool(name, arguments, context)
        except ToolError as error:
            return failure_result(name, error)
        if isinstance(result, CallToolResult):
            return for_protocol(
                result,
                context.protocol_version if context is not None else None,
                self.services.runtime.config.document_links,
            )
        return result


def failure_result(tool: str, error: ToolError) -> CallToolResult:
    """The one error boundary: how a failed tool call (its body, its resolvers, its arguments) reads.

    The SDK raises every failure but ``MCPError`` (a protocol error, left to the SDK) as a ``ToolError``
    whose ``__cause__`` is what was raised. A domain error becomes its ``{code, message, hint}``;
    rejected arguments or form answers an ``invalid_argument`` naming the fields; anything else is
    logged by type only and reported without internals.
    """
    cause = error.__cause__
    if isinstance(cause, InvoiceError):
        logger.info("tool failed", extra={"tool": tool, "code": cause.code})
        return error_result(cause)
    if str(error).endswith("accepted elicitation with no content"):
        return error_result(_EMPTY_ACCEPT)
    if isinstance(cause, ValidationError):
        return error_result(argument_error(tool, cause))
    if isinstance(cause, ToolError) and (answer := _validation_cause(cause)):
        # A person's answer to a question the call asked (elicitation) broke the form's rules.
        return error_result(answer_error(answer))
    logger.error("tool raised an unexpected error", extra={"tool": tool, "error": type(cause).__name__})
    return unexpected_error_result(tool)


ELICITATION_TIMEOUT_VARIABLE = "MCP_INVOICES_ELICITATION_TIMEOUT"

_EMPTY_ACCEPT = InvalidArgument(
    "Your client accepted the question without an answer, which counts as declining it: nothing was generated.",
    hint="Call generate_invoice again and fill in the form, or pass billing_name and billing_address as arguments.",
)


class _ClientAnswerFailed(InvoiceError):
    code = "not_supported"


class _QuestionUnanswered(InvoiceError):
    code = "timeout"


def _bounded_elicit(elicit: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``ctx.elicit`` (handshake era: a request within the call) with a deadline and the client's own failures
    told apart from ours: an empty ``accept`` is a decline; a JSON-RPC error from the client is reported
    as the client's; no answer within ``MCP_INVOICES_ELICITATION_TIMEOUT`` seconds abandons the question."""
    import anyio
    from mcp.server.elicitation import DeclinedElicitation
    from mcp.shared.exceptions import MCPError

    from mcp_invoices.config import elicitation_timeout

    async def bounded(message: str, schema: Any) -> Any:
        timeout = elicitation_timeout()
        try:
            with anyio.fail_after(timeout):
                return await elicit(message, schema)
        except TimeoutError:
            logger.info("a question to the client went unanswered", extra={"timeout_s": timeout})
            raise _QuestionUnanswered(
                f"The question sent to your client was not answered within {timeout:g} seconds, so nothing was generated.",
                hint="Call generate_invoice again and answer when asked.",
            ) from None
        except MCPError as error:
            logger.info(
                "the client answered a question with an error", extra={"client_code": error.error.code}
            )
            raise _ClientAnswerFailed(
                f"Your client answered the question with its own error ({error.error.code}: "
                f"{str(error.error.message)[:120]}), so nothing was generated.",
                hint="Pass billing_name and billing_address as arguments, or use a client that can show forms.",
            ) from None
        except ValueError as error:
            if "no content" not in str(error):
                raise
            logger.info("the client accepted a question without an answer: treated as declined")
            return DeclinedElicitation()

    return bounded


def _validation_cause(error: BaseException) -> ValidationError | None:
    """The validation failure somewhere down ``error``'s causes (the SDK wraps an answer's in two layers)."""
    cause = error.__cause__
    for _ in range(4):  # bounded: the SDK's wrapping is two or three deep
        if cause is None or isinstance(cause, ValidationError):
            return cause
        cause = cause.__cause__
    return None


def _problems(error: ValidationError) -> str:
    """Field names and rules, never the values sent."""
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in detail["loc"]) or "arguments"
        problems.append(f"{where}: {detail['msg']}")
    return "; ".join(problems)


def argument_error(tool: str, error: ValidationError) -> InvalidArgument:
    """A person-readable account of rejected arguments."""
    return InvalidArgument(
        f"Invalid arguments for {tool}: {_problems(error)}.",
        hint=f"See the input schema of {tool} in tools/list.",
    )


def answer_error(error: ValidationError) -> InvalidArgument:
    """A person-readable account of a rejected form answer; nothing was changed or issued."""
    return InvalidArgument(
        f"The details given in the form were not accepted: {_problems(error)}.",
        hint="Nothing was issued. Call the tool again and correct those fields when asked, or pass them as "
        "arguments.",
    )


async def current_call(ctx: Context) -> Call:  # async: no worker-thread hop per call
    server = ctx.mcp_server
    if not isinstance(server, InvoiceServer):  # a wiring mistake, never a client's
        raise TypeError("tool functions run only on an InvoiceServer")
    services = server.services

    async def progress(done: float, total: float | None, message: str) -> None:
        await ctx.report_progress(done, total, progress_message_for(ctx.protocol_version, message))

    return Call(
        runtime=services.runtime,
        principal=services.resolve_principal(ctx),
        today=services.clock(),
        progress=progress,
    )


CurrentCall = Annotated[Call, Resolve(current_call)]
