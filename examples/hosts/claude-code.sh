#!/usr/bin/env bash
# Claude Code: one command each. Run the one you need.
set -euo pipefail

# stdio: Claude Code launches the server itself, as Alice (the environment decides the customer).
claude mcp add --transport stdio invoices --env MCP_INVOICES_CUSTOMER=cus_alice -- mcp-invoices serve

# streamable HTTP: a running `mcp-invoices serve --transport http`, and a token from `mcp-invoices token issue`.
claude mcp add --transport http invoices-http http://127.0.0.1:8000/mcp \
    --header "Authorization: Bearer ${MCP_INVOICES_TOKEN}"
