"""One panel drawn as Grafana draws it: time series, stat, or state timeline, dark theme.

Colours, units, thresholds, value mappings and legends come from the panel's own JSON, so the
picture changes with the dashboard.
"""

import math
import re
from typing import Any

from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

PANEL = "#181b1f"
BORDER = "#2c3235"
TEXT = "#ccccdc"
MUTED = "#9fa7b3"
NAMED = {
    "green": "#73BF69", "yellow": "#FADE2A", "orange": "#FF9830", "red": "#F2495C",
    "blue": "#5794F2", "purple": "#B877D9", "text": TEXT, "transparent": PANEL,
}  # fmt: skip
PALETTE = (
    "#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2",
    "#B877D9", "#705DA0", "#37872D", "#FADE2A", "#447EBC", "#C15C17",
)  # fmt: skip
SHADES = ("#F2495C", "#FF9830")
Series = dict[str, Any]


def color(name: str) -> str:
    """A Grafana colour name (or a hex code) as hex."""
    return NAMED.get(name, name)


def legend(fmt: str, labels: dict[str, str]) -> str:
    """Grafana's legendFormat filled in from a series' labels."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()


def human(value: float, unit: str) -> str:
    """A value in the panel's unit, shortened as Grafana does."""
    if math.isnan(value):
        return "-"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if abs(value) < 1 else f"{value:.3g} s"
    suffix = {"reqps": " req/s", "cps": " c/s"}.get(unit, "")
    for scale, letter in ((1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{letter}{suffix}"
    return f"{value:.3g}{suffix}"


def minutes(seconds: float, _: object = None) -> str:
    """Seconds into the run as m:ss."""
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _tick(seconds: float, _: object = None) -> str:
    # No 0:00 label: it would sit on the y axis's lowest one.
    return minutes(seconds) if seconds > 0 else ""


def style(ax: Axes, unit: str) -> None:
    """Grafana's dark axes: faint grid, muted ticks, no frame."""
    ax.set_facecolor(PANEL)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(colors=MUTED, labelsize=6.5, length=0, pad=2)
    ax.grid(True, color=BORDER, linewidth=0.6)
    ax.xaxis.set_major_locator(MultipleLocator(30))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick))
    ax.yaxis.set_major_locator(MaxNLocator(4, min_n_ticks=3))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v, unit)))


def _points(series: Series, start: float, step_s: float) -> tuple[list[float], list[float]]:
    # A gap longer than two steps is a gap in the line, as Grafana draws null values.
    xs: list[float] = []
    ys: list[float] = []
    for t, v in series["values"]:
        if xs and t - start - xs[-1] > 2 * step_s:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(t - start)
        ys.append(v)
    return xs, ys


def _overrides(panel: dict[str, Any]) -> dict[str, str]:
    fixed = {}
    for override in panel["fieldConfig"]["overrides"]:
        for prop in override["properties"]:
            if prop["id"] == "color":
                fixed[override["matcher"]["options"]] = color(prop["value"]["fixedColor"])
    return fixed


def _steps(panel: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return steps


def timeseries(
    ax: Axes, panel: dict[str, Any], found: list[Series], rec: dict[str, Any]
) -> list[Line2D]:
    """Lines per series, threshold lines and the run's phases; the lines for the legend."""
    unit = panel["fieldConfig"]["defaults"]["unit"]
    style(ax, unit)
    fixed, lines = _overrides(panel), []
    for i, series in enumerate(found):
        xs, ys = _points(series, rec["start"], rec["step_s"])
        hue = fixed.get(series["name"], PALETTE[i % len(PALETTE)])
        (line,) = ax.plot(xs, ys, color=hue, linewidth=1.1, label=series["name"])
        ax.fill_between(xs, ys, color=hue, alpha=0.08, linewidth=0)
        lines.append(line)
    if panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line":
        for step in _steps(panel)[1:]:
            ax.axhline(step["value"], color=color(step["color"]), linestyle="--", linewidth=0.8)
    for phase, shade in zip(rec["phases"], SHADES, strict=False):
        ax.axvspan(phase["start_s"], phase["end_s"], color=shade, alpha=0.07, linewidth=0)
    ax.set_xlim(0, rec["end"] - rec["start"])
    ax.set_ylim(bottom=0)
    return lines


def stat(ax: Axes, panel: dict[str, Any], found: list[Series], rec: dict[str, Any]) -> None:
    """The last value, big, on its threshold colour, with the series as an area behind it."""
    values = [v for _, v in found[0]["values"] if not math.isnan(v)] if found else []
    if not values:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No data", color=MUTED, ha="center", va="center", fontsize=10)
        return
    last = values[-1]
    steps = [s for s in _steps(panel) if s["value"] is None or last >= s["value"]]
    ax.set_facecolor(color(steps[-1]["color"]))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    xs, ys = _points(found[0], rec["start"], rec["step_s"])
    ax.fill_between(xs, ys, color="white", alpha=0.18, linewidth=0)
    ax.set_ylim(0, max(max(values) * 2.5, 1))
    unit = panel["fieldConfig"]["defaults"]["unit"]
    ax.text(0.5, 0.55, human(last, unit), color="white", ha="center", va="center",
            fontsize=22, fontweight="bold", transform=ax.transAxes)  # fmt: skip


def _segments(series: Series, step_s: float) -> list[tuple[float, float, float]]:
    # Runs of one value as (start, length, value): Grafana's mergeValues.
    runs: list[tuple[float, float, float]] = []
    for t, v in series["values"]:
        if runs and runs[-1][2] == v and t - (runs[-1][0] + runs[-1][1]) <= step_s:
            runs[-1] = (runs[-1][0], t + step_s - runs[-1][0], v)
        else:
            runs.append((t, step_s, v))
    return runs


def state_timeline(
    ax: Axes, panel: dict[str, Any], found: list[Series], rec: dict[str, Any]
) -> list[Line2D]:
    """One band per series, coloured and named by the value mappings; the mapping legend."""
    style(ax, "none")
    ax.grid(False)
    mapping = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
    span = rec["end"] - rec["start"]
    for row, series in enumerate(found):
        for t, length, v in _segments(series, rec["step_s"]):
            state = mapping.get(str(int(v)), {"color": "text", "text": str(v)})
            x = t - rec["start"]
            ax.broken_barh([(x, length)], (row + 0.05, 0.9), color=color(state["color"]))
            if length > span / 25:
                ax.text(x + length / 2, row + 0.5, state["text"], ha="center", va="center",
                        color="#111217", fontsize=7)  # fmt: skip
    ax.set_yticks([row + 0.5 for row in range(len(found))], [s["name"] for s in found])
    ax.set_ylim(0, max(1, len(found)))
    ax.set_xlim(0, span)
    return [
        Line2D([], [], color=color(state["color"]), linewidth=4, label=state["text"])
        for state in mapping.values()
    ]
