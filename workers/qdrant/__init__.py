"""Qdrant behind the VectorStore protocol: a server by URL, or qdrant-client's local mode.

`store` is the point I/O over one collection (upsert, payload updates, search, counts);
`collection` creates it with the model and dimension recorded and checks them at start;
`opening` connects to a server or takes a local-mode folder (one process only); `errors` maps
the client's exceptions to retry or fail. Used by the store worker only, which owns Qdrant.
"""
