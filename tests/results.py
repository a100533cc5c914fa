"""Reading tool results the way a client we did not write reads them.

An error result carries no structured content (it would contradict the tool's outputSchema, and
the TypeScript SDK 1.x client throws on that); its ``{code, message, hint, retry_after?}`` travels
as JSON in the text content. A success carries its structured content and, in its text, a one-line
summary followed by that same content as compact JSON.
"""

from __future__ import annotations

import json
from typing import Any

ERROR_META_KEY = "mcp-invoices/error"


def error_of(result: Any) -> dict[str, Any]:
    """The error object of an ``isError`` result, read from its text (and checked against ``_meta``)."""
    assert result.is_error, result.content
    assert result.structured_content is None, "an error must not carry structured content"
    texts = [block.text for block in result.content if block.type == "text"]
    assert len(texts) == 1, texts
    error = json.loads(texts[0])
    assert set(error) <= {"code", "message", "hint", "retry_after"}, error
    if result.meta is not None and ERROR_META_KEY in result.meta:
        assert result.meta[ERROR_META_KEY] == error
    return error


def text_json_of(result: Any) -> dict[str, Any]:
    """The JSON that follows the summary line of a successful result's text."""
    assert not result.is_error, result.content
    text = result.content[0].text
    summary, _, body = text.partition("\n")
    assert summary and "\n" not in summary
    return json.loads(body)
