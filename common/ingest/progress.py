"""What a run did (the tally and its summary) and how it shows progress while it runs.

A terminal gets a progress bar; a log (stderr not a TTY) gets a plain line every few seconds,
so `kubectl logs` and CI output stay readable.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@dataclass
class Tally:
    """Counts of one run; `lines()` is the final summary."""

    files: int = 0
    unreadable: int = 0
    conversations: int = 0
    messages: int = 0
    skipped_empty: int = 0
    parts_skipped: int = 0
    tool_calls: int = 0
    parts: int = 0
    unchanged: int = 0
    to_send: int = 0
    accepted: int = 0
    duplicates: int = 0
    gateway_skipped: int = 0
    refused: int = 0
    rejected: int = 0
    remaining: int = 0
    remaining_conversations: int = 0
    elapsed_s: float = 0.0

    def lines(self) -> list[str]:
        """The summary, one `name: value` per line."""
        return [
            f"files: {self.files} read, {self.unreadable} unreadable",
            f"conversations: {self.conversations}",
            f"messages: {self.messages} read, {self.skipped_empty} skipped (no text)",
            f"content parts: {self.tool_calls} tool calls summarised, "
            f"{self.parts_skipped} skipped (images, reasoning, errors)",
            f"parts: {self.parts} (over-long messages sent in parts)",
            f"already accepted by the gateway (not sent): {self.unchanged}",
            f"sent (accepted): {self.accepted}",
            f"duplicates: {self.duplicates}",
            *([f"skipped by the gateway: {self.gateway_skipped}"] if self.gateway_skipped else []),
            f"refused (429): {self.refused}",
            f"rejected: {self.rejected}",
            f"remaining: {self.remaining} messages in {self.remaining_conversations} conversations",
            f"elapsed: {self.elapsed_s:.1f} s",
        ]


class Display(Protocol):
    """Where a run reports progress and notes (errors, retries) while it runs."""

    def update(self, done: int, refused: int) -> None:
        """`done` of the messages to send are settled (sent or rejected)."""

    def note(self, text: str) -> None:
        """A line worth reading: a bad file, a rejected post, a retry."""

    def close(self) -> None:
        """The run is over."""


class Bar:
    """A rich progress bar of messages on stderr."""

    def __init__(self, total: int, console: Console) -> None:
        self._progress = Progress(
            TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("messages"),
            TextColumn("{task.fields[refused]} refused"), TimeElapsedColumn(), console=console,
        )  # fmt: skip
        self._task = self._progress.add_task("ingest", total=total, refused=0)
        self._progress.start()

    def update(self, done: int, refused: int) -> None:
        """Move the bar."""
        self._progress.update(self._task, completed=done, refused=refused)

    def note(self, text: str) -> None:
        """Print above the bar."""
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        """Leave the finished bar on screen."""
        self._progress.stop()


class Lines:
    """Plain progress lines, at most one per `every_s` (and one at the end)."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        every_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.stream = stream
        self.every_s = every_s
        self.clock = clock
        self.started = self.last = clock()
        self.state = (0, 0)
        self.written = (-1, -1)

    def update(self, done: int, refused: int) -> None:
        """Remember the counts; write a line when the last one is old enough."""
        self.state = (done, refused)
        if self.clock() - self.last >= self.every_s:
            self._write()

    def note(self, text: str) -> None:
        """Write the note as its own line."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Write the last counts unless that line was just written."""
        if self.state != self.written:
            self._write()

    def _write(self) -> None:
        done, refused = self.state
        elapsed = self.clock() - self.started
        self.note(f"ingest: {done}/{self.total} messages, {refused} refused, {elapsed:.1f} s")
        self.last, self.written = self.clock(), self.state


def display(total: int, stream: TextIO) -> Display:
    """A bar when `stream` is a terminal, plain lines otherwise."""
    if stream.isatty():
        return Bar(total, Console(file=stream))
    return Lines(total, stream)
