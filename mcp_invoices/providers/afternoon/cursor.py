"""This server's cursor over Afternoon's list: Afternoon's own cursor of a page, and how many of its
rows were already served (rows of other customers are dropped here, so pages and answers differ)."""

from __future__ import annotations

import base64
import json

from mcp_invoices.domain.errors import InvalidArgument

__all__ = ["decode_position", "encode_position"]

_POSITION_PREFIX = "aft1."
_MAX_CURSOR_LENGTH = 4096


def encode_position(upstream: str | None, skip: int) -> str | None:
    """This server's cursor: Afternoon's cursor of a page and how many of its rows were consumed
    (None at the end: no Afternoon cursor left and nothing to skip)."""
    if upstream is None and skip == 0:
        return None
    raw = json.dumps([upstream, skip], separators=(",", ":")).encode()
    return _POSITION_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_position(cursor: str) -> tuple[str | None, int]:
    """``encode_position`` read back; anything else is an ``InvalidArgument`` naming the cursor."""
    refused = InvalidArgument(
        "This Afternoon page cursor was not issued by this server, or is damaged.",
        hint="Call list_invoices again without cursor and page on from there.",
    )
    if not cursor.startswith(_POSITION_PREFIX) or len(cursor) > _MAX_CURSOR_LENGTH:
        raise refused
    encoded = cursor[len(_POSITION_PREFIX) :]
    try:
        upstream, skip = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, TypeError):
        raise refused from None
    if (
        not (upstream is None or isinstance(upstream, str))
        or type(skip) is not int
        or not 0 <= skip <= 10_000
    ):
        raise refused
    return upstream, skip
