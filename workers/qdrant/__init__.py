"""Qdrant behind the VectorStore protocol: a server by URL, or qdrant-client's local mode.

`store` is the point I/O over one collection (upsert, payload updates, search, counts);
`collection` creates it (dense + BM25) with the model, dimension and text version recorded
and checks them at start; `query` turns a search into one `query_points` call (dense, BM25,
or both fused); `memory` is recall's read side (payload scrolls, grouped rankings by a stored
point's own vectors); `reindex` upgrades a collection made before hybrid search; `opening`
connects to a server or takes a local-mode folder (one process only); `errors` maps the
client's exceptions to retry or fail. Used by the store worker only, which owns Qdrant.
"""
