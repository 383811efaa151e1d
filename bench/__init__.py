"""Benchmarks: speed, memory and failure-mode goals measured against a baseline in the same run."""
