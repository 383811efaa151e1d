"""Upgrading a collection made before hybrid search: `cortex reindex` on real processes.

The store worker refuses the old collection naming the command; the command (real CLI, local
mode) adds BM25 vectors from the stored payloads without one embedding call; then the stack
serves hybrid and BM25 search over the old points.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from common.alertmanager import Notification
from common.embedding.wordhash import embed_text
from common.items import alert_item
from common.settings import CommonSettings
from common.text import alert_text
from tests.support import payloads
from tests.support.stack import Stack

MODEL = CommonSettings.model_fields["embed_model"].default
DIM = CommonSettings.model_fields["embed_dim"].default
PODS = ("minio-7f9c6d5b8-2xk4j", "minio-7f9c6d5b8-9qwrt", "pihole-0")


def old_collection(folder: Path) -> None:
    """Points as the release before hybrid search stored them: one dense vector, no BM25."""
    client = QdrantClient(path=str(folder))
    client.create_collection(
        "cortex", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        metadata={"cortex_model": MODEL, "cortex_dim": DIM},
    )  # fmt: skip
    points = []
    for i, pod in enumerate(PODS):
        raw = payloads.notification(payloads.alert(pod=pod, fingerprint=f"old{i}"))
        notification = Notification.model_validate(raw)
        item = alert_item(notification.alerts[0], notification)
        vector = embed_text("search_document: " + alert_text(item), DIM)
        points.append(models.PointStruct(id=item.point_id, vector=vector,
                                         payload={**item.payload(), "kind": "alert"}))  # fmt: skip
    client.upsert("cortex", points=points)
    client.close()


def reindex(stack: Stack) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "common.cli", "reindex"], env=stack.env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_an_old_collection_is_upgraded_by_cortex_reindex_without_embedding(
    make_stack: type[Stack],
) -> None:
    stack = make_stack()
    old_collection(stack.tmp / "qdrant")
    with pytest.raises(RuntimeError, match=r"no BM25 sparse vectors.*run `cortex reindex`"):
        stack.worker("store", name="store-old")

    done = reindex(stack)
    assert done.returncode == 0, done.stderr
    assert f"reindexed: {len(PODS)} points" in done.stdout
    assert stack.embedder.stats()["calls"] == 0

    stack.worker("store")
    stack.gateway()
    hits = stack.search(PODS[0], mode="sparse")
    assert hits[0]["payload"]["labels"]["pod"] == PODS[0]
    assert stack.embedder.stats()["calls"] == 0  # BM25 search embeds nothing either
    hits = stack.search(f"what happened to {PODS[0]}", kind="alert")
    assert hits[0]["payload"]["labels"]["pod"] == PODS[0]
    assert len(hits) == len(PODS)
    assert stack.embedder.stats()["calls"] == 1  # the hybrid question's own embedding only
    assert len(stack.search(PODS[2], mode="dense")) == len(PODS)


def test_reindex_refuses_while_the_store_worker_owns_the_folder(make_stack: type[Stack]) -> None:
    stack = make_stack()
    stack.worker("store")
    done = reindex(stack)
    assert done.returncode == 2
    assert "Stop the store worker" in done.stderr and "Traceback" not in done.stderr
    stack.children[-1].stop()
    done = reindex(stack)  # a collection of this release: nothing to do
    assert done.returncode == 0 and "already" in done.stdout, done.stderr
