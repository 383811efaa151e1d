"""Alert storms and cluster-cortex's own alerts cost one embedding per digest, not one per alert."""

import time

from tests.support import payloads
from tests.support.stack import Stack

STORM = {"CORTEX_STORM_THRESHOLD": "5", "CORTEX_STORM_WINDOW_S": "4"}


def at_window_start(window_s: float = 4) -> None:
    """Start posting just after a window boundary, so a burst falls in one window."""
    time.sleep(window_s - time.time() % window_s + 0.05)


def documents(stack: Stack) -> list[str]:
    return [t for t in stack.embedder.stats()["texts"] if t.startswith("search_document")]


def test_a_storm_in_one_notification_is_one_digest_and_every_member_is_findable(
    make_stack: type[Stack],
) -> None:
    stack = make_stack(**STORM).full()
    storm = [
        payloads.alert(
            "KubePodNotReady", fingerprint=f"s{i}", pod=f"immich-{i}", severity="warning"
        )
        for i in range(12)
    ]
    at_window_start()
    answer = stack.post("/v1/alerts/alertmanager", payloads.notification(*storm))
    assert answer.json()["accepted"] == 12
    assert stack.stats()["digests_pending"] == 1  # until its window closes
    stack.wait_stored("alert", 12, timeout_s=30)
    [digest] = documents(stack)
    assert digest.startswith("search_document: Alert storm digest: 12 alerts")
    hits = stack.search("immich-7 KubePodNotReady", kind="alert", limit=50)
    pods = {hit["payload"]["labels"]["pod"] for hit in hits}
    assert pods == {f"immich-{i}" for i in range(12)}
    assert all(hit["payload"]["digest_size"] == 12 for hit in hits)


def test_an_alertname_storm_across_notifications_is_coalesced_past_the_threshold(
    make_stack: type[Stack],
) -> None:
    stack = make_stack(**STORM).full()
    at_window_start()
    for i in range(8):
        alert = payloads.alert("KubeHpaMaxedOut", fingerprint=f"h{i}", pod=f"hpa-{i}")
        stack.post("/v1/alerts/alertmanager", payloads.notification(alert))
    stack.wait_stored("alert", 8, timeout_s=30)
    texts = documents(stack)
    singles = [t for t in texts if "storm digest" not in t]
    digests = [t for t in texts if "storm digest" in t]
    assert len(singles) == 5 and len(digests) == 1 and "3 alerts" in digests[0]


def test_alerts_about_cluster_cortex_itself_never_escalate_work(make_stack: type[Stack]) -> None:
    stack = make_stack(**STORM).full()
    own = []
    for i in range(6):
        alert = payloads.alert(
            "KubePodCrashLooping", fingerprint=f"own{i}", pod=f"cortex-worker-{i}"
        )
        alert["labels"]["namespace"] = "cluster-cortex"
        own.append(alert)
    at_window_start()
    for alert in own:  # one notification each, as separate groups would arrive
        stack.post("/v1/alerts/alertmanager", payloads.notification(alert))
    stack.wait_stored("alert", 6, timeout_s=30)
    assert len(documents(stack)) == 1
