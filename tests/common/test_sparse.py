"""BM25 sparse vectors and identifier tokens: Qdrant's recipe, and pasted names kept whole."""

import math

import mmh3
import pytest

from common import identifiers, sparse
from common.alertmanager import Notification
from common.items import alert_item
from common.text import TEXT_VERSION, alert_text, document_text
from tests.support import payloads


def weight(tf: int, length: int, avg_len: float) -> float:
    """BM25's term-frequency part, written out as the issue states it."""
    k, b = 1.2, 0.75
    return tf * (k + 1) / (tf + k * (1 - b + b * length / avg_len))


def test_token_ids_are_abs_of_signed_32_bit_murmur3() -> None:
    for token in ("minio", "pvc-71aa-minio-data", "enospc", "ü"):
        signed = mmh3.hash(token, 0, signed=True)
        assert sparse.token_id(token) == abs(signed) < 2**32
    assert any(mmh3.hash(t) < 0 for t in ("a", "b", "c", "d"))  # abs matters


def test_tokens_are_lower_case_words_split_on_non_word_characters() -> None:
    assert sparse.tokens("Disk FULL: /var/lib, ENOSPC!") == ["disk", "full", "var", "lib", "enospc"]


def test_document_weights_follow_bm25_with_the_documents_length() -> None:
    text = "minio minio disk full"  # 4 tokens, no identifiers
    vector = sparse.document_vector(text, avg_len=10)
    by_id = dict(zip(vector.indices, vector.values, strict=True))
    assert vector.indices == sorted(set(vector.indices))
    assert by_id[sparse.token_id("minio")] == pytest.approx(weight(2, 4, 10))
    assert by_id[sparse.token_id("disk")] == pytest.approx(weight(1, 4, 10))
    # A longer document weighs the same term frequency less; avg_len is the pivot.
    assert weight(1, 4, 10) > weight(1, 40, 10)
    assert sparse.document_weights([1], length=10, avg_len=10) == [pytest.approx(1.0)]


def test_query_weighs_each_distinct_token_one() -> None:
    vector = sparse.query_vector("minio minio down")
    assert sorted(vector.indices) == sorted({sparse.token_id("minio"), sparse.token_id("down")})
    assert vector.values == [1.0, 1.0]


def test_whole_identifiers_and_workload_names_are_extra_tokens() -> None:
    text = "pod minio-7f9c6d5b8-2xk4j lost pvc-71aa-minio-data on node nuc-2.lan"
    found = sparse.tokens(text)
    for token in ("minio-7f9c6d5b8-2xk4j", "pvc-71aa-minio-data", "nuc-2.lan", "7f9c6d5b8"):
        assert token in found
    # The pod-template hash and suffix stripped: "why does minio crash" finds the pod.
    assert found.count("minio") == 3  # the word in the pod name, the PVC's, and the workload


@pytest.mark.parametrize(
    ("name", "workload"),
    [
        ("minio-7f9c6d5b8-2xk4j", "minio"),  # Deployment: template hash and suffix
        ("kube-state-metrics-6c4d8b9f7d-x2x4z", "kube-state-metrics"),
        ("mailu-front-7d9c5", "mailu-front"),  # DaemonSet or Job: suffix
        ("pihole-0", "pihole"),  # StatefulSet ordinal
        ("backup-28512345", "backup"),  # a CronJob's Job
        ("pvc-71aa-minio-data", None),
        ("grafana-agent", None),  # "agent" is a word, not a generated suffix
        ("2026-04-15", None),
    ],
)
def test_workload_names_strip_generated_parts_only(name: str, workload: str | None) -> None:
    assert identifiers.workload_name(name) == workload


@pytest.mark.parametrize(
    ("query", "pasted"),
    [
        ("what fixed minio-7f9c6d5b8-2xk4j?", ["minio-7f9c6d5b8-2xk4j"]),
        ("pvc-71aa-minio-data is full", ["pvc-71aa-minio-data"]),
        ("write failed: ENOSPC", ["enospc"]),
        ("pods stuck in CrashLoopBackOff", ["crashloopbackoff"]),
        ("x509 certificate expired", ["x509"]),
        ("database says SQLITE_BUSY", ["sqlite_busy"]),
        ("cloudflare error 6003", ["6003"]),
        ("the ad blocker stopped answering lookups", []),
        ("why does minio keep restarting", []),
        ("the key-value store rejects writes, DNS is fine", []),
    ],
)
def test_pasted_identifiers_are_told_apart_from_plain_questions(
    query: str, pasted: list[str]
) -> None:
    assert identifiers.pasted(query) == pasted


def test_pasted_vector_is_empty_for_a_paraphrase() -> None:
    assert sparse.pasted_vector("the disk filled up overnight").indices == []
    [index] = sparse.pasted_vector("minio-7f9c6d5b8-2xk4j").indices
    assert index == sparse.token_id("minio-7f9c6d5b8-2xk4j")


def test_alert_text_counts_alertname_words_summary_description_and_workload() -> None:
    raw = payloads.alert("KubePersistentVolumeFillingUp", pod="minio-7f9c6d5b8-2xk4j")
    raw["labels"] |= {"persistentvolumeclaim": "pvc-71aa-minio-data", "uid": "4b0e-aa"}
    notification = Notification.model_validate(payloads.notification(raw))
    item = alert_item(notification.alerts[0], notification)
    text = alert_text(item)
    assert text.startswith("Alert KubePersistentVolumeFillingUp (Kube Persistent Volume Filling")
    for part in (raw["annotations"]["summary"], raw["annotations"]["description"],
                 "persistentvolumeclaim pvc-71aa-minio-data", "(workload minio)"):  # fmt: skip
        assert part in text
    assert "4b0e" not in text and "firing" not in text and "09:41" not in text
    # The payload alone gives the same text: reindexing recomputes the same sparse vector.
    assert document_text("alert", item.payload()) == text
    assert TEXT_VERSION == 2


def test_avg_len_default_sits_between_alert_and_chat_lengths() -> None:
    raw = payloads.notification(payloads.alert())
    notification = Notification.model_validate(raw)
    length = len(sparse.tokens(alert_text(alert_item(notification.alerts[0], notification))))
    assert 30 < length < sparse.DEFAULT_AVG_LEN < 350
    assert math.isclose(sparse.K1, 1.2) and math.isclose(sparse.B, 0.75)
