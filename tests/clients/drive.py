"""Drives mcp-invoices with the Python SDK 1.x client (``mcp<2``), as agent frameworks built on it do.

    <1.x venv>/bin/python drive.py  < plan.json  > report.json

Run by tests/clients/test_independent_clients.py with the interpreter of a separate virtual
environment (scripts/install-client-test-deps.sh makes it), never the project's own: the point is
a client we did not write. It lists the tools and resource templates, calls every tool with the
plan's succeeding and failing arguments, reads every template once, and reports what the client
saw (including any exception it raised) as JSON. It decides nothing: the pytest test does.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import sys
from datetime import timedelta
from importlib.metadata import version
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


@contextlib.asynccontextmanager
async def _streams(plan: dict[str, Any]):
    if plan["transport"] == "stdio":
        params = StdioServerParameters(
            command=plan["command"], args=plan["args"], env=plan["env"], cwd=plan["cwd"]
        )
        with open("/dev/null", "w") as quiet:  # the server's stderr log is not this report's business
            async with stdio_client(params, errlog=quiet) as (read, write):
                yield read, write
    else:
        from mcp.client.streamable_http import streamablehttp_client

        headers = {"Authorization": f"Bearer {plan['token']}"}
        async with streamablehttp_client(plan["url"], headers=headers) as (read, write, _):
            yield read, write


def _describe(error: BaseException) -> dict[str, str]:
    return {"name": type(error).__name__, "message": str(error)}


async def drive(plan: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {
        "sdk_version": version("mcp"),
        "transport": plan["transport"],
        "tools": [],
        "calls": [],
        "resources": [],
    }
    timeout = timedelta(milliseconds=plan.get("request_timeout_ms", 30000))
    try:
        async with (
            _streams(plan) as (read, write),
            ClientSession(read, write, read_timeout_seconds=timeout) as session,
        ):
            initialized = await session.initialize()
            report["protocol_version"] = str(initialized.protocolVersion)
            tools = (await session.list_tools()).tools
            report["tools"] = [tool.name for tool in tools]
            for tool in tools:
                cases = plan["cases"].get(tool.name)
                if cases is None:
                    report["calls"].append(
                        {
                            "tool": tool.name,
                            "case": "missing",
                            "exception": {"name": "NoCase", "message": "no entry"},
                        }
                    )
                    continue
                for which in ("success", "error"):
                    entry: dict[str, Any] = {"tool": tool.name, "case": which}
                    try:
                        result = await session.call_tool(tool.name, cases[which])
                        entry["is_error"] = bool(result.isError)
                        entry["content_types"] = [block.type for block in result.content]
                        entry["texts"] = [block.text for block in result.content if block.type == "text"]
                        entry["structured"] = getattr(result, "structuredContent", None)
                    except Exception as error:  # what the client raised is the finding
                        entry["exception"] = _describe(error)
                    report["calls"].append(entry)
            templates = (await session.list_resource_templates()).resourceTemplates
            for template in templates:
                uri = re.sub(
                    r"\{(\w+)\}",
                    lambda match: plan["template_values"].get(match[1], match[0]),
                    template.uriTemplate,
                )
                entry = {"template": template.uriTemplate, "uri": uri}
                try:
                    contents = (await session.read_resource(uri)).contents  # type: ignore[arg-type]
                    entry["contents"] = [
                        {
                            "uri": str(item.uri),
                            "mime_type": item.mimeType,
                            "text": getattr(item, "text", None),
                            "blob_prefix": base64.b64decode(item.blob)[:5].decode("latin1")
                            if getattr(item, "blob", None)
                            else None,
                        }
                        for item in contents
                    ]
                except Exception as error:
                    entry["exception"] = _describe(error)
                report["resources"].append(entry)
    except Exception as error:
        report["fatal"] = _describe(error)
    return report


def main() -> None:
    plan = json.load(sys.stdin)
    report = anyio.run(drive, plan)
    sys.stdout.write(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
