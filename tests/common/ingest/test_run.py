"""Whole runs against a stub gateway over HTTP: incremental, deadline, bad input, summary."""

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.cli.procs import free_port
from common.ingest.client import KNOWN_PATH, Gateway
from common.ingest.deadline import Deadline
from common.ingest.plan import Limits
from common.ingest.run import Options, Streams, ingest
from tests.common.ingest.test_client import StubGateway

FIXTURES = Path(__file__).parents[2] / "fixtures" / "librechat"
BROKEN = Path(__file__).parents[2] / "fixtures" / "librechat-broken"
MESSAGES = 24  # with text, in all of FIXTURES


class Run:
    """Runs of ingest-chats against one stub gateway, which remembers what it accepted."""

    def __init__(self, stub: StubGateway) -> None:
        self.stub = stub
        self.url = stub.url
        self.out = ""
        self.err = ""

    def __call__(self, path: Path, *, deadline: Deadline | None = None, **options: object) -> int:
        out, err = io.StringIO(), io.StringIO()
        gateway = Gateway(self.url)
        try:
            code = ingest(
                path, Options(**options),
                gateway=gateway, streams=Streams(out, err), deadline=deadline,
            )  # fmt: skip
        finally:
            gateway.close()
        self.out, self.err = out.getvalue(), err.getvalue()
        return code

    def summary(self) -> dict[str, str]:
        return dict(line.split(": ", 1) for line in self.out.splitlines())

    def posted(self) -> int:
        return sum(len(c["messages"]) for _, b in self.stub.requests for c in b["conversations"])


@pytest.fixture
def run() -> Iterator[Run]:
    stub = StubGateway()
    yield Run(stub)
    stub.close()


def test_a_folder_is_sent_once_and_a_second_run_sends_nothing(run: Run) -> None:
    assert run(FIXTURES) == 0
    summary = run.summary()
    assert summary["files"] == "6 read, 0 unreadable"
    assert summary["conversations"] == "7"
    assert summary["sent (accepted)"] == str(MESSAGES) and run.posted() == MESSAGES
    assert summary["remaining"] == "0 messages in 0 conversations"
    assert summary["messages"] == f"{MESSAGES} read, 3 skipped (no text)"
    assert "ingest: 24/24 messages, 0 refused" in run.err  # plain lines: not a terminal
    assert {body["source"] for _, body in run.stub.requests} == {"librechat"}

    assert run(FIXTURES) == 0
    assert run.summary()["already accepted by the gateway (not sent)"] == str(MESSAGES)
    assert run.summary()["sent (accepted)"] == "0" and run.posted() == MESSAGES


def test_a_gateway_that_has_not_seen_the_messages_gets_them_all(run: Run) -> None:
    assert run(FIXTURES) == 0
    fresh = StubGateway()  # another deployment: what the first one holds means nothing here
    run.url = fresh.url
    try:
        assert run(FIXTURES) == 0
        assert run.summary()["already accepted by the gateway (not sent)"] == "0"
        assert run.summary()["sent (accepted)"] == str(MESSAGES)
    finally:
        fresh.close()


def test_a_failed_lookup_sends_everything_and_the_gateway_answers_duplicates(run: Run) -> None:
    assert run(FIXTURES) == 0
    run.stub.then(500, {"error": "internal error", "detail": None}, path=KNOWN_PATH)
    assert run(FIXTURES) == 0
    assert "warning: could not ask the gateway which messages it already has" in run.err
    assert run.summary()["sent (accepted)"] == "0"
    assert run.summary()["duplicates"] == str(MESSAGES)


def test_a_lookup_waits_out_a_busy_gateway(run: Run) -> None:
    assert run(FIXTURES) == 0
    run.stub.then(503, path=KNOWN_PATH, **{"Retry-After": "0"})
    assert run(FIXTURES) == 0
    assert run.summary()["already accepted by the gateway (not sent)"] == str(MESSAGES)
    assert "warning" not in run.err


def test_the_deadline_while_asking_stops_the_run_with_everything_remaining(run: Run) -> None:
    run.stub.then(503, path=KNOWN_PATH, **{"Retry-After": "60"})
    assert run(FIXTURES, deadline_s=5) == 3
    assert "stopping while asking the gateway what it already has" in run.err
    assert run.summary()["remaining"] == f"{MESSAGES} messages in 7 conversations"
    assert run.stub.requests == []


def test_an_edited_message_is_the_only_one_sent_again(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    shutil.copytree(FIXTURES, folder)
    assert run(folder) == 0
    path = folder / "ceph-nfs-storage.json"
    data = json.loads(path.read_text())
    data["messages"][1]["text"] += "\n\nUpdate: OSD 12 had a failing SATA cable."
    path.write_text(json.dumps(data, ensure_ascii=False))
    sent_before = len(run.stub.requests)

    assert run(folder) == 0
    [(_, body)] = run.stub.requests[sent_before:]
    [conversation] = body["conversations"]
    assert [m["id"] for m in conversation["messages"]] == [data["messages"][1]["messageId"]]
    assert run.summary()["already accepted by the gateway (not sent)"] == str(MESSAGES - 1)


def test_a_long_message_is_sent_in_parts_never_cut(run: Run, tmp_path: Path) -> None:
    text = "## Notes\n\n" + "kubectl rollout restart deployment/web -n shop\n" * 8000
    export = {
        "conversationId": "big",
        "title": "huge paste",
        "messages": [{"messageId": "m1", "isCreatedByUser": True, "text": text}],
    }
    (tmp_path / "big.json").write_text(json.dumps(export))
    assert len(text) > 300 * 1024
    assert run(tmp_path) == 0
    parts = [m for _, b in run.stub.requests for c in b["conversations"] for m in c["messages"]]
    assert [m["id"] for m in parts] == ["m1#p1", "m1#p2"]
    assert "".join(m["text"] for m in parts) == text
    assert run.summary()["parts"].startswith("2 ")


def test_the_deadline_stops_cleanly_and_the_next_run_sends_the_rest(run: Run) -> None:
    run.stub.then(202, {"accepted": 8, "duplicates": 0}).then(429, **{"Retry-After": "60"})
    assert run(FIXTURES, limits=Limits(batch_messages=8), deadline_s=5) == 3
    summary = run.summary()
    assert summary["sent (accepted)"] == "8" and summary["refused (429)"] == "1"
    assert summary["remaining"].startswith(f"{MESSAGES - 8} messages in ")
    assert "stopping: the next try (60.0s away) is past the deadline" in run.err

    assert run(FIXTURES) == 0
    assert run.summary()["already accepted by the gateway (not sent)"] == "8"
    assert run.summary()["sent (accepted)"] == str(MESSAGES - 8)


def test_a_malformed_file_is_named_and_the_rest_still_sent(run: Run) -> None:
    assert run(BROKEN) == 1
    assert f"error: {BROKEN / 'ceph-nfs-truncated.json'}: invalid JSON" in run.err
    assert f"error: {BROKEN / 'redis-memory-no-id.json'}: missing conversationId" in run.err
    assert run.summary()["files"] == "2 read, 2 unreadable"
    assert run.summary()["sent (accepted)"] == "9" and run.posted() == 9


def test_a_rejected_post_is_reported_and_the_others_sent(run: Run) -> None:
    run.stub.then(413, {"error": "request body too large", "detail": {"limit_bytes": 1}})
    assert run(FIXTURES, limits=Limits(batch_messages=8)) == 1
    assert "rejected (413 (lower --batch-bytes or --part-chars)): 8 messages" in run.err
    assert run.summary()["rejected"] == "8" and run.summary()["sent (accepted)"] == "16"
    assert run(FIXTURES) == 0 and run.summary()["sent (accepted)"] == "8"  # retried next run


def test_a_dry_run_plans_without_sending(run: Run) -> None:
    assert run(FIXTURES, dry_run=True) == 0
    assert run.stub.requests == [] and "dry run: would send 24 messages in 1 posts" in run.err
    assert run(FIXTURES, limits=Limits(batch_messages=8)) == 0
    assert run(FIXTURES, dry_run=True) == 0
    assert "dry run: would send 0 messages in 0 posts" in run.err
    assert run.summary()["already accepted by the gateway (not sent)"] == str(MESSAGES)


def test_a_run_that_fails_midway_resumes_where_it_stopped(run: Run) -> None:
    run.stub.then(202, {"accepted": 8, "duplicates": 0}).then(500, {"error": "boom"})
    assert run(FIXTURES, limits=Limits(batch_messages=8)) == 1
    assert "error: gateway answered 500" in run.err
    assert run.summary()["remaining"].startswith(f"{MESSAGES - 8} messages in ")
    assert run(FIXTURES) == 0
    assert run.summary()["sent (accepted)"] == str(MESSAGES - 8)


def test_a_dry_run_with_the_gateway_unreachable_plans_as_if_nothing_was_sent(run: Run) -> None:
    run.url = f"http://127.0.0.1:{free_port()}"
    assert run(FIXTURES, dry_run=True, deadline=Deadline(2)) == 0
    assert "gateway unavailable (ConnectionError)" in run.err
    assert "could not ask the gateway which messages it already has (no answer" in run.err
    assert "planning as if it had none" in run.err
    assert run.summary()["remaining"] == "24 messages in 7 conversations"
