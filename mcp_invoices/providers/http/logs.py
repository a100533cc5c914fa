"""httpx2's own request log, with the parts of a URL where credentials hide removed."""

from __future__ import annotations

import logging

import httpx2

__all__ = ["redact_httpx_urls"]


class _RedactHttpxQuery(logging.Filter):
    """httpx2 logs every request's full URL at INFO; drop the query and userinfo, where credentials hide."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx2.URL) for arg in record.args):
            record.args = tuple(
                arg.copy_with(username=None, password=None, query=None)
                if isinstance(arg, httpx2.URL)
                else arg
                for arg in record.args
            )
        return True


def redact_httpx_urls() -> None:
    """Install the filter on httpx2's logger (once; every provider client calls this when it is made)."""
    httpx_logger = logging.getLogger("httpx2")
    if not any(isinstance(existing, _RedactHttpxQuery) for existing in httpx_logger.filters):
        httpx_logger.addFilter(_RedactHttpxQuery())
