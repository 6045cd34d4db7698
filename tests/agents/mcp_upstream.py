"""A real upstream MCP server (mcp's own MCPServer, over stdio) with one harmless and one risky tool."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

from tests.agents.common import record_run

server = MCPServer("files")


@server.tool()
def read_file(path: str) -> str:
    """Read a file."""
    record_run("read_file", path=path)
    return f"contents of {path}"


@server.tool()
def delete_file(path: str, force: bool = False) -> str:
    """Delete a file."""
    record_run("delete_file", path=path, force=force)
    return f"deleted {path}"


if __name__ == "__main__":
    server.run()
