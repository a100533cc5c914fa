"""Baseline of row 4 (cold start): a bare ``MCPServer`` with one tool, over stdio.

What any server built on the SDK pays to start: the interpreter, the SDK's imports, one tool.
"""

from mcp.server import MCPServer

server = MCPServer("bare")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


if __name__ == "__main__":
    server.run("stdio")
