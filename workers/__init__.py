"""Celery workers: embed queued items through Ollama and store them in Qdrant."""
