#!/usr/bin/env python3
"""Write the Grafana dashboard and its k8s twin from panels.yml (--check: compare only).

The panels are declared in panels.yml rather than drawn in Grafana's editor: ids and positions
follow from the order, every query goes through the `${datasource}` variable and gets the
namespace filter, and the two copies cannot drift apart. There are two because kustomize's
configMapGenerator reads only files inside its kustomization (k8s/base), while compose and a
manual import take deploy/grafana/cluster-cortex.json.
"""

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "deploy" / "grafana" / "panels.yml"
TARGETS = (
    ROOT / "deploy" / "grafana" / "cluster-cortex.json",
    ROOT / "k8s" / "base" / "grafana-dashboard.json",
)
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
NAMESPACE = 'namespace=~"$namespace"'
SELECTOR = re.compile(r"\b((?:cortex|flower)_[a-z0-9_]+)(\{[^}]*\})?")
RUNBOOK = "https://github.com/cluster-cortex/cluster-cortex/blob/main/deploy/RUNBOOK.md"
GRID_COLUMNS = 24
Spec = dict[str, Any]


def scoped(expr: str) -> str:
    """`expr` with the namespace matcher first in every cortex_* and flower_* selector."""

    def add(match: re.Match[str]) -> str:
        inner = (match.group(2) or "{}")[1:-1].strip()
        return f"{match.group(1)}{{{NAMESPACE}{', ' + inner if inner else ''}}}"

    return SELECTOR.sub(add, expr)


def _custom(spec: Spec) -> Spec:
    # Time series only: lines, no points, a threshold drawn as a line where one is set.
    return {
        "drawStyle": "line",
        "lineWidth": 1,
        "fillOpacity": 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "none"},
        "thresholdsStyle": {"mode": "line" if spec.get("thresholds") else "off"},
    }


def _mappings(spec: Spec) -> list[Spec]:
    rows = spec.get("mappings", [])
    if not rows:
        return []
    found = {str(v): {"text": t, "color": c, "index": i} for i, (v, t, c) in enumerate(rows)}
    return [{"type": "value", "options": found}]


def field_config(spec: Spec) -> Spec:
    """Unit, thresholds, value mappings and fixed colours of one panel."""
    kind = spec.get("kind", "timeseries")
    base = "green" if kind == "stat" else "transparent"
    steps = [{"color": base, "value": None}]
    steps += [{"color": color, "value": value} for value, color in spec.get("thresholds", [])]
    defaults: Spec = {
        "unit": spec.get("unit", "short"),
        "min": 0,
        "color": {"mode": "palette-classic" if kind == "timeseries" else "thresholds"},
        "thresholds": {"mode": "absolute", "steps": steps},
        "mappings": _mappings(spec),
    }
    if kind == "timeseries":
        defaults["custom"] = _custom(spec)
    overrides = [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
        }
        for name, color in spec.get("colors", {}).items()
    ]
    return {"defaults": defaults, "overrides": overrides}


def options(kind: str) -> Spec:
    """Legend, tooltip and reduction options for a panel type."""
    legend = {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []}
    if kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "area",
            "textMode": "auto",
            "justifyMode": "auto",
            "orientation": "auto",
        }
    tooltip = {"mode": "single" if kind == "state-timeline" else "multi", "sort": "desc"}
    if kind == "state-timeline":
        return {"showValue": "auto", "mergeValues": True, "rowHeight": 0.9, "legend": legend,
                "tooltip": tooltip}  # fmt: skip
    return {"legend": legend, "tooltip": tooltip}


def panel_json(spec: Spec, pid: int, grid: dict[str, int]) -> Spec:
    """One panel as Grafana stores it."""
    kind = spec.get("kind", "timeseries")
    targets = [
        {
            "datasource": DATASOURCE,
            "expr": scoped(" ".join(q["expr"].split())),
            "legendFormat": q["legend"],
            "refId": chr(ord("A") + i),
            "range": True,
        }
        for i, q in enumerate(spec["queries"])
    ]
    return {
        "id": pid,
        "type": kind,
        "title": spec["title"],
        "description": spec["description"],
        "datasource": DATASOURCE,
        "gridPos": grid,
        "targets": targets,
        "fieldConfig": field_config(spec),
        "options": options(kind),
    }


def layout(rows: list[Spec]) -> list[Spec]:
    """Rows and their panels left to right on Grafana's grid, ids in reading order."""
    panels: list[Spec] = []
    y = 0
    for row in rows:
        grid = {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": y}
        panels.append({"id": len(panels) + 1, "type": "row", "title": row["title"],
                       "collapsed": False, "panels": [], "gridPos": grid})  # fmt: skip
        y, x, line_h = y + 1, 0, 0
        for spec in row["panels"]:
            w, h = spec.get("width", 8), spec.get("height", 8)
            if x + w > GRID_COLUMNS:
                y, x, line_h = y + line_h, 0, 0
            panels.append(panel_json(spec, len(panels) + 1, {"h": h, "w": w, "x": x, "y": y}))
            x, line_h = x + w, max(line_h, h)
        y += line_h
    return panels


def templating() -> Spec:
    """The data source and namespace variables every query goes through."""
    namespaces = "label_values(cortex_queue_depth, namespace)"
    datasource = {"name": "datasource", "label": "Data source", "type": "datasource",
                  "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "",
                  "includeAll": False, "multi": False, "options": []}  # fmt: skip
    # "All" (.*) also matches series without a namespace label: a Prometheus scraping the
    # gateway and Flower without the Operator (compose, static jobs) works unchanged.
    namespace = {"name": "namespace", "label": "Namespace", "type": "query",
                 "datasource": DATASOURCE, "definition": namespaces,
                 "query": {"query": namespaces, "refId": "namespaces"}, "current": {}, "hide": 0,
                 "refresh": 2, "regex": "", "sort": 1, "includeAll": True, "allValue": ".*",
                 "multi": False, "options": []}  # fmt: skip
    return {"list": [datasource, namespace]}


def dashboard(rows: list[Spec]) -> Spec:
    """The whole dashboard document."""
    link = {"title": "Runbook", "type": "link", "url": RUNBOOK, "targetBlank": True,
            "icon": "doc", "tooltip": "What each cluster-cortex alert means"}  # fmt: skip
    annotation = {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                  "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                  "name": "Annotations & Alerts", "type": "dashboard"}  # fmt: skip
    return {
        "uid": "cluster-cortex",
        "title": "cluster-cortex",
        "description": "Intake, embedding-node protection, work in flight and memory growth "
        "of cluster-cortex, from the gateway's and Flower's /metrics.",
        "tags": ["cluster-cortex"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "refresh": "30s",
        "fiscalYearStartMonth": 0,
        "weekStart": "",
        "links": [link],
        "annotations": {"list": [annotation]},
        "templating": templating(),
        "panels": layout(rows),
    }


def render() -> str:
    """The dashboard as the committed JSON text."""
    rows = yaml.safe_load(SOURCE.read_text())["rows"]
    return json.dumps(dashboard(rows), indent=2) + "\n"


def main() -> int:
    """Write both copies, or with --check report whether they are current."""
    wanted = render()
    if "--check" in sys.argv[1:]:
        stale = [t for t in TARGETS if not t.exists() or t.read_text() != wanted]
        for target in stale:
            print(f"{target} is stale: run {Path(__file__).name}", file=sys.stderr)
        return 1 if stale else 0
    for target in TARGETS:
        target.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
