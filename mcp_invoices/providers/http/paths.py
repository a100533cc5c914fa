"""Ids that came from a user, made safe as one URL path segment."""

from __future__ import annotations

from urllib.parse import quote

from mcp_invoices.domain.errors import InvalidArgument

__all__ = ["path_segment"]


def path_segment(value: str) -> str:
    """``value`` percent-encoded as exactly one path segment, for ids that came from a user.

    ``/``, ``?`` and ``#`` are encoded so an id cannot reach another endpoint; ``.`` and ``..``
    are refused because servers resolve them as directory steps even when encoded.
    """
    if value in ("", ".", ".."):
        raise InvalidArgument(f"{value!r} is not a valid id.", hint="Pass the id exactly as listed.")
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form, so no URL can carry it
        raise InvalidArgument(
            "The id contains characters no URL can carry.", hint="Pass the id exactly as listed."
        ) from None
