"""Qdrant behind the VectorStore protocol: a server by URL, or qdrant-client's local mode.

`store` is the point I/O (upsert, payload updates, search, counts) over one collection.
"""
