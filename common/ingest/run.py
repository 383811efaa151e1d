"""One `cortex ingest-chats` run: read, ask the gateway what it already has, post the rest, sum up.

Exit codes: 0 everything sent (duplicates included); 1 something was not ingested (an unreadable
file, a rejected post, the gateway failing mid-run); 2 nothing could start (bad options);
3 the deadline stopped the run (the summary says what remains; run again to send it);
130 interrupted.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from common.ingest.checkpoint import Checkpoint
from common.ingest.client import DeadlineReached, Gateway, GatewayFailed
from common.ingest.deadline import Deadline
from common.ingest.librechat import Conversation, ExportError, find_exports, read_export
from common.ingest.plan import Limits, Post, pack, split_parts
from common.ingest.progress import Tally, display

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_DEADLINE = 3
EXIT_INTERRUPTED = 130
# A dry run asks the gateway too, but gives up on it sooner than a run waits for it.
DRY_RUN_LOOKUP_S = 5.0


@dataclass(frozen=True)
class Options:
    """What the command line chose."""

    source: str = "librechat"
    deadline_s: float = 1800.0
    limits: Limits = field(default_factory=Limits)
    dry_run: bool = False


@dataclass
class Streams:
    """Where the summary (out) and notes and progress (err) go."""

    out: TextIO
    err: TextIO

    def note(self, text: str) -> None:
        """One line on stderr."""
        self.err.write(text + "\n")
        self.err.flush()


def ingest(
    path: Path,
    options: Options,
    *,
    gateway: Gateway,
    streams: Streams,
    deadline: Deadline | None = None,
) -> int:
    """Run the whole ingest of `path`; print progress and the summary; return the exit code."""
    deadline = deadline or Deadline(options.deadline_s)
    gateway.notify = streams.note
    tally = Tally()
    conversations = split_all(read_all(path, tally, streams), options.limits, tally)
    posts, code = _plan(conversations, gateway=gateway, options=options, deadline=deadline,
                        tally=tally, streams=streams)  # fmt: skip
    if code is not None:
        _left(tally, posts)
    elif options.dry_run:
        streams.note(f"dry run: would send {tally.to_send} messages in {len(posts)} posts")
        code = EXIT_OK
        _left(tally, posts)
    else:
        code = _send(posts, gateway=gateway, options=options, deadline=deadline, tally=tally,
                     streams=streams)  # fmt: skip
    tally.refused = gateway.refused
    tally.elapsed_s = deadline.elapsed_s()
    streams.out.write("\n".join(tally.lines()) + "\n")
    if code == EXIT_OK and (tally.unreadable or tally.rejected):
        return EXIT_INCOMPLETE
    return code


def _plan(
    conversations: list[Conversation],
    *,
    gateway: Gateway,
    options: Options,
    deadline: Deadline,
    tally: Tally,
    streams: Streams,
) -> tuple[list[Post], int | None]:
    """The posts of what the gateway lacks; if asking it was stopped, every post and the code."""
    patient = not options.dry_run
    if not patient:
        deadline = Deadline(min(DRY_RUN_LOOKUP_S, deadline.remaining_s()))
    checkpoint = Checkpoint(
        gateway, options.source, deadline=deadline, notify=streams.note, stop_at_deadline=patient
    )
    try:
        return plan(conversations, checkpoint, options.limits, tally), None
    except DeadlineReached as exc:
        streams.note(f"stopping while asking the gateway what it already has: {exc}")
        code = EXIT_DEADLINE
    except KeyboardInterrupt:
        streams.note("interrupted; run again to send the rest")
        code = EXIT_INTERRUPTED
    return list(pack(conversations, options.limits)), code


def read_all(path: Path, tally: Tally, streams: Streams) -> list[Conversation]:
    """Every conversation under `path`; a malformed file is reported and left out."""
    conversations: list[Conversation] = []
    for file in find_exports(path):
        try:
            export = read_export(file)
        except ExportError as exc:
            tally.unreadable += 1
            streams.note(f"error: {exc}")
            continue
        tally.files += 1
        tally.skipped_empty += export.skipped_empty
        tally.parts_skipped += export.parts_skipped
        tally.tool_calls += export.tool_calls
        tally.conversations += len(export.conversations)
        tally.messages += sum(len(c["messages"]) for c in export.conversations)
        conversations += export.conversations
    return conversations


def split_all(
    conversations: list[Conversation], limits: Limits, tally: Tally
) -> list[Conversation]:
    """Every conversation with its over-long messages split into parts."""
    split: list[Conversation] = []
    for conversation in conversations:
        conversation, parts = split_parts(conversation, limits.part_chars)
        tally.parts += parts
        split.append(conversation)
    return split


def plan(
    conversations: list[Conversation], checkpoint: Checkpoint, limits: Limits, tally: Tally
) -> list[Post]:
    """Leave out what the gateway already has, pack the rest into posts."""
    unsent, tally.unchanged = checkpoint.unsent(conversations)
    posts = list(pack(unsent, limits))
    tally.to_send = sum(p.messages for p in posts)
    return posts


def _send(
    posts: list[Post],
    *,
    gateway: Gateway,
    options: Options,
    deadline: Deadline,
    tally: Tally,
    streams: Streams,
) -> int:
    show = display(tally.to_send, streams.err)
    gateway.notify = show.note
    done, code, index = 0, EXIT_OK, 0
    try:
        for index, post in enumerate(posts):  # noqa: B007 (index tells what is left on a stop)
            reply = gateway.send(post.body(options.source), deadline=deadline)
            if reply.ok:
                tally.accepted += reply.count("accepted")
                tally.duplicates += reply.count("duplicates")
                tally.gateway_skipped += reply.count("skipped")
            else:
                tally.rejected += post.messages
                show.note(_rejection(post, reply.status, reply.body))
            done += post.messages
            show.update(done, gateway.refused)
        index = len(posts)
    except DeadlineReached as exc:
        show.note(f"stopping: {exc}")
        code = EXIT_DEADLINE
    except GatewayFailed as exc:
        show.note(f"error: {exc}; stopping (what the gateway accepted is kept)")
        code = EXIT_INCOMPLETE
    except KeyboardInterrupt:
        show.note("interrupted; run again to send the rest")
        code = EXIT_INTERRUPTED
    finally:
        show.close()
    _left(tally, posts[index:])
    return code


def _left(tally: Tally, posts: list[Post]) -> None:
    tally.remaining = sum(p.messages for p in posts)
    tally.remaining_conversations = len({cid for p in posts for cid in p.conversation_ids()})


def _rejection(post: Post, status: int, body: object) -> str:
    hint = " (lower --batch-bytes or --part-chars)" if status == 413 else ""
    ids = ", ".join(post.conversation_ids())
    return f"rejected ({status}{hint}): {post.messages} messages of conversations {ids}: {body}"
