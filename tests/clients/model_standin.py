"""A local stand-in of an OpenAI-compatible Chat Completions API, as strict as the real one about content.

It refuses (400, as the API does) a message part the API does not accept for that role — a
``file`` part with a URL, a ``resource_link``, anything in a tool message but text — and records every
request it accepted. It asks for ``get_invoice`` once, then answers in text.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ALLOWED_PARTS = {
    "system": {"text"},
    "developer": {"text"},
    "user": {"text", "image_url", "input_audio", "file"},
    "assistant": {"text", "refusal"},
    "tool": {"text"},
}


def refusal(messages: list[dict[str, Any]]) -> str | None:
    """Why the API would refuse these messages, or None."""
    for index, message in enumerate(messages):
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"messages[{index}].content must be a string or a list of parts"
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind not in ALLOWED_PARTS.get(message.get("role", ""), set()):
                return f"messages[{index}]: a {message.get('role')} message cannot contain a {kind!r} part"
            if kind == "file" and not ({"file_data", "file_id"} & set(part.get("file", {}))):
                return f"messages[{index}]: a file part needs file_data or file_id"
    return None


class ModelStandIn:
    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self.complete, methods=["POST"]),
                Route("/chat/completions", self.complete, methods=["POST"]),
            ]
        )

    async def complete(self, request: Request) -> JSONResponse:
        body = await request.json()
        problem = refusal(body.get("messages", []))
        if problem is not None:
            self.refused.append(problem)
            return JSONResponse(
                {"error": {"message": problem, "type": "invalid_request_error", "code": None}},
                status_code=400,
            )
        self.accepted.append(body)
        asked = any(message.get("role") == "tool" for message in body["messages"])
        if body.get("tools") and not asked:
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_invoice",
                            "arguments": json.dumps({"invoice_id": "ord_1001"}),
                        },
                    }
                ],
            }
            finish = "tool_calls"
        else:
            message, finish = (
                {"role": "assistant", "content": "Here is invoice ord_1001, line by line."},
                "stop",
            )
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.accepted)}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "stand-in"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )
