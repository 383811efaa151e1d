"""`python -m bench.recall`: how often the right past incident or conversation comes back.

A labelled homelab set (`data/`) is loaded through the real webhook and chat endpoints of a
stack on loopback and every question is asked through `GET /v1/search`: recall@1, recall@5
and MRR@10 per question kind for the word-hash double, dense, BM25 and hybrid search.
"""
