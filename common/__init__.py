"""What every process shares, and the rooms the shared tools live in.

The modules of `common` itself are the shared contract: settings, queue names and task names
(`contract`), Redis keys, the message envelope, items and points, Alertmanager and chat
payloads, chunking and the embedded text, the intake's enqueue script, errors and the stats
snapshot. They import nothing of the rooms below, nor of gateway or workers:
- `protect/`: the embedding node's protection (guard, breaker, slots, limits, parking);
- `embedding/`: the Ollama client and the development embedder;
- `ingest/`: the LibreChat export reader and `cortex ingest-chats`;
- `mcp/`: the MCP server, whose tools read the memory through the gateway's HTTP API;
- `cli/`: the `cortex` command and the local supervisor behind `cortex dev`.
"""
