"""The gateway benchmark: cluster-cortex's webhook intake against a bare FastAPI + LPUSH endpoint.

wrk (alertmanager.lua: realistic Alertmanager v4 notifications) drives both servers (servers.py,
baseline.py) identically, in alternating slices (run.py), for each scenario: unique alerts
(saturated, then paced), half duplicates, and a sustained storm of one alertname. meter.py and
backend.py measure the servers and the throwaway Redis; report.py prints rates, latencies, CPU
per accepted alert and RSS side by side, with verdicts against the issue's targets.

Run it with `.venv/bin/python -m bench.gateway [--quick]`.
"""
