"""The whole dashboard in one PNG: a header, the rows, each panel where Grafana's grid puts it.

Figure is used without pyplot: no backend to choose, no display, nothing global.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bench.dashboard import draw
from bench.dashboard.series import Recording, data_panels
from bench.dashboard.stack import NAMESPACE

BACKGROUND = "#111217"
COLUMN_PX, ROW_PX, HEADER_PX, GAP_PX, DPI = 66, 30, 70, 5, 100
TITLE_PX, AXIS_PX, LEGEND_LINE_PX = 24, 16, 13


@dataclass(frozen=True)
class Grid:
    """Converts Grafana grid units and pixels to figure fractions."""

    width_px: float
    height_px: float

    def rect(
        self, x_px: float, top_px: float, w_px: float, h_px: float
    ) -> tuple[float, float, float, float]:
        """[left, bottom, width, height] of a box given from the top-left corner."""
        bottom = self.height_px - top_px - h_px
        return (x_px / self.width_px, bottom / self.height_px,
                w_px / self.width_px, h_px / self.height_px)  # fmt: skip


def series_of(panel: dict[str, Any], rec: Recording) -> list[draw.Series]:
    """Every series of a panel's targets, named by their legendFormat."""
    formats = {t["refId"]: t["legendFormat"] for t in panel["targets"]}
    found = [
        {"name": draw.legend(formats[r["refId"]], s["labels"]), "values": s["values"]}
        for r in rec["results"][str(panel["id"])]
        for s in r["series"]
    ]
    return sorted(found, key=lambda s: str(s["name"]))


def _legend(frame: Axes, handles: list[Line2D], w_px: float, h_px: float) -> None:
    """Draw the legend along the panel's bottom, as many entries a line as fit."""
    if handles:
        frame.legend(handles=handles, loc="lower left", bbox_to_anchor=(6 / w_px, 2 / h_px),
                     ncol=_columns(handles, w_px), frameon=False, fontsize=6.5,
                     labelcolor=draw.TEXT, handlelength=1.2, columnspacing=1.2, borderpad=0,
                     borderaxespad=0)  # fmt: skip


def _frame(
    fig: Figure, grid: Grid, panel: dict[str, Any]
) -> tuple[Axes, float, float, float, float]:
    g = panel["gridPos"]
    x, top = g["x"] * COLUMN_PX + GAP_PX, HEADER_PX + g["y"] * ROW_PX + GAP_PX
    w, h = g["w"] * COLUMN_PX - 2 * GAP_PX, g["h"] * ROW_PX - 2 * GAP_PX
    frame = fig.add_axes(grid.rect(x, top, w, h), facecolor=draw.PANEL)
    frame.set_xticks([])
    frame.set_yticks([])
    for spine in frame.spines.values():
        spine.set_color(draw.BORDER)
    frame.text(8 / w, 1 - 7 / h, panel["title"], transform=frame.transAxes, color=draw.TEXT,
               fontsize=8.5, fontweight="bold", va="top")  # fmt: skip
    return frame, x, top, w, h


def _panel(fig: Figure, grid: Grid, panel: dict[str, Any], rec: Recording) -> None:
    frame, x, top, w, h = _frame(fig, grid, panel)
    found = series_of(panel, rec)
    if panel["type"] == "stat":
        inner = fig.add_axes(grid.rect(x + 6, top + TITLE_PX, w - 12, h - TITLE_PX - 6))
        draw.stat(inner, panel, found, rec)
        return
    probe = [Line2D([], [], label=str(s["name"])) for s in found]
    if panel["type"] == "state-timeline":
        probe = [Line2D([], [], label=m["text"]) for m in _mapping(panel)]
    lines = -(-len(probe) // _columns(probe, w)) if probe else 0
    bottom = AXIS_PX + lines * LEGEND_LINE_PX + 4
    inner = fig.add_axes(grid.rect(x + 50, top + TITLE_PX, w - 58, h - TITLE_PX - bottom))
    if not found:
        inner.set_axis_off()
        inner.text(0.5, 0.5, "No data", color=draw.MUTED, ha="center", va="center")
        return
    if panel["type"] == "state-timeline":
        handles = draw.state_timeline(inner, panel, found, rec)
    else:
        handles = draw.timeseries(inner, panel, found, rec)
    _legend(frame, handles, w, h)


def _mapping(panel: dict[str, Any]) -> list[dict[str, Any]]:
    mappings = panel["fieldConfig"]["defaults"]["mappings"]
    return list(mappings[0]["options"].values()) if mappings else []


def _columns(handles: list[Line2D], w_px: float) -> int:
    # Legend entries per line, from the longest label (about 4.6 px a character at 6.5 pt).
    widest = max(len(str(h.get_label())) for h in handles) * 4.6 + 24
    return max(1, int((w_px - 16) // widest))


def _row(fig: Figure, grid: Grid, panel: dict[str, Any]) -> None:
    top = HEADER_PX + panel["gridPos"]["y"] * ROW_PX
    x, y, _, h = grid.rect(GAP_PX + 4, top, 10, ROW_PX)
    fig.text(x, y + h / 2, panel["title"], color=draw.TEXT, fontsize=11, fontweight="bold",
             va="center")  # fmt: skip


def _header(fig: Figure, grid: Grid, rec: Recording) -> None:
    board, minutes = rec["dashboard"], (rec["end"] - rec["start"]) / 60
    x, y, _, _ = grid.rect(GAP_PX + 4, 12, 10, 10)
    fig.text(x, y, board["title"], color=draw.TEXT, fontsize=15, fontweight="bold", va="top")
    note = (f"Data source: Prometheus    Namespace: {NAMESPACE}    "
            f"{minutes:.1f} minutes of the real stack, recorded by bench.dashboard; "
            "every panel is its shipped query.")  # fmt: skip
    _, y2, _, _ = grid.rect(0, 44, 10, 10)
    fig.text(x, y2, note, color=draw.MUTED, fontsize=8, va="top")
    shades = [Patch(color=shade, alpha=0.35, label=f"{p['label']} ({draw.minutes(p['start_s'])}"
                    f"-{draw.minutes(p['end_s'])})")
              for p, shade in zip(rec["phases"], draw.SHADES, strict=False)]  # fmt: skip
    fig.legend(handles=shades, loc="upper right", bbox_to_anchor=(1 - 12 / grid.width_px,
               1 - 14 / grid.height_px), frameon=False, fontsize=8, labelcolor=draw.TEXT,
               ncol=len(shades))  # fmt: skip


def render(rec: Recording, out: Path) -> None:
    """Draw a recording into a PNG."""
    board = rec["dashboard"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    grid = Grid(24 * COLUMN_PX, HEADER_PX + rows * ROW_PX)
    fig = Figure(figsize=(grid.width_px / DPI, grid.height_px / DPI), dpi=DPI,
                 facecolor=BACKGROUND)  # fmt: skip
    _header(fig, grid, rec)
    for panel in board["panels"]:
        if panel["type"] == "row":
            _row(fig, grid, panel)
    for panel in data_panels(board):
        _panel(fig, grid, panel, rec)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, facecolor=BACKGROUND, dpi=DPI)
