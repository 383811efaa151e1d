"""Issue 13's incident, as Alertmanager and LibreChat would send it, around a given time.

Three occurrences of a crash loop of `mail/mailu-front` (the third on a re-created pod: another
pod-template hash, so another fingerprint), the same alert on a workload of another namespace,
a node memory pressure alert five minutes before the third, two unrelated alerts, and a
conversation about the fix beside an unrelated one.
"""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.stack import Stack

CRASH = "KubePodCrashLooping"
FIRST_FP, RECREATED_FP = "a1c0ffee00000001", "a1c0ffee00000002"
OTHER_NS_FP, PRESSURE_FP = "b2c0ffee00000001", "c3c0ffee00000001"
FIX_CONVERSATION = "conv-mailu-fix"
FIX_TEXT = (
    "The front container is killed by its liveness probe while it reloads certificates. "
    "Fix: raise the probe timeoutSeconds to 10 and the memory limit to 512Mi, then "
    "kubectl rollout restart deployment/mailu-front -n mail."
)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert(name: str, fingerprint: str, start: datetime, *, minutes: float | None,
          summary: str, description: str = "", **labels: str) -> dict[str, Any]:  # fmt: skip
    """One Alertmanager alert; resolved after `minutes`, firing when None."""
    end = None if minutes is None else start + timedelta(minutes=minutes)
    return {
        "status": "firing" if end is None else "resolved",
        "labels": {"alertname": name, "severity": "warning", **labels},
        "annotations": {"summary": summary, "description": description},
        "startsAt": _rfc3339(start),
        "endsAt": "0001-01-01T00:00:00Z" if end is None else _rfc3339(end),
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def crash(fingerprint: str, pod: str, start: datetime, minutes: float | None,
          namespace: str = "mail") -> dict[str, Any]:  # fmt: skip
    """The crash loop alert of one pod."""
    return alert(
        CRASH, fingerprint, start, minutes=minutes, namespace=namespace, pod=pod,
        container=pod.split("-")[0], node="node02",
        summary=f"Pod {namespace}/{pod} is crash looping",
        description=f"Back-off restarting failed container in pod {pod}: liveness probe failed",
    )  # fmt: skip


def newest_start(now: datetime) -> datetime:
    """When the newest crash loop started: the occurrence recalled."""
    return now - timedelta(hours=1)


def alerts(now: datetime, *, newest_firing: bool = False) -> list[dict[str, Any]]:
    """Every alert of the incident; the newest crash loop firing or resolved after 30 min."""
    newest = newest_start(now)
    return [
        crash(FIRST_FP, "mailu-front-7d9c5b8f4-x2k4j", now - timedelta(days=20), 40),
        crash(FIRST_FP, "mailu-front-7d9c5b8f4-x2k4j", now - timedelta(days=6), 25),
        crash(RECREATED_FP, "mailu-front-5c8d7f9b6-q7w2z", newest, None if newest_firing else 30),
        crash(OTHER_NS_FP, "roundcube-6f8d9c7b5-m4n8p", now - timedelta(days=3), 15, "webmail"),
        alert(
            "NodeMemoryPressure",
            PRESSURE_FP,
            newest - timedelta(minutes=5),
            minutes=12,
            node="node02",
            summary="Node node02 is under memory pressure",
            description="Node node02 has MemoryPressure condition set",
        ),
        alert(
            "KubePersistentVolumeFillingUp",
            "d4c0ffee00000001",
            now - timedelta(days=10),
            minutes=90,
            namespace="minio",
            persistentvolumeclaim="pvc-71aa-minio-data",
            summary="PersistentVolume pvc-71aa-minio-data is filling up",
        ),
        alert(
            "KubeJobFailed",
            "e5c0ffee00000001",
            newest - timedelta(hours=2),
            minutes=5,
            namespace="backup",
            job_name="restic-nas-29183460",
            summary="Job backup/restic-nas-29183460 failed",
        ),
    ]


def notification(*items: dict[str, Any]) -> dict[str, Any]:
    """A version-4 webhook body around the alerts."""
    return {
        "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": "firing",
        "receiver": "cluster-cortex", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": list(items),
    }  # fmt: skip


def chats(now: datetime) -> dict[str, Any]:
    """The conversation about the fix, and an unrelated one."""
    at = newest_start(now) + timedelta(minutes=20)

    def said(i: int, role: str, text: str) -> dict[str, str]:
        return {"id": f"m{i}", "role": role, "text": text,
                "created_at": _rfc3339(at + timedelta(minutes=i))}  # fmt: skip

    fix = [
        said(
            0,
            "user",
            "mailu-front in namespace mail keeps crash looping, liveness probe"
            " failed again after the upgrade",
        ),
        said(1, "assistant", FIX_TEXT),
        said(2, "user", "That fixed it: mailu-front is stable since the restart."),
    ]
    other = [
        said(0, "user", "How do I add a panel for Grafana dashboards per team?"),
        said(1, "assistant", "Use a dashboard provider folder per team in Grafana."),
    ]
    return {
        "source": "librechat",
        "conversations": [
            {"id": FIX_CONVERSATION, "title": "mailu-front crash loop", "messages": fix},
            {"id": "conv-grafana", "title": "Grafana panels", "messages": other},
        ],
    }


def store(stack: "Stack", now: datetime, *, newest_firing: bool = False) -> list[dict[str, Any]]:
    """Post the incident to a running stack and wait until all of it is stored; its alerts.

    Chats go first: the incident's node pressure alert pauses chat work (the feedback-loop
    guard) for its cool-down.
    """
    assert stack.post("/v1/chats", chats(now)).status_code == 202
    stack.wait_stored("chat", 5)
    firing = alerts(now, newest_firing=newest_firing)
    assert stack.post("/v1/alerts/alertmanager", notification(*firing)).ok
    stack.wait_stored("alert", len(firing))
    return firing
