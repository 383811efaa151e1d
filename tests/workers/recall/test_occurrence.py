"""An alert's identity, duration and frequency as recall tells them."""

from datetime import UTC, datetime, timedelta

import pytest

from common.recall import CUT_MARKER, Occurrence
from workers.recall.occurrence import (
    FREQUENT_30D,
    Cuts,
    Identity,
    duration_s,
    identity,
    label,
    summarize,
    workload,
)

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"pod": "mailu-front-7d9c5b8f4-x2k4j", "node": "n1"}, "mailu-front"),
        ({"pod": "mailu-front-5c8d7f9b6-q7w2z"}, "mailu-front"),
        ({"pod": "pihole-0"}, "pihole"),
        ({"pod": "node-exporter-x7k2p"}, "node-exporter"),
        ({"job_name": "restic-nas-29183460"}, "restic-nas"),
        ({"deployment": "minio", "pod": "minio-7f9c6d5b8-2xk4j"}, "minio"),
        ({"persistentvolumeclaim": "pvc-71aa-minio-data"}, "pvc-71aa-minio-data"),
        ({"node": "k8s-worker-1"}, "k8s-worker-1"),
        ({"severity": "critical"}, None),
    ],
)
def test_the_workload_a_label_set_names(labels: dict[str, str], expected: str | None) -> None:
    assert workload(labels) == expected


def test_identity_and_patterns() -> None:
    labels = {"namespace": "mail", "pod": "mailu-front-7d9c5b8f4-x2k4j"}
    who = identity({"alertname": "KubePodCrashLooping", "labels": labels})
    assert who == Identity("KubePodCrashLooping", "mail", "mailu-front")
    assert Identity("KubePodCrashLooping", None, None).matches(who)
    assert Identity("KubePodCrashLooping", "mail", None).matches(who)
    assert not Identity("KubePodCrashLooping", "webmail", None).matches(who)
    node = identity({"alertname": "NodeMemoryPressure", "labels": {"node": "n1"}})
    assert node == Identity("NodeMemoryPressure", None, "n1")


def test_duration_only_for_resolved_occurrences() -> None:
    start, end = "2026-05-01T10:00:00Z", "2026-05-01T10:30:00.5Z"
    assert duration_s({"status": "resolved", "startsAt": start, "endsAt": end}) == 1800.5
    assert duration_s({"status": "firing", "startsAt": start, "endsAt": end}) is None
    assert duration_s({"status": "resolved", "startsAt": start, "endsAt": None}) is None
    assert duration_s({"status": "resolved", "startsAt": end, "endsAt": start}) is None


def test_labels_and_their_thresholds() -> None:
    assert label(1, 1) == "new" and label(0, 0) == "new"
    assert label(2, 2) == "rare"
    assert label(FREQUENT_30D, FREQUENT_30D) == "frequent"
    assert label(40, FREQUENT_30D - 1) == "rare"  # many, but not lately


def occurred(days_ago: float, minutes: float | None) -> Occurrence:
    start = AT - timedelta(days=days_ago)
    return Occurrence(
        fingerprint="f", alertname="A", namespace="n", workload="w",
        startsAt=start.isoformat(), endsAt=None, status="firing" if minutes is None else "resolved",
        duration_s=None if minutes is None else minutes * 60,
    )  # fmt: skip


def test_summarize_looks_back_from_the_recalled_start() -> None:
    found = [occurred(d, m) for d, m in ((0, None), (1, 10), (3, 20), (10, 60), (40, 5))]
    found.append(occurred(-1, 99))  # a later occurrence: listed, not counted
    before = summarize(found, at=AT, limit=3)
    assert [o.duration_s for o in before.occurrences] == [99 * 60, None, 600]
    assert (before.last_7d, before.last_30d) == (3, 4)
    assert before.typical_duration_s == 15 * 60  # median of 10, 20, 60 and 5 minutes
    assert before.label == "rare"
    assert summarize([occurred(0, None)], at=AT, limit=3).label == "new"


def test_cuts_mark_what_they_cut() -> None:
    cuts = Cuts()
    assert cuts.cut("short", 10) == "short" and not cuts.any
    cut = cuts.cut("x" * 50, 20)
    assert len(cut) == 20 and cut.endswith(CUT_MARKER) and cuts.any
    later = Cuts()
    later.note(False)
    assert not later.any
    later.note(True)
    assert later.any
