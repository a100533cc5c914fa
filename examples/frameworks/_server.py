"""What the framework examples share: how to start the server and which model API to talk to.

MCP_INVOICES_COMMAND (JSON list, default ["mcp-invoices", "serve"]) starts the server over stdio with
this process's environment (MCP_INVOICES_CUSTOMER, MCP_INVOICES_DB, ...). OPENAI_BASE_URL and
OPENAI_API_KEY choose the OpenAI-compatible model API; MODEL names the model (default gpt-4.1-mini).
"""

from __future__ import annotations

import json
import os

COMMAND: list[str] = json.loads(os.environ.get("MCP_INVOICES_COMMAND", '["mcp-invoices", "serve"]'))
SERVER_ENV = dict(os.environ)
MODEL = os.environ.get("MODEL", "gpt-4.1-mini")
QUESTION = "What does invoice ord_1001 charge for, line by line, and how much is due?"
