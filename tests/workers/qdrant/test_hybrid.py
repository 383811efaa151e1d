"""Hybrid search in qdrant-client's local mode: pasted identifiers first, paraphrases as dense.

Dense vectors are the development embedder's word-hash vectors: a look-alike sharing most
words of a pasted PVC name outranks the alert that holds it, as dense models do with ids.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qdrant_client import QdrantClient, models

from common.alertmanager import Notification
from common.embedding.wordhash import embed_text
from common.errors import ConfigurationError
from common.items import AlertItem, alert_item
from common.points import FUSIONS, Fusion, Point, SearchMode, SearchQuery
from common.text import alert_text
from tests.support import payloads
from workers.embedding import make_point
from workers.qdrant.collection import MODEL_KEY, TEXT_KEY, reindex_name
from workers.qdrant.opening import open_qdrant_store
from workers.qdrant.store import QdrantStore

DIM = 256
MODEL = "word-hash"
PVC = "pvc-71aa-minio-data"


def alert(fingerprint: str, name: str, pod: str, summary: str, description: str,
          **labels: str) -> AlertItem:  # fmt: skip
    raw = payloads.alert(name, pod=pod, summary=summary, fingerprint=fingerprint)
    raw["annotations"]["description"] = description
    raw["labels"].update(labels)
    notification = Notification.model_validate(payloads.notification(raw))
    return alert_item(notification.alerts[0], notification)


ALERTS = [
    alert("target", "KubePersistentVolumeFillingUp", "minio-7f9c6d5b8-2xk4j",
          "PersistentVolume is filling up",
          f"The volume claimed by {PVC} in namespace minio has 2% free space left; writes fail"
          " with no space left on device", namespace="minio", persistentvolumeclaim=PVC),
    alert("look-alike", "KubePersistentVolumeFillingUp", "minio-7f9c6d5b8-9qwrt",
          "minio data PVC is filling up", "pvc minio data volume: minio data nearly full",
          namespace="minio", persistentvolumeclaim="pvc-93bd-minio-data"),
    alert("postgres", "KubePersistentVolumeFillingUp", "postgres-0",
          "postgres data PVC is filling up", "pvc postgres data volume nearly full",
          namespace="db", persistentvolumeclaim="pvc-5e2c-postgres-data"),
    alert("minio-crash", "KubePodCrashLooping", "minio-7f9c6d5b8-h4zfx",
          "minio pod crash looping", "minio data pvc mount failed", namespace="minio"),
    alert("pihole", "KubePodNotReady", "pihole-0", "Pod pihole-0 is not ready",
          "FTL exited: port 53 already in use", namespace="dns"),
    alert("restic", "KubeJobFailed", "restic-nas-29183460-x7k2p",
          "Job restic-nas-29183460 failed", "restic: unable to create lock in backend:"
          " repository is already locked", namespace="backup", job_name="restic-nas-29183460"),
]  # fmt: skip


def vector(text: str) -> list[float]:
    return embed_text(text, DIM)


def point(item: AlertItem) -> Point:
    return make_point(item.point_id, "alert", vector(alert_text(item)), item.payload(), avg_len=100)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[QdrantStore]:
    store = open_qdrant_store(url=None, path=str(tmp_path / "q"), collection="c", timeout_s=5)
    store.ensure_collection(dim=DIM, model=MODEL)
    store.upsert([point(item) for item in ALERTS])
    yield store
    store.close()


def ranking(store: QdrantStore, text: str, mode: SearchMode, fusion: Fusion = "boost",
            **options: Any) -> list[str]:  # fmt: skip
    query = SearchQuery(text=text, vector=vector(text), mode=mode, fusion=fusion)
    hits = store.search(query, kind=options.get("kind"), limit=options.get("limit", 10))
    return [hit.payload["fingerprint"] for hit in hits]


def test_a_pasted_identifier_dense_ranks_below_a_look_alike_is_rank_1_in_hybrid(
    store: QdrantStore,
) -> None:
    assert ranking(store, PVC, "dense")[:2] == ["look-alike", "target"]
    assert ranking(store, PVC, "sparse")[0] == "target"
    assert ranking(store, PVC, "hybrid")[0] == "target"  # the default fusion, boost
    assert ranking(store, PVC, "hybrid", "dbsf")[0] == "target"
    # Equal-weight RRF ties first and second of each list; a dense re-sort keeps dense's order.
    assert ranking(store, PVC, "hybrid", "rerank")[0] == "look-alike"
    assert ranking(store, f"what fixed {PVC} last time?", "hybrid")[0] == "target"


def test_a_question_pasting_nothing_is_ranked_exactly_as_the_dense_model_ranks_it(
    store: QdrantStore,
) -> None:
    question = "the backup repository stays locked"
    assert ranking(store, question, "hybrid") == ranking(store, question, "dense")
    assert len(ranking(store, question, "hybrid")) == len(ALERTS)


@pytest.mark.parametrize("fusion", FUSIONS)
def test_every_fusion_runs_in_one_query_and_honours_kind_and_limit(
    store: QdrantStore, fusion: Fusion
) -> None:
    chat = Point(id="9b2f0f7e-93a4-5bb4-9f38-3c3f1c2ab001", kind="chat",
                 vector=vector(PVC), payload={"fingerprint": "chat", "text": PVC})  # fmt: skip
    store.upsert([chat])
    alerts = ranking(store, PVC, "hybrid", fusion, kind="alert", limit=3)
    assert len(alerts) == 3 and "chat" not in alerts
    assert ranking(store, PVC, "hybrid", fusion, kind="chat") == ["chat"]


def test_sparse_mode_needs_no_embedding_and_a_wordless_query_finds_nothing(
    store: QdrantStore,
) -> None:
    hits = store.search(SearchQuery(text="restic-nas-29183460-x7k2p", mode="sparse"),
                        kind=None, limit=5)  # fmt: skip
    assert [hit.payload["fingerprint"] for hit in hits] == ["restic"]
    assert store.search(SearchQuery(text="?!", mode="sparse"), kind=None, limit=5) == []


def test_a_point_queued_without_a_sparse_vector_gets_one_from_its_payload(
    store: QdrantStore,
) -> None:
    late = alert("late", "KubeJobFailed", "nightly-28512345-q9x8z", "Job failed", "exit code 2")
    queued = Point(id=late.point_id, kind="alert", vector=vector("x"), payload=late.payload())
    store.upsert([queued])  # as a release before hybrid search queued it
    hits = store.search(SearchQuery(text="nightly-28512345-q9x8z", mode="sparse"),
                        kind=None, limit=5)  # fmt: skip
    assert [hit.payload["fingerprint"] for hit in hits] == ["late"]


def old_collection(path: Path, **metadata: Any) -> None:
    """A collection as the release before hybrid search created it: one dense vector."""
    client = QdrantClient(path=str(path))
    client.create_collection(
        "c", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        metadata={MODEL_KEY: MODEL, "cortex_dim": DIM, **metadata},
    )  # fmt: skip
    client.close()


def test_a_collection_without_bm25_vectors_asks_for_cortex_reindex(tmp_path: Path) -> None:
    old_collection(tmp_path / "q")
    store = open_qdrant_store(url=None, path=str(tmp_path / "q"), collection="c", timeout_s=5)
    with pytest.raises(ConfigurationError, match=r"no BM25 sparse vectors.*run `cortex reindex`"):
        store.ensure_collection(dim=DIM, model=MODEL)
    store.close()


def test_another_text_version_or_an_unfinished_reindex_asks_for_cortex_reindex(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "q"
    QdrantStore(QdrantClient(path=str(folder)), collection="c", local=True).ensure_collection(
        dim=DIM, model=MODEL
    )
    client = QdrantClient(path=str(folder))
    client.update_collection("c", metadata={TEXT_KEY: 1})
    with pytest.raises(ConfigurationError, match=r"text version 1, this release from 2.*reindex"):
        QdrantStore(client, collection="c", local=True).ensure_collection(dim=DIM, model=MODEL)
    client.create_collection(reindex_name("c"), vectors_config=models.VectorParams(
        size=DIM, distance=models.Distance.COSINE))  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"unfinished.*run `cortex reindex` again"):
        QdrantStore(client, collection="c", local=True).ensure_collection(dim=DIM, model=MODEL)
    client.close()
