"""The dashboard's own queries, evaluated by the run's Prometheus, kept as one JSON recording.

Each target's PromQL is sent as Grafana would send it (variables filled in), so the picture
shows exactly what the shipped panels show. The recording holds the dashboard it was made
with, so it can be drawn again later without running anything.
"""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.dashboard.scenario import Phase
from bench.dashboard.stack import NAMESPACE, SCRAPE_INTERVAL_S, Stack

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "cluster-cortex.json"
# Grafana's $__rate_interval is at least four scrape intervals; a little more smooths the
# one-second scrapes of a compressed run the way a 15 s scrape smooths a real one.
RATE_INTERVAL = f"{15 * SCRAPE_INTERVAL_S}s"
STEP_S = 2.0
Recording = dict[str, Any]


def promql(expr: str) -> str:
    """A target's expression with the dashboard's variables filled in."""
    return expr.replace("$__rate_interval", RATE_INTERVAL).replace("$namespace", NAMESPACE)


def data_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel but the row headers."""
    return [p for p in board["panels"] if p["type"] != "row"]


def record(stack: Stack, *, start: float, end: float, phases: list[Phase]) -> Recording:
    """Every target of every panel over [start, end]."""
    board = json.loads(DASHBOARD.read_text())
    results: dict[str, list[dict[str, Any]]] = {}
    for panel in data_panels(board):
        results[str(panel["id"])] = [
            {"refId": t["refId"], "series": _series(stack, t["expr"], start, end)}
            for t in panel["targets"]
        ]
    return {"start": start, "end": end, "step_s": STEP_S, "dashboard": board,
            "phases": [asdict(p) for p in phases], "results": results}  # fmt: skip


def _series(stack: Stack, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    found = stack.query_range(promql(expr), start=start, end=end, step_s=STEP_S)
    return [
        {"labels": s["metric"], "values": [[float(t), float(v)] for t, v in s["values"]]}
        for s in found
    ]


def save(recording: Recording, path: Path) -> None:
    """Write a recording."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recording))


def load(path: Path) -> Recording:
    """Read a recording written by `save`."""
    recording: Recording = json.loads(path.read_text())
    return recording
