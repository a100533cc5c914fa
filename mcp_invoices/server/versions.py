"""Each protocol version gets only what its schema defines, and the errors its specification names.

One middleware sees every answer on the wire (``initialize`` included) and removes the fields the
negotiated version does not define: a client generated from an older schema, or one that validates
strictly, would otherwise reject the whole answer. Versions compare as ISO dates; an unknown version
(None) is served as the newest.

It also gives ``resources/read`` failures the code the version's specification names: "Resource not
found: -32002" in every handshake version (2024-11-05 to 2025-11-25); 2026-07-28 uses -32602. Every
such error's ``data`` carries our ``{code, message, hint}`` and the URI. A ``prompts/get`` failure (an
unknown prompt, a missing or unusable argument) is "Invalid params: -32602" in every version, with our
``{code, message, hint}`` in ``data`` (the SDK would answer code 0, which JSON-RPC does not define).
"""

from __future__ import annotations

from typing import Any, Final

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError

__all__ = [
    "RESOURCE_NOT_FOUND",
    "fields_for_version",
    "prompt_error",
    "progress_message_for",
    "version_middleware",
]

RESOURCE_NOT_FOUND: Final = -32002
"""The handshake versions' "Resource not found" code (server/resources, "Error Handling")."""
INVALID_PARAMS: Final = -32602
STATELESS_SINCE: Final = "2026-07-28"
"""From this version a missing resource is -32602 (clients accept -32002 too)."""

# field -> the first version that defines it, per kind of object (schema/<version>/schema.json)
_IMPLEMENTATION: Final = {
    "title": "2025-06-18",
    "description": "2025-11-25",
    "icons": "2025-11-25",
    "websiteUrl": "2025-11-25",
}
_CAPABILITIES: Final = {"completions": "2025-03-26", "tasks": "2025-11-25", "extensions": "2026-07-28"}
_TOOL: Final = {
    "title": "2025-06-18",
    "annotations": "2025-03-26",
    "_meta": "2025-06-18",
    "outputSchema": "2025-06-18",
    "icons": "2025-11-25",
    "execution": "2025-11-25",
}
_LISTED: Final = {"title": "2025-06-18", "_meta": "2025-06-18", "icons": "2025-11-25", "size": "2025-03-26"}
"""Resources, resource templates and prompts."""
_PROMPT_ARGUMENT: Final = {"title": "2025-06-18"}
PROGRESS_MESSAGE_SINCE: Final = "2025-03-26"


def _defined(version: str | None, since: str) -> bool:
    return version is None or version >= since


def _strip(entry: dict[str, Any], table: dict[str, str], version: str | None) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key not in table or _defined(version, table[key])}


def fields_for_version(method: str, result: dict[str, Any], version: str | None) -> dict[str, Any]:
    """``result`` (the wire form of ``method``'s answer) with only the fields ``version`` defines."""
    if method == "initialize":
        version = result.get("protocolVersion", version)
        answer = dict(result)
        if isinstance(answer.get("serverInfo"), dict):
            answer["serverInfo"] = _strip(answer["serverInfo"], _IMPLEMENTATION, version)
        if isinstance(answer.get("capabilities"), dict):
            answer["capabilities"] = _strip(answer["capabilities"], _CAPABILITIES, version)
        return answer
    lists = {
        "tools/list": ("tools", _TOOL),
        "resources/list": ("resources", _LISTED),
        "resources/templates/list": ("resourceTemplates", _LISTED),
        "prompts/list": ("prompts", _LISTED),
    }
    if method not in lists:
        return result
    key, table = lists[method]
    entries = []
    for entry in result.get(key, []):
        kept = _strip(entry, table, version)
        if method == "prompts/list" and isinstance(kept.get("arguments"), list):
            kept["arguments"] = [
                _strip(argument, _PROMPT_ARGUMENT, version) for argument in kept["arguments"]
            ]
        entries.append(kept)
    return {**result, key: entries}


def progress_message_for(version: str | None, message: str) -> str | None:
    """A progress notification's ``message`` exists from 2025-03-26; before, the notification goes without."""
    return message if _defined(version, PROGRESS_MESSAGE_SINCE) else None


def resource_error_for_version(error: MCPError, uri: str, version: str | None) -> MCPError:
    """A ``resources/read`` failure as ``version`` names it, with our error object and the URI in ``data``."""
    data = dict(error.data) if isinstance(error.data, dict) else {}
    if "code" not in data:  # the SDK's own: no template matches the URI
        data |= {
            "code": "not_found",
            "message": error.message,
            "hint": "Read a URI that get_invoice or list_invoices returns: invoice://{provider}/{invoice_id} "
            "(JSON) or invoice://{provider}/{invoice_id}/pdf.",
        }
    data["uri"] = uri
    code = error.code
    if data["code"] == "not_found":
        code = INVALID_PARAMS if version is not None and version >= STATELESS_SINCE else RESOURCE_NOT_FOUND
    elif data["code"] == "invalid_argument":
        code = INVALID_PARAMS
    return MCPError(code=code, message=error.message, data=data)


_UNKNOWN_PROMPT: Final = "Unknown prompt: "
_MISSING_ARGUMENTS: Final = "Missing required arguments: "


def prompt_error(error: MCPError | ValueError, name: object) -> MCPError:
    """A ``prompts/get`` failure as the specification names it (-32602), our error object in ``data``.

    The SDK raises a bare ``ValueError`` for an unknown prompt or a missing argument (answered with
    code 0 and logged with a stack trace), and a pydantic error (``ValueError`` too) for an argument
    that is not a string.
    """
    if isinstance(error, MCPError) and (
        error.code not in (0, INVALID_PARAMS) or (isinstance(error.data, dict) and "code" in error.data)
    ):
        return error
    prompt = str(name)
    text = error.message if isinstance(error, MCPError) else str(error)
    if text.startswith(_UNKNOWN_PROMPT):
        message = f"There is no prompt named {prompt!r}."
        hint = "Call prompts/list to see the prompts this server offers."
    elif text.startswith(_MISSING_ARGUMENTS):
        missing = text.removeprefix(_MISSING_ARGUMENTS).strip("{}").replace("'", "")
        message = f"The prompt {prompt!r} needs the argument(s) {missing}."
        hint = "Call prompts/list to see each prompt's arguments and pass every required one, as a string."
    else:
        message = f"The arguments of the prompt {prompt!r} are not usable."
        hint = "Call prompts/list to see each prompt's arguments; every value is a string."
    return MCPError(
        code=INVALID_PARAMS,
        message=message,
        data={"code": "invalid_argument", "message": message, "hint": hint},
    )


async def version_middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """The server middleware: answers trimmed to the negotiated version, resource errors named by it."""
    try:
        result = await call_next(ctx)
    except (MCPError, ValueError) as error:
        if ctx.method == "prompts/get":
            name = ctx.params.get("name") if isinstance(ctx.params, dict) else None
            raise prompt_error(error, name) from None
        if ctx.method != "resources/read" or not isinstance(error, MCPError):
            raise
        uri = ctx.params.get("uri") if isinstance(ctx.params, dict) else None
        raise resource_error_for_version(error, str(uri), ctx.protocol_version) from None
    if isinstance(result, dict):
        return fields_for_version(ctx.method, result, ctx.protocol_version)
    return result
