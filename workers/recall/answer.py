"""Recall's answers, built in the store worker from stored points alone.

A stored alert is ranked against the memory with its own dense and BM25 vectors (one query by
point id), so recalling it costs no embedding call; free text, and a posted alert not yet
stored, come with the embedding the gateway made under the guard's search budget.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from common.points import Fusion
from common.recall import (
    Ask,
    ConversationAsk,
    HistoryAsk,
    Occurrence,
    RecallAnswer,
    RecallAsk,
    RecallReply,
    SimilarGroup,
)
from common.text import alert_document
from workers.recall.memory import Like, Memory, Names, Record
from workers.recall.occurrence import (
    Cuts,
    Identity,
    empty_before,
    identity,
    moment,
    occurrence,
    summarize,
)
from workers.recall.said import conversation, said

# Occurrences read for one identity's history, alerts read around one start, and
# occurrences read to count the similar groups: bounds on one recall's scans.
OCCURRENCE_CAP = 1000
AROUND_CAP = 500
SIMILAR_CAP = 2000
# A posted alert's own text pastes its own pod and node names, which the `boost` fusion would
# rank first: the same workload, not similar ones elsewhere. It is ranked as a stored alert is
# (`workers.qdrant.memory`): an RRF pool of both retrievers, re-sorted by the dense score.
POSTED_FUSION: Fusion = "rerank"


def answer(ask: Ask, memory: Memory, *, now: datetime | None = None) -> RecallReply:
    """The store's reply to one recall, history or conversation request."""
    if isinstance(ask, HistoryAsk):
        pattern = Identity(ask.alertname, ask.namespace, ask.workload)
        cuts = Cuts()
        found = _occurrences(memory, pattern, since=ask.since, cuts=cuts)
        before = summarize(found, at=now or datetime.now(UTC), limit=ask.limit)
        return RecallReply(answer=before.model_dump())
    if isinstance(ask, ConversationAsk):
        found_conversation = conversation(ask.conversation_id, memory)
        if found_conversation is None:
            return RecallReply(not_found=f"no stored conversation {ask.conversation_id!r}")
        return RecallReply(answer=found_conversation.model_dump())
    return recall(ask, memory)


def _occurrences(
    memory: Memory, pattern: Identity, *, since: str | None, cuts: Cuts
) -> list[Occurrence]:
    records = memory.alerts(
        names=[Names(pattern.alertname, pattern.namespace)], since=since, cap=OCCURRENCE_CAP
    )
    cuts.note(len(records) >= OCCURRENCE_CAP)
    return [occurrence(r.payload, cuts) for r in records if pattern.matches(identity(r.payload))]


def _newest(records: Sequence[Record]) -> Record | None:
    return max(records, key=lambda r: moment(str(r.payload["startsAt"])), default=None)


def target(ask: RecallAsk, memory: Memory) -> RecallReply | tuple[Record | None, Like]:
    """The occurrence recalled and what to rank against; a reply when there is none."""
    if ask.text is not None:
        return None, Like(text=ask.text, vector=ask.vector, fusion=ask.fusion)
    if ask.point_id is not None:
        stored = memory.point(ask.point_id)
        if stored is not None:
            return stored, Like(point_id=stored.id)
        if ask.vector is None or ask.payload is None:
            return RecallReply(needs_vector=True)
        posted = Record(ask.point_id, ask.payload)
        return posted, Like(
            text=alert_document(ask.payload), vector=ask.vector, fusion=POSTED_FUSION
        )
    if ask.fingerprint is not None:
        found = memory.alerts(fingerprint=ask.fingerprint, cap=OCCURRENCE_CAP)
        what = f"no stored alert has fingerprint {ask.fingerprint!r}"
    else:
        pattern = Identity(str(ask.alertname), ask.namespace, ask.workload)
        names = [Names(pattern.alertname, pattern.namespace)]
        found = memory.alerts(names=names, cap=OCCURRENCE_CAP)
        found = [r for r in found if pattern.matches(identity(r.payload))]
        what = f"no stored alert matches {pattern.alertname!r} (namespace"
        what += f" {ask.namespace!r}, workload {ask.workload!r})"
    newest = _newest(found)
    if newest is None:
        return RecallReply(not_found=what)
    return newest, Like(point_id=newest.id)


def recall(ask: RecallAsk, memory: Memory) -> RecallReply:
    """An incident-shaped answer: before, around, similar elsewhere and what was said."""
    found = target(ask, memory)
    if isinstance(found, RecallReply):
        return found
    record, like = found
    cuts = Cuts()
    alert, same = (None, []) if record is None else _same_alert(record, ask, memory)
    before = empty_before()
    around: list[Occurrence] = []
    if record is not None and alert is not None:
        occurrences = [occurrence(r.payload, cuts) for r in same]
        at = moment(alert.startsAt)
        before = summarize(occurrences, at=at, limit=ask.limit)
        cuts.note(len(occurrences) > ask.limit or len(same) >= OCCURRENCE_CAP)
        around = _around(at, ask, memory, exclude={r.id for r in same}, cuts=cuts)
    exclude = [r.id for r in same]
    answer = RecallAnswer(
        query={},
        alert=alert,
        before=before,
        around=around,
        similar=_similar(like, ask, memory, exclude=exclude, who=alert, cuts=cuts),
        discussed=said(like, memory, limit=ask.limit, since=ask.since, cuts=cuts),
        truncated=False,
    )
    answer.truncated = cuts.any
    return RecallReply(answer=answer.model_dump())


def _same_alert(record: Record, ask: RecallAsk, memory: Memory) -> tuple[Occurrence, list[Record]]:
    """The recalled occurrence, and every stored occurrence of the same alert (itself too)."""
    who = identity(record.payload)
    fingerprint = str(record.payload.get("fingerprint") or "")
    records = memory.alerts(
        fingerprint=fingerprint or None, names=[Names(who.alertname, who.namespace)],
        since=ask.since, cap=OCCURRENCE_CAP,
    )  # fmt: skip
    same = [
        r
        for r in records
        if (fingerprint and r.payload.get("fingerprint") == fingerprint)
        or identity(r.payload) == who
    ]
    if record.id not in {r.id for r in same}:
        same.append(record)
    return occurrence(record.payload, Cuts()), same


def _around(
    at: datetime, ask: RecallAsk, memory: Memory, *, exclude: set[str], cuts: Cuts
) -> list[Occurrence]:
    """Other alerts that started within the window around `at`: the closest, by time.

    With a namespace filter, alerts of no namespace (a node's, the cluster's) still count:
    a node under pressure is news to every namespace on it.
    """
    window = timedelta(seconds=ask.window_s)
    records = memory.started_between(_iso(at - window), _iso(at + window), cap=AROUND_CAP)
    cuts.note(len(records) >= AROUND_CAP)
    near = [
        r
        for r in records
        if r.id not in exclude
        and (ask.namespace is None or identity(r.payload).namespace in (None, ask.namespace))
    ]
    near.sort(key=lambda r: abs((moment(str(r.payload["startsAt"])) - at).total_seconds()))
    cuts.note(len(near) > ask.limit)
    closest = [occurrence(r.payload, cuts) for r in near[: ask.limit]]
    return sorted(closest, key=lambda o: moment(o.startsAt))


def _similar(
    like: Like, ask: RecallAsk, memory: Memory, *, exclude: Sequence[str],
    who: Occurrence | None, cuts: Cuts,
) -> list[SimilarGroup]:  # fmt: skip
    """Other alerts ranked like this one, grouped per identity: best score, count, latest."""
    # Grouped by fingerprint in the store (one per label set), then per identity here: a
    # re-created pod's alerts are two fingerprints of one identity. Twice as many groups
    # leave room for those merges.
    best = memory.best_of_groups(
        like, kind="alert", group_by="fingerprint", groups=2 * ask.limit, exclude=exclude,
        namespace=ask.namespace, since=ask.since,
    )  # fmt: skip
    own = None if who is None else Identity(who.alertname, who.namespace, who.workload)
    firsts: dict[Identity, Record] = {}
    for record in best:
        key = identity(record.payload)
        if key != own:
            firsts.setdefault(key, record)
    ranked = list(firsts)[: ask.limit]
    if not ranked:
        return []
    names = list(dict.fromkeys(Names(i.alertname, i.namespace) for i in ranked))
    records = memory.alerts(names=names, since=ask.since, cap=SIMILAR_CAP)
    cuts.note(len(records) >= SIMILAR_CAP)
    return [_group(key, firsts[key], records, cuts) for key in ranked]


def _group(key: Identity, first: Record, records: Sequence[Record], cuts: Cuts) -> SimilarGroup:
    """One identity's group; its count is a lower bound when the scan reached its cap."""
    members = [r for r in records if identity(r.payload) == key] or [first]
    latest = _newest(members) or first
    return SimilarGroup(
        alertname=key.alertname, namespace=key.namespace, workload=key.workload,
        count=len(members), latest=occurrence(latest.payload, cuts), score=first.score,
    )  # fmt: skip


def _iso(moment_: datetime) -> str:
    return moment_.astimezone(UTC).isoformat().replace("+00:00", "Z")
