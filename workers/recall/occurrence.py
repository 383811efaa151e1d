"""Alert occurrences as recall tells them: identity, duration, and how often an alert fires.

An alert's identity is its alertname, namespace and workload. The workload is named by the
labels that say which one it is, a pod's with its pod-template hash and random suffix stripped
(`common.identifiers.workload_name`), so a re-created pod (a new fingerprint, since its pod
label changed) is still the same alert firing again.
"""

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.identifiers import workload_name
from common.recall import CUT_MARKER, SUMMARY_CHARS, Before, Label, Occurrence

# Which label names the workload, most specific first; pods and jobs carry generated parts.
_WORKLOAD_LABELS = (
    "deployment", "statefulset", "daemonset", "cronjob", "pod", "job_name",
    "persistentvolumeclaim", "node", "instance",
)  # fmt: skip
_GENERATED = frozenset({"pod", "job_name"})
# "frequent" from this many occurrences in 30 days (about weekly or more), as PagerDuty
# labels a service's recurring incidents; one occurrence alone is "new", else "rare".
FREQUENT_30D = 5


@dataclass(frozen=True)
class Identity:
    """Which alert: a field left None matches any value when used as a pattern."""

    alertname: str
    namespace: str | None
    workload: str | None

    def matches(self, other: "Identity") -> bool:
        """Whether `other` is this identity, a None field of this one matching anything."""
        return (
            self.alertname == other.alertname
            and self.namespace in (None, other.namespace)
            and self.workload in (None, other.workload)
        )


class Cuts:
    """Cuts long texts with the marker, remembering whether it cut or left out anything."""

    def __init__(self) -> None:
        self.any = False

    def note(self, left_out: bool) -> None:
        """Record that something was left out of the answer (a section or scan at its cap)."""
        self.any = self.any or left_out

    def cut(self, text: str, max_chars: int) -> str:
        """The text, or its start and the marker when it is longer than `max_chars`."""
        if len(text) <= max_chars:
            return text
        self.any = True
        return text[: max_chars - len(CUT_MARKER)].rstrip() + CUT_MARKER


def workload(labels: Mapping[str, str]) -> str | None:
    """The workload an alert is about, from its labels; None for a cluster-wide alert."""
    for key in _WORKLOAD_LABELS:
        if value := labels.get(key):
            return (workload_name(value) or value) if key in _GENERATED else value
    return None


def identity(payload: Mapping[str, Any]) -> Identity:
    """A stored alert's identity."""
    labels: Mapping[str, str] = payload.get("labels") or {}
    name = str(payload.get("alertname") or labels.get("alertname") or "")
    return Identity(name, labels.get("namespace") or None, workload(labels))


def moment(text: str) -> datetime:
    """An RFC 3339 time as stored (`Z` or an offset, maybe fractional seconds)."""
    return datetime.fromisoformat(text)


def duration_s(payload: Mapping[str, Any]) -> float | None:
    """How long a resolved occurrence lasted; None while it fires (or with no usable end)."""
    ends = payload.get("endsAt")
    if payload.get("status") != "resolved" or not ends:
        return None
    seconds = (moment(ends) - moment(str(payload["startsAt"]))).total_seconds()
    return seconds if seconds >= 0 else None


def occurrence(payload: Mapping[str, Any], cuts: Cuts) -> Occurrence:
    """The occurrence a stored alert payload describes, its summary cut to size."""
    who = identity(payload)
    return Occurrence(
        fingerprint=str(payload.get("fingerprint") or ""),
        alertname=who.alertname,
        namespace=who.namespace,
        workload=who.workload,
        severity=payload.get("severity") or None,
        summary=cuts.cut(str(payload.get("summary") or ""), SUMMARY_CHARS),
        startsAt=str(payload["startsAt"]),
        endsAt=payload.get("endsAt"),
        status=str(payload.get("status") or ""),
        duration_s=duration_s(payload),
    )


def label(count_to_date: int, last_30d: int) -> Label:
    """new (this is the only one), frequent (FREQUENT_30D or more in 30 days), or rare."""
    if count_to_date <= 1:
        return "new"
    return "frequent" if last_30d >= FREQUENT_30D else "rare"


def summarize(occurrences: Iterable[Occurrence], *, at: datetime, limit: int) -> Before:
    """The `Before` of one identity's occurrences, looking back from `at`; newest first."""
    newest_first = sorted(occurrences, key=lambda o: moment(o.startsAt), reverse=True)
    to_date = [o for o in newest_first if moment(o.startsAt) <= at]

    def since(days: int) -> int:
        return sum(moment(o.startsAt) > at - timedelta(days=days) for o in to_date)

    durations = [o.duration_s for o in to_date if o.duration_s is not None]
    last_30d = since(30)
    return Before(
        occurrences=newest_first[:limit],
        last_7d=since(7),
        last_30d=last_30d,
        typical_duration_s=statistics.median(durations) if durations else None,
        label=label(len(to_date), last_30d),
    )


def empty_before() -> Before:
    """The `Before` of a free-text recall: no alert, so no history and no label."""
    return Before(occurrences=[], last_7d=0, last_30d=0, typical_duration_s=None, label=None)
