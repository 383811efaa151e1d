"""The set's own rules, so a number it yields means what its question kinds say.

A paraphrase must share no key word with the alerts it is about (else it measures word
overlap, which the word-hash double already has); a pasted identifier must occur in exactly
the items it names (else its relevance labels are incomplete); a "fix" question asks for
conversations only, a "both" question for an alert and a conversation.
"""

import re
from collections import Counter

from bench.recall.dataset import KINDS, AlertCase, ChatCase, Question, RecallSet

MIN_ALERTS, MIN_CHATS, MIN_QUESTIONS = 30, 15, 40
_ROLES = {"user", "assistant", "system"}
_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_STOPWORD_TEXT = (
    "a an the and or of to in on for is are was were be been it its our we us my one not no"
    " can s t don by so from with at as this that what how did do does any into too because"
    " away all after when has have had get gets new rest"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def key_words(text: str) -> set[str]:
    """Lower-case words, camel case split too, a plural's s dropped, stop words left out."""
    words: set[str] = set()
    for token in _WORD.findall(text):
        words.update(w.lower() for w in (token, *_CAMEL.findall(token)))
    stemmed = {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words}
    return {w for w in stemmed if w not in _STOPWORDS}


def problems(recall_set: RecallSet) -> list[str]:
    """Everything wrong with the set, one line each; empty when it is well-formed."""
    found = [*_sizes(recall_set), *_unique_ids(recall_set)]
    found += [p for a in recall_set.alerts for p in _alert_problems(a)]
    found += [p for c in recall_set.chats for p in _chat_problems(c)]
    found += [p for q in recall_set.questions for p in _question_problems(q, recall_set)]
    return found


def _sizes(recall_set: RecallSet) -> list[str]:
    found = []
    for what, have, least in (
        ("alerts", len(recall_set.alerts), MIN_ALERTS),
        ("conversations", len(recall_set.chats), MIN_CHATS),
        ("questions", len(recall_set.questions), MIN_QUESTIONS),
    ):
        if have < least:
            found.append(f"{have} {what}, at least {least} wanted")
    kinds = Counter(q.kind for q in recall_set.questions)
    found += [f"no question of kind {kind!r}" for kind in KINDS if not kinds[kind]]
    found += [f"unknown question kind {kind!r}" for kind in kinds if kind not in KINDS]
    return found


def _unique_ids(recall_set: RecallSet) -> list[str]:
    ids = Counter([*(a.doc_id for a in recall_set.alerts), *(c.doc_id for c in recall_set.chats)])
    labels = Counter(tuple(sorted(a.labels.items())) for a in recall_set.alerts)
    found = [f"{doc_id} defined {n} times" for doc_id, n in ids.items() if n > 1]
    return found + [f"two alerts with labels {dict(k)}" for k, n in labels.items() if n > 1]


def _alert_problems(alert: AlertCase) -> list[str]:
    missing = [k for k in ("alertname", "severity") if not alert.labels.get(k)]
    missing += [k for k in ("summary", "description") if not alert.annotations.get(k)]
    return [f"{alert.doc_id}: no {k}" for k in missing]


def _chat_problems(chat: ChatCase) -> list[str]:
    if not chat.messages:
        return [f"{chat.doc_id}: no messages"]
    return [f"{chat.doc_id}: role {m.role!r}" for m in chat.messages if m.role not in _ROLES]


def _question_problems(question: Question, recall_set: RecallSet) -> list[str]:
    documents = recall_set.documents()
    unknown = [doc_id for doc_id in question.relevant if doc_id not in documents]
    if unknown or not question.relevant:
        return [f"{question.text!r}: relevant ids {unknown or 'missing'} not in the set"]
    kinds = {doc_id.split(":", 1)[0] for doc_id in question.relevant}
    if question.kind == "fix" and kinds != {"chat"}:
        return [f"{question.text!r}: a fix question names conversations only"]
    if question.kind == "both" and kinds != {"alert", "chat"}:
        return [f"{question.text!r}: a both question names an alert and a conversation"]
    if question.kind == "identifier":
        return _identifier_problems(question, recall_set)
    if question.kind == "paraphrase":
        return _paraphrase_problems(question, recall_set)
    return []


def _identifier_problems(question: Question, recall_set: RecallSet) -> list[str]:
    identifier = (question.identifier or "").lower()
    if not identifier or identifier not in question.text.lower():
        return [f"{question.text!r}: an identifier question pastes its `identifier`"]
    holders = {d for d, item in recall_set.documents().items() if identifier in item.text().lower()}
    if holders != set(question.relevant):
        return [f"{question.text!r}: {identifier!r} occurs in {sorted(holders)}"]
    return []


def _paraphrase_problems(question: Question, recall_set: RecallSet) -> list[str]:
    documents = recall_set.documents()
    alerts = [documents[d] for d in question.relevant if d.startswith("alert:")]
    if not alerts:
        return [f"{question.text!r}: a paraphrase names the alert it paraphrases"]
    shared = key_words(question.text) & set().union(*(key_words(a.text()) for a in alerts))
    return [f"{question.text!r}: shares {sorted(shared)} with its alert"] if shared else []
