"""Progress: a bar in a terminal, plain lines in logs, and the final summary."""

import io

from rich.console import Console

from common.ingest.progress import Bar, Lines, Tally, display


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_lines_come_every_few_seconds_and_once_at_the_end() -> None:
    clock, stream = Clock(), io.StringIO()
    lines = Lines(5000, stream, every_s=5, clock=clock)
    for done in range(0, 1300, 100):
        clock.now += 1
        lines.update(done, refused=3)
    lines.note("error: x.json: invalid JSON")
    lines.close()
    assert stream.getvalue().splitlines() == [
        "ingest: 400/5000 messages, 3 refused, 5.0 s",
        "ingest: 900/5000 messages, 3 refused, 10.0 s",
        "error: x.json: invalid JSON",
        "ingest: 1200/5000 messages, 3 refused, 13.0 s",
    ]


def test_no_repeated_last_line() -> None:
    clock, stream = Clock(), io.StringIO()
    lines = Lines(10, stream, every_s=5, clock=clock)
    clock.now = 6
    lines.update(10, refused=0)
    lines.close()
    assert stream.getvalue() == "ingest: 10/10 messages, 0 refused, 6.0 s\n"


def test_a_terminal_gets_a_bar() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(display(10, Terminal()), Bar)
    assert isinstance(display(10, io.StringIO()), Lines)
    out = io.StringIO()
    bar = Bar(10, Console(file=out, force_terminal=True, width=100))
    bar.update(4, refused=2)
    bar.note("error: [not markup].json")
    bar.close()
    assert "4/10" in out.getvalue() and "2 refused" in out.getvalue()
    assert "[not markup].json" in out.getvalue()


def test_the_summary_names_every_count() -> None:
    tally = Tally(files=3, unreadable=1, accepted=10, duplicates=2, refused=4, remaining=7)
    tally.remaining_conversations, tally.elapsed_s = 2, 12.34
    text = "\n".join(tally.lines())
    for line in (
        "files: 3 read, 1 unreadable",
        "sent (accepted): 10",
        "duplicates: 2",
        "already accepted by the gateway (not sent): 0",
        "refused (429): 4",
        "rejected: 0",
        "remaining: 7 messages in 2 conversations",
        "elapsed: 12.3 s",
    ):
        assert line in text.splitlines()
