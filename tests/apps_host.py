"""The client side of MCP Apps, as the tests declare it: a host that renders ``ui://`` views."""

from __future__ import annotations

from typing import Any

from mcp.client.extension import ClientExtension
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID


class AppsHost(ClientExtension):
    """What a host that renders MCP Apps declares in its capabilities."""

    identifier = EXTENSION_ID

    def settings(self) -> dict[str, Any]:
        return {"mimeTypes": [APP_MIME_TYPE]}
