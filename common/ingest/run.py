"""One `cortex ingest-chats` run: read, leave out what the checkpoint has, post, record, sum up.

Exit codes: 0 everything sent (duplicates included); 1 something was not ingested (an unreadable
file, a rejected post, the gateway or Redis failing mid-run); 2 nothing could start (bad
options, Redis unreachable); 3 the deadline stopped the run (the summary says what remains;
run again to send it); 130 interrupted.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import redis

from common.ingest.checkpoint import Checkpoint
from common.ingest.client import DeadlineReached, Gateway, GatewayFailed
from common.ingest.deadline import Deadline
from common.ingest.plan import Limits, Post, pack, split_parts
from common.ingest.progress import Tally, display
from common.librechat import Conversation, ExportError, find_exports, read_export

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_NOT_STARTED = 2
EXIT_DEADLINE = 3
EXIT_INTERRUPTED = 130


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
    client: redis.Redis | None,
    gateway: Gateway,
    streams: Streams,
    deadline: Deadline | None = None,
) -> int:
    """Run the whole ingest of `path`; print progress and the summary; return the exit code."""
    deadline = deadline or Deadline(options.deadline_s)
    tally = Tally()
    checkpoint = _checkpoint(client, options, streams)
    if checkpoint is None:
        return EXIT_NOT_STARTED
    conversations = read_all(path, tally, streams)
    posts = plan(conversations, checkpoint, options.limits, tally)
    if options.dry_run:
        streams.note(f"dry run: would send {tally.to_send} messages in {len(posts)} posts")
        code = EXIT_OK
        _left(tally, posts)
    else:
        code = _send(posts, gateway=gateway, checkpoint=checkpoint, options=options,
                     deadline=deadline, tally=tally, streams=streams)  # fmt: skip
    tally.refused = gateway.refused
    tally.elapsed_s = deadline.elapsed_s()
    streams.out.write("\n".join(tally.lines()) + "\n")
    if code == EXIT_OK and (tally.unreadable or tally.rejected):
        return EXIT_INCOMPLETE
    return code


def _checkpoint(
    client: redis.Redis | None, options: Options, streams: Streams
) -> Checkpoint | None:
    try:
        if client is not None:
            client.ping()
    except redis.RedisError as exc:
        if not options.dry_run:
            streams.note(f"error: the checkpoint store (Redis) is unreachable: {exc}")
            return None
        streams.note(f"warning: Redis unreachable ({exc}); planning as if nothing was sent")
        client = None
    return Checkpoint(client, options.source)


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


def plan(
    conversations: list[Conversation], checkpoint: Checkpoint, limits: Limits, tally: Tally
) -> list[Post]:
    """Split over-long messages, leave out what the checkpoint has, pack the rest into posts."""
    split: list[Conversation] = []
    for conversation in conversations:
        conversation, parts = split_parts(conversation, limits.part_chars)
        tally.parts += parts
        split.append(conversation)
    unsent, tally.unchanged = checkpoint.unsent(split)
    posts = list(pack(unsent, limits))
    tally.to_send = sum(p.messages for p in posts)
    return posts


def _send(
    posts: list[Post],
    *,
    gateway: Gateway,
    checkpoint: Checkpoint,
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
                checkpoint.record(post.entries)
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
    except (GatewayFailed, redis.RedisError) as exc:
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
