"""Recall: incident-shaped answers (before, around, similar elsewhere, what was said) built in
the store worker from stored points. `answer` builds them, `occurrence` tells an alert's
identity, duration and frequency, `said` places chat chunks in their conversations, and
`memory` is the Protocol of the store's read side (Qdrant's adapter: workers/qdrant/memory.py).
"""
