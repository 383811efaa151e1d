"""`cortex reindex` in local mode: BM25 added from payloads, dense vectors kept, resumable."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from common.errors import ConfigurationError
from common.points import SearchQuery
from tests.workers.qdrant.test_hybrid import ALERTS, DIM, MODEL, point
from workers.qdrant.collection import MODEL_KEY, create_collection, is_current, reindex_name
from workers.qdrant.reindex import COMPLETE_KEY, reindex
from workers.qdrant.store import QdrantStore


@pytest.fixture
def client(tmp_path: Path) -> Iterator[QdrantClient]:
    """A local-mode folder holding a collection as the release before hybrid search made it."""
    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection(
        "c", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        metadata={MODEL_KEY: MODEL, "cortex_dim": DIM},
    )  # fmt: skip
    old = [
        models.PointStruct(id=p.id, vector=p.vector, payload={**p.payload, "kind": p.kind})
        for p in map(point, ALERTS)
    ]
    client.upsert("c", points=old)
    yield client
    client.close()


def dense_vectors(client: QdrantClient, name: str) -> dict[str, list[float]]:
    records, _ = client.scroll(name, limit=100, with_vectors=True)
    return {
        str(r.id): r.vector[""] if isinstance(r.vector, dict) else r.vector  # type: ignore[misc]
        for r in records
    }


def same_vectors(a: dict[str, list[float]], b: dict[str, list[float]]) -> bool:
    return a.keys() == b.keys() and all(np.allclose(a[k], b[k], atol=1e-6) for k in a)


def search(client: QdrantClient, text: str) -> list[str]:
    store = QdrantStore(client, collection="c", local=True)
    store.ensure_collection(dim=DIM, model=MODEL)  # the store worker's start-up check passes
    hits = store.search(SearchQuery(text=text, mode="sparse"), kind=None, limit=3)
    return [hit.payload["fingerprint"] for hit in hits]


def test_reindex_adds_bm25_from_payloads_and_keeps_dense_vectors_and_payloads(
    client: QdrantClient,
) -> None:
    before = dense_vectors(client, "c")
    payloads = {str(r.id): r.payload for r in client.scroll("c", limit=100)[0]}
    said: list[str] = []
    assert reindex(client, "c", avg_len=100, say=said.append) == len(ALERTS)
    assert is_current(client.get_collection("c"))
    assert not client.collection_exists(reindex_name("c"))
    assert same_vectors(dense_vectors(client, "c"), before)
    assert {str(r.id): r.payload for r in client.scroll("c", limit=100)[0]} == payloads
    assert search(client, "restic-nas-29183460-x7k2p") == ["restic"]
    assert (
        said[-1]
        == f"collection 'c' reindexed: {len(ALERTS)} points, dense vectors kept, BM25 added"
    )
    assert reindex(client, "c", avg_len=100, say=said.append) == 0
    assert "already" in said[-1]


def test_a_copy_that_stopped_halfway_is_made_again(client: QdrantClient) -> None:
    client.create_collection(
        reindex_name("c"), vectors_config=models.VectorParams(size=DIM,
        distance=models.Distance.COSINE), metadata={MODEL_KEY: MODEL},
    )  # fmt: skip
    assert reindex(client, "c", avg_len=100, say=lambda _: None) == len(ALERTS)
    assert search(client, "pihole-0")[0] == "pihole"


def test_a_replacement_that_stopped_halfway_is_completed_from_the_complete_copy(
    client: QdrantClient,
) -> None:
    reindex(client, "c", avg_len=100, say=lambda _: None)
    # As if the last run stopped after deleting the original: only the marked copy is left.
    store = QdrantStore(client, collection="c", local=True)
    store.ensure_collection(dim=DIM, model=MODEL)
    vectors = dense_vectors(client, "c")
    records = client.scroll("c", limit=100, with_vectors=True)[0]
    create_collection(client, reindex_name("c"), dim=DIM, model=MODEL)
    metadata = client.get_collection(reindex_name("c")).config.metadata or {}
    client.update_collection(reindex_name("c"), metadata={**metadata, COMPLETE_KEY: True})
    client.upsert(reindex_name("c"), points=[
        models.PointStruct(id=r.id, vector=r.vector, payload=r.payload) for r in records
    ])  # fmt: skip
    client.delete_collection("c")
    with pytest.raises(ConfigurationError, match="unfinished"):
        store.ensure_collection(dim=DIM, model=MODEL)  # never serves a half-made collection
    assert reindex(client, "c", avg_len=100, say=lambda _: None) == len(ALERTS)
    assert same_vectors(dense_vectors(client, "c"), vectors)


def test_a_collection_not_made_by_cluster_cortex_is_left_alone(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "other"))
    client.create_collection("c", vectors_config=models.VectorParams(
        size=DIM, distance=models.Distance.COSINE))  # fmt: skip
    with pytest.raises(ConfigurationError, match="not created by cluster-cortex"):
        reindex(client, "c", avg_len=100, say=lambda _: None)
    assert client.collection_exists("c") and not client.collection_exists(reindex_name("c"))
    with pytest.raises(ConfigurationError, match="no Qdrant collection 'missing'"):
        reindex(client, "missing", avg_len=100, say=lambda _: None)
    client.close()
