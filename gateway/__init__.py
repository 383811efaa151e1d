"""The thin intake: validates, deduplicates and enqueues; never embeds.

Also answers search (one embedding under the guard's search budget, the lookup by a worker),
recall, alert history and conversations (`reading`, `recall`: asked of the store worker, no
embedding for a stored alert) behind the read token, and `/v1/stats`. May import `common`
(contract, protection, the embedding client); never workers, the CLI or the ingest client.
"""
