"""Pieces shared by the provider emulators: fault controls, JSON with exact decimals, PDFs, serving.

- ``controls.py``: :class:`Controls` on every emulator state, applied to each request by
  :class:`ControlsMiddleware` (latency, forced failures, malformed bodies, rate limiting) and
  recorded in ``controls.request_log``; each provider supplies its error bodies' shape through a
  :class:`FaultResponses`.
- ``answers.py``: JSON whose decimals keep their exact digits, small deterministic PDFs, UTC times,
  and the request fields the emulators read.
- ``serving.py``: an app on 127.0.0.1, in this event loop or in a thread.
"""

from __future__ import annotations

from mcp_invoices.providers.emulation.answers import (
    bearer_token,
    dumps_json,
    iso_z,
    json_response,
    query_int,
    render_pdf,
)
from mcp_invoices.providers.emulation.controls import (
    Clock,
    Controls,
    ControlsMiddleware,
    FaultResponses,
    LoggedRequest,
    MalformedKind,
    route_path,
)
from mcp_invoices.providers.emulation.serving import running_app, serve_app, serving_in_thread

__all__ = [
    "Clock",
    "Controls",
    "ControlsMiddleware",
    "FaultResponses",
    "LoggedRequest",
    "MalformedKind",
    "bearer_token",
    "dumps_json",
    "iso_z",
    "json_response",
    "query_int",
    "render_pdf",
    "route_path",
    "running_app",
    "serve_app",
    "serving_in_thread",
]
