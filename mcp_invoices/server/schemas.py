"""Tool input schemas every agent framework can use as they are: self-contained, no ``$ref``.

Pydantic publishes a nested model (``generate_invoice``'s ``billing_address``) as
``anyOf: [{$ref: "#/$defs/BillingAddressInput"}, {type: null}]``. The OpenAI Agents SDK's strict
conversion of MCP tools refuses such a reference ("a reference whose target was not validated for
strict mode") and silently serves the tool non-strict; other converters (Gemini's, older hosts)
resolve references each in their own way or not at all. Every tool's input schema is therefore
published with its definitions inlined where they are used. The arguments are still validated by the
tool's own pydantic model: only the published text changes, not what is accepted.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["inline_definitions"]

_DEFS_PREFIX: Final = "#/$defs/"
_MAX_DEPTH: Final = 32
"""Far deeper than any input model here; a recursive model (which no tool has) would stop here."""


def inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``#/$defs/…`` reference replaced by its definition, and no ``$defs``.

    A reference with sibling keywords (``description``, ``default``) keeps them beside the inlined
    definition, which wins for the keywords it defines itself. Raises ``ValueError`` for a reference
    to a definition that does not exist or a definition that refers to itself: the server must not
    publish a schema it cannot make self-contained.
    """
    definitions = schema.get("$defs", {})
    inlined = _inline({key: value for key, value in schema.items() if key != "$defs"}, definitions, depth=0)
    assert isinstance(inlined, dict)
    return inlined


def _inline(node: Any, definitions: dict[str, Any], *, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("a tool input schema refers to itself; it cannot be inlined")
    if isinstance(node, list):
        return [_inline(item, definitions, depth=depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str):
        if not reference.startswith(_DEFS_PREFIX) or reference[len(_DEFS_PREFIX) :] not in definitions:
            raise ValueError(f"a tool input schema refers to {reference}, which it does not define")
        target = definitions[reference[len(_DEFS_PREFIX) :]]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return _inline(siblings | target, definitions, depth=depth + 1)
    return {key: _inline(value, definitions, depth=depth + 1) for key, value in node.items()}
