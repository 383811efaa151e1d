"""Celery workers: embed queued items through Ollama and store them in Qdrant.

`app` configures Celery, `tasks` defines the tasks and `lifecycle` the worker's hooks; a task
body runs a `job` (gather, embed under the guard, settle), `recovery` and `leases` bring back
work a lost worker held, `qdrant/` owns the vector store, `recall/` builds recall's answers
in the store worker, `controller` replays parked work.
May import `common` (contract, protection, the embedding client); never gateway, the CLI or
the ingest client.
"""
