"""The memory's MCP server: read-only tools for assistants, over the gateway's HTTP API.

`client` reads the memory through the gateway (in-process over ASGI inside the gateway, over
HTTP from `cortex mcp`), `summaries` turns its JSON into text an assistant reads, and `server`
builds the MCPServer with the four tools. The gateway serves it at /mcp, the CLI over stdio;
it imports neither of them.
"""
