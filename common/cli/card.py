"""The incident card `cortex recall` prints: one recall answer, section by section, with rich."""

from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

JSON = dict[str, Any]


def when(stamp: str | None) -> str:
    """An RFC 3339 time as `2026-05-01 11:00`, in UTC as stored."""
    return (stamp or "")[:16].replace("T", " ") or "-"


def lasted(seconds: float | None) -> str:
    """A duration as `40m00s`, `1h05m` or `2d03h`; `firing` when it has not ended."""
    if seconds is None:
        return "firing"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def where(item: JSON) -> str:
    """`namespace/workload` of an occurrence or group, `-` for what it lacks."""
    return f"{item.get('namespace') or '-'}/{item.get('workload') or '-'}"


def _offset(stamp: str, origin: str) -> str:
    delta = (datetime.fromisoformat(stamp) - datetime.fromisoformat(origin)).total_seconds()
    sign, minutes = "-" if delta < 0 else "+", round(abs(delta) / 60)
    return f"{sign}{minutes}m" if minutes < 120 else sign + lasted(abs(delta))


def _header(answer: JSON) -> Panel:
    alert = answer.get("alert")
    if alert is None:
        text = answer.get("query", {}).get("text", "")
        return Panel(Text(f"Recall for “{text}”", style="bold"))
    title = f"[bold]{alert['alertname']}[/bold] · {where(alert)}"
    status = (
        f"{alert['status']} · started {when(alert['startsAt'])} · {lasted(alert['duration_s'])}"
    )
    body = Group(Text(status), Text(alert.get("summary") or "", style="italic"),
                 Text(f"fingerprint {alert['fingerprint']}", style="dim"))  # fmt: skip
    return Panel(body, title=title, title_align="left")


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
    for column in columns:
        table.add_column(column)
    return table


def _before(before: JSON) -> Group:
    typical = before.get("typical_duration_s")
    head = Text.assemble(
        ("This alert before: ", "bold"), (str(before.get("label")), "bold magenta"),
        f" · {before['last_7d']} in the last 7 days, {before['last_30d']} in 30",
        f" · typically {lasted(typical)}" if typical is not None else "",
    )  # fmt: skip
    table = _table("started", "ended", "lasted", "status", "where", "fingerprint")
    for o in before["occurrences"]:
        table.add_row(when(o["startsAt"]), when(o.get("endsAt")), lasted(o["duration_s"]),
                      o["status"], where(o), o["fingerprint"])  # fmt: skip
    return Group(head, table)


def _around(answer: JSON) -> Group:
    window_s = int(answer.get("query", {}).get("window_s", 0))
    head = Text(f"Around it (± {lasted(window_s).removesuffix('00s')}):", style="bold")
    origin = answer["alert"]["startsAt"]
    table = _table("started", "", "alert", "where", "status", "summary")
    for o in answer["around"]:
        table.add_row(when(o["startsAt"]), _offset(o["startsAt"], origin), o["alertname"],
                      where(o), o["status"], o.get("summary") or "")  # fmt: skip
    return Group(head, table if answer["around"] else Text("  nothing else started then"))


def _similar(answer: JSON) -> Group:
    table = _table("score", "alert", "where", "times", "latest", "status")
    for g in answer["similar"]:
        latest = g["latest"]
        table.add_row(f"{g['score']:.3f}", g["alertname"], where(g), str(g["count"]),
                      when(latest["startsAt"]), latest["status"])  # fmt: skip
    body = table if answer["similar"] else Text("  none")
    return Group(Text("Similar elsewhere:", style="bold"), body)


def _said(answer: JSON) -> Group:
    parts: list[Any] = [Text("What was said:", style="bold")]
    for s in answer["discussed"]:
        parts.append(Text.assemble(
            (f"“{s['title']}”", "bold cyan"), f" · {when(s['created_at'])}",
            (f" · {s['conversation_id']} · {s['score']:.3f}", "dim"),
        ))  # fmt: skip
        parts.append(Text(f"  {s.get('role') or '?'}: {s['chunk']}"))
        parts += [Text(f"    {n}", style="dim") for n in s["neighbours"]]
    if not answer["discussed"]:
        parts.append(Text("  nothing"))
    return Group(*parts)


def render(answer: JSON, console: Console) -> None:
    """Print a recall answer as an incident card."""
    console.print(_header(answer))
    if answer.get("alert") is not None:
        console.print(_before(answer["before"]), "", _around(answer), "")
    console.print(_similar(answer), "", _said(answer))
    if answer.get("truncated"):
        console.print(Text("(cut to fit: narrow it with --since, --namespace or --limit)", "dim"))
