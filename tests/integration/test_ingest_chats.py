"""`cortex ingest-chats` as a real process against real stacks: incremental, resumable, and
only ever skipping what the gateway it posts to already has."""

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from common.cli.procs import free_port
from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder
from common.ingest.checkpoint import content_hash
from common.ingest.librechat import find_exports, read_export
from tests.support.stack import Stack, wait_until

FIXTURES = Path(__file__).parents[1] / "fixtures" / "librechat"
BROKEN = Path(__file__).parents[1] / "fixtures" / "librechat-broken"
K8S = "8a1f5e0c-3b7d-4c52-9e61-2f4d8b9a0c11"
MESSAGES = 24  # with text, in all of FIXTURES


def cortex(stack: Stack, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**stack.env, "CORTEX_GATEWAY_URL": stack.gateway_url}
    return subprocess.run(
        [sys.executable, "-m", "common.cli", *args], env=env, cwd=cwd,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def summary(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)


def wait_idle(stack: Stack) -> None:
    def idle() -> bool:
        s = stack.stats()
        return all(q["depth"] == 0 for q in s["queues"].values()) and s["in_flight"] == 0

    wait_until(idle, timeout_s=60, what="idle queues")


def huge_export(folder: Path) -> None:
    """A conversation with one pasted log over 300 KiB: it goes in two parts."""
    lines = [f"09:{i // 60 % 60:02d}:{i % 60:02d} kubelet node07 probe ok {i}" for i in range(9000)]
    text = "Here is the whole kubelet log from node07:\n\n" + "\n".join(lines)
    assert len(text) > 300 * 1024
    message = {"messageId": "paste-1", "isCreatedByUser": True, "sender": "User", "text": text,
               "createdAt": "2026-04-15T10:00:00.000Z"}  # fmt: skip
    export = {"conversationId": "kubelet-log", "title": "kubelet log", "messages": [message]}
    (folder / "kubelet-log.json").write_text(json.dumps(export))


def test_a_folder_is_searchable_and_later_runs_send_only_what_changed(
    make_stack: type[Stack], tmp_path: Path
) -> None:
    stack = make_stack()
    stack.worker("store")
    stack.worker("chats")
    stack.gateway()
    exports = tmp_path / "exports"
    shutil.copytree(FIXTURES, exports)
    huge_export(exports)

    first = cortex(stack, "ingest-chats", str(exports), cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr + stack.logs()
    assert summary(first)["sent (accepted)"] == str(MESSAGES + 2)
    assert summary(first)["parts"].startswith("2 ")
    assert f"ingest: {MESSAGES + 2}/{MESSAGES + 2} messages" in first.stderr
    wait_idle(stack)
    found = cortex(stack, "search", "CrashLoopBackOff", "--kind", "chat", "--json", cwd=tmp_path)
    assert json.loads(found.stdout)[0]["payload"]["conversation_id"] == K8S
    stored, calls = stack.stats()["stored"]["chat"], stack.embedder.stats()["calls"]

    # A re-export of the same conversation under another name is nothing new either.
    reexport = json.loads((exports / "k8s-crashloopbackoff.json").read_text())
    reexport["exportAt"] = "09:12:44 GMT+0200 (Central European Summer Time)"
    (exports / "k8s-crashloopbackoff (1).json").write_text(json.dumps(reexport))
    second = cortex(stack, "ingest-chats", str(exports), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert summary(second)["sent (accepted)"] == "0"
    assert summary(second)["already accepted by the gateway (not sent)"] == str(MESSAGES + 7)
    wait_idle(stack)
    assert stack.stats()["stored"]["chat"] == stored
    assert stack.embedder.stats()["calls"] == calls

    ceph = exports / "ceph-nfs-storage.json"
    edited = json.loads(ceph.read_text())
    edited["messages"][1]["text"] += "\n\nUpdate: OSD 12 had a flaky SATA cable, replaced."
    ceph.write_text(json.dumps(edited, ensure_ascii=False))
    third = cortex(stack, "ingest-chats", str(exports), cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert summary(third)["sent (accepted)"] == "1"
    assert summary(third)["already accepted by the gateway (not sent)"] == str(MESSAGES + 7 - 1)
    wait_idle(stack)
    assert stack.stats()["stored"]["chat"] == stored  # replaced, not added
    hits = stack.search("flaky SATA cable replaced", kind="chat")
    assert hits[0]["payload"]["message_id"] == edited["messages"][1]["messageId"]


def test_a_run_stops_at_its_deadline_and_the_next_sends_the_rest(
    make_stack: type[Stack], tmp_path: Path
) -> None:
    # No workers: the first post fills the chat backlog and the gateway refuses the next.
    stack = make_stack(CORTEX_CHAT_BACKLOG_CAP="1", CORTEX_CHAT_RETRY_AFTER_MAX_S="60")
    stack.gateway()

    stopped = cortex(
        stack, "ingest-chats", str(FIXTURES), "--batch-messages", "8", "--deadline", "20s",
        cwd=tmp_path,
    )  # fmt: skip
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert summary(stopped)["sent (accepted)"] == "8"
    assert summary(stopped)["refused (429)"] == "1"
    assert summary(stopped)["remaining"].startswith(f"{MESSAGES - 8} messages in ")
    assert "past the deadline" in stopped.stderr

    stack.worker("store")
    stack.worker("chats")
    wait_idle(stack)
    rest = cortex(stack, "ingest-chats", str(FIXTURES), cwd=tmp_path)
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert summary(rest)["already accepted by the gateway (not sent)"] == "8"
    assert summary(rest)["sent (accepted)"] == str(MESSAGES - 8)
    assert summary(rest)["remaining"] == "0 messages in 0 conversations"


def test_a_malformed_file_is_named_and_the_rest_of_the_folder_ingested(
    make_stack: type[Stack], tmp_path: Path
) -> None:
    stack = make_stack()
    stack.gateway()
    done = cortex(stack, "ingest-chats", str(BROKEN), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{BROKEN / 'ceph-nfs-truncated.json'}: invalid JSON" in done.stderr
    assert f"{BROKEN / 'redis-memory-no-id.json'}: missing conversationId" in done.stderr
    assert summary(done)["files"] == "2 read, 2 unreadable"
    assert summary(done)["sent (accepted)"] == "9"
    again = cortex(stack, "ingest-chats", str(BROKEN), cwd=tmp_path)
    assert summary(again)["already accepted by the gateway (not sent)"] == "9"
    assert summary(again)["sent (accepted)"] == "0"
    assert stack.redis.keys("cortex:ingest:*") == []  # the client keeps no state in Redis


@pytest.fixture
def other_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A second Redis server: another deployment's, or the machine's default one."""
    server = RedisServer(port=free_port(), data_dir=tmp_path / "other-redis", persist=False)
    server.start()
    yield server
    server.stop()


def old_checkpoint(client: redis.Redis, folder: Path) -> int:
    """What an earlier release left in Redis: `cortex:ingest:librechat`, every message in it."""
    entries = {
        f"{c['id']}\x1f{m['id']}": content_hash(m)
        for file in find_exports(folder)
        for c in read_export(file).conversations
        for m in c["messages"]
    }
    return client.hset("cortex:ingest:librechat", mapping=entries)  # type: ignore[arg-type]


def test_a_checkpoint_in_another_redis_never_makes_a_message_skip(
    make_stack: type[Stack],
    other_redis: RedisServer,
    embedder: DevEmbedder,
    tmp_path: Path,
) -> None:
    # The first deployment got every message, and an old client left its checkpoint beside it.
    first = make_stack()
    first.gateway()
    assert cortex(first, "ingest-chats", str(FIXTURES), cwd=tmp_path).returncode == 0
    assert old_checkpoint(first.redis, FIXTURES) == MESSAGES
    # The second has seen none of them; the ingest runs where the first one's Redis is the
    # configured one (CORTEX_REDIS_URL, and a `cortex dev` file in its folder).
    second = Stack(tmp_path / "second", other_redis, embedder)
    try:
        second.worker("store")
        second.worker("chats")
        second.gateway()
        folder = tmp_path / "elsewhere"
        (folder / ".cortex").mkdir(parents=True)
        (folder / ".cortex" / "redis.url").write_text(first.redis_server.url)
        second.env["CORTEX_REDIS_URL"] = first.redis_server.url

        sent = cortex(second, "ingest-chats", str(FIXTURES), cwd=folder)
        assert sent.returncode == 0, sent.stdout + sent.stderr + second.logs()
        assert summary(sent)["already accepted by the gateway (not sent)"] == "0"
        assert summary(sent)["sent (accepted)"] == str(MESSAGES)
        second.wait_stored("chat", MESSAGES)
        hits = second.search("CrashLoopBackOff", kind="chat")
        assert hits and hits[0]["payload"]["conversation_id"] == K8S

        again = cortex(second, "ingest-chats", str(FIXTURES), cwd=folder)
        assert again.returncode == 0, again.stdout + again.stderr
        assert summary(again)["already accepted by the gateway (not sent)"] == str(MESSAGES)
        assert summary(again)["sent (accepted)"] == "0"
        assert summary(again)["duplicates"] == "0"  # nothing was even posted
        assert "dry run" not in again.stderr
        planned = cortex(second, "ingest-chats", str(FIXTURES), "--dry-run", cwd=folder)
        assert "dry run: would send 0 messages in 0 posts" in planned.stderr
    finally:
        second.close()
    assert first.redis.hlen("cortex:ingest:librechat") == MESSAGES  # read by nobody


def test_a_dry_run_with_the_gateway_down_plans_everything(
    make_stack: type[Stack], tmp_path: Path
) -> None:
    stack = make_stack()
    stack.gateway_url = f"http://127.0.0.1:{free_port()}"
    planned = cortex(stack, "ingest-chats", str(FIXTURES), "--dry-run", cwd=tmp_path)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "could not ask the gateway which messages it already has" in planned.stderr
    assert f"dry run: would send {MESSAGES} messages in 1 posts" in planned.stderr
