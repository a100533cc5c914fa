"""mcp-invoices: an MCP server that generates, retrieves and summarises invoices, one customer per session."""

__version__ = "0.1.0"
