"""`cortex reindex`: bring a collection up to hybrid search without calling the embedder.

Qdrant cannot add a vector to an existing collection, so the points are copied, dense vectors
and payloads as they are, into `<name>-reindex` (dense + BM25), each with the BM25 vector of its
payload's text (`common.text.document_text`, `common.sparse`), then the old collection is
replaced by a second copy under its own name. Every step is checked by counting, and a run
that stopped anywhere is completed by running it again: the copy is marked complete before the
original is deleted, and a start-up check refuses to serve while `<name>-reindex` exists.

Run it with the store worker stopped (and `cortex dev`): in local mode the folder is locked by
whoever opened it, and on a server points the store worker wrote meanwhile would be lost with
the old collection. Nothing waits long: queued points stay in Redis until the worker is back.
"""

import argparse
import sys
from collections.abc import Callable, Iterator
from typing import Any

from qdrant_client import QdrantClient, models

from common import sparse
from common.errors import ConfigurationError, CortexError
from common.settings import get_worker_settings
from common.text import document_text
from workers.qdrant import errors
from workers.qdrant.collection import (
    DIM_KEY,
    MODEL_KEY,
    SPARSE,
    create_collection,
    is_current,
    reindex_name,
    vector_size,
)
from workers.qdrant.opening import open_client

BATCH = 256
# Set on `<name>-reindex` once it holds every point: only then may the original go.
COMPLETE_KEY = "cortex_reindex_complete"

Say = Callable[[str], None]


def reindex(
    client: QdrantClient, name: str, *, avg_len: float, force: bool = False, say: Say = print
) -> int:
    """Upgrade collection `name` (or finish an interrupted upgrade); returns points copied.

    0 when it is current already and `force` is not set.
    """
    temp = reindex_name(name)
    if client.collection_exists(temp) and not _complete(client, temp):
        say(f"an earlier reindex stopped while copying: {temp!r} is dropped and made again")
        client.delete_collection(temp)
    if not client.collection_exists(temp):
        if not client.collection_exists(name):
            raise ConfigurationError(f"no Qdrant collection {name!r} to reindex")
        if is_current(client.get_collection(name)) and not force:
            say(f"collection {name!r} has BM25 vectors of this release's text already")
            return 0
        copied = _copy(client, name, temp, avg_len=avg_len, say=say)
        client.update_collection(temp, metadata={**_metadata(client, temp), COMPLETE_KEY: True})
    if client.collection_exists(name):
        client.delete_collection(name)
    copied = _copy(client, temp, name, avg_len=avg_len, say=say)
    client.delete_collection(temp)
    say(f"collection {name!r} reindexed: {copied} points, dense vectors kept, BM25 added")
    return copied


def _complete(client: QdrantClient, name: str) -> bool:
    return bool(_metadata(client, name).get(COMPLETE_KEY))


def _metadata(client: QdrantClient, name: str) -> dict[str, Any]:
    return dict(client.get_collection(name).config.metadata or {})


def _copy(client: QdrantClient, source: str, target: str, *, avg_len: float, say: Say) -> int:
    """Create `target` like `source` (dense + BM25) and copy every point; count both."""
    info = client.get_collection(source)
    metadata = info.config.metadata or {}
    dim, model = vector_size(info), metadata.get(MODEL_KEY)
    if dim is None or model is None or metadata.get(DIM_KEY) != dim:
        raise ConfigurationError(
            f"Qdrant collection {source!r} records no model and dimension of its one dense"
            " vector: not created by cluster-cortex, nothing to reindex"
        )
    distance = info.config.params.vectors.distance  # type: ignore[union-attr]
    create_collection(client, target, dim=dim, model=str(model), distance=distance.value)
    copied = 0
    for batch in _batches(client, source):
        client.upsert(target, points=[_upgraded(r, avg_len) for r in batch], wait=True)
        copied += len(batch)
        say(f"{source} -> {target}: {copied} points")
    expected = client.count(source, exact=True).count
    found = client.count(target, exact=True).count
    if not copied == expected == found:
        raise CortexError(f"copy of {source!r} holds {found} of {expected} points ({copied} sent)")
    return copied


def _batches(client: QdrantClient, name: str) -> Iterator[list[models.Record]]:
    offset: Any = None
    while True:
        records, offset = client.scroll(
            name, limit=BATCH, offset=offset, with_payload=True, with_vectors=True
        )
        if records:
            yield records
        if offset is None:
            return


def _upgraded(record: models.Record, avg_len: float) -> models.PointStruct:
    """The record with its dense vector and payload as they are, and its payload's BM25."""
    vector = record.vector
    dense = vector.get("") if isinstance(vector, dict) else vector
    payload = dict(record.payload or {})
    kind = payload.get("kind")
    text = document_text(kind, payload) if kind in ("alert", "chat") else ""
    bm25 = sparse.document_vector(text, avg_len=avg_len)
    return models.PointStruct(
        id=record.id,
        vector={"": dense, SPARSE: models.SparseVector(indices=bm25.indices, values=bm25.values)},
        payload=payload,
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m workers.qdrant.reindex [--force]`, what `cortex reindex` runs."""
    parser = argparse.ArgumentParser(prog="cortex reindex", description=__doc__)
    parser.add_argument("--force", action="store_true", help="recompute even if current")
    args = parser.parse_args(argv)
    s = get_worker_settings()
    try:
        client = open_client(
            url=s.qdrant_url, path=s.qdrant_path, timeout_s=s.qdrant_timeout_s,
            api_key=s.qdrant_api_key,
        )  # fmt: skip
    except ConfigurationError as exc:
        print(f"cortex reindex: {exc}. Stop the store worker (or `cortex dev`) first.",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        reindex(client, s.collection, avg_len=s.bm25_avg_len, force=args.force)
    except (*errors.BACKEND_ERRORS, *errors.BAD_INPUT_ERRORS, CortexError) as exc:
        failure = exc if isinstance(exc, CortexError) else errors.translate(exc)
        print(f"cortex reindex: {failure}; run it again to complete it", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
