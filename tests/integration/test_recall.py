"""Recall end to end on real parts: issue 13's incident posted through the webhook and /v1/chats,
stored by real workers, recalled through the gateway with zero embedding calls for a stored
alert; the other read endpoints, bad input, and `cortex recall`'s card and JSON."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import requests

from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder
from tests.support import incident
from tests.support.answers import assert_error
from tests.support.stack import Stack, wait_until

TOKEN = "reader-s3cret"
NOW = datetime.now(UTC).replace(microsecond=0)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    embedder_server: DevEmbedder,
) -> Iterator[Stack]:
    """One stack for the module, the incident stored (its newest crash loop resolved later)."""
    redis.Redis.from_url(redis_server.url).flushall()
    embedder_server.configure(delay_s=0, per_input_delay_s=0, error_rate=0, fail_next=0)
    stack = Stack(tmp_path_factory.mktemp("recall"), redis_server, embedder_server,
                  CORTEX_READ_TOKEN=TOKEN)  # fmt: skip
    try:
        stack.full()
        incident.store(stack, NOW, newest_firing=True)
        # The newest crash loop resolves: a status update, not a new point.
        resolved = incident.alerts(NOW)[2]
        assert stack.post("/v1/alerts/alertmanager", incident.notification(resolved)).ok
        yield stack
    finally:
        stack.close()


def get(stack: Stack, path: str, **params: Any) -> requests.Response:
    return requests.get(stack.gateway_url + path, params=params, headers=AUTH, timeout=30)


def recall(stack: Stack, **params: Any) -> dict[str, Any]:
    response = get(stack, "/v1/recall", **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def newest_resolved(stack: Stack) -> dict[str, Any]:
    def resolved() -> dict[str, Any] | None:
        got = recall(stack, fingerprint=incident.RECREATED_FP)
        return got if got["alert"]["status"] == "resolved" else None

    answer: dict[str, Any] = wait_until(resolved, timeout_s=30, what="the resolution stored")
    return answer


def test_recall_of_the_newest_occurrence_costs_no_embedding(stack: Stack) -> None:
    newest_resolved(stack)
    stack.embedder.reset_stats()
    got = recall(stack, fingerprint=incident.RECREATED_FP)
    assert stack.embedder.stats()["calls"] == 0
    before = got["before"]
    assert [o["fingerprint"] for o in before["occurrences"]] == [
        incident.RECREATED_FP, incident.FIRST_FP, incident.FIRST_FP]  # fmt: skip
    assert [o["duration_s"] for o in before["occurrences"]] == [1800, 1500, 2400]
    assert {o["workload"] for o in before["occurrences"]} == {"mailu-front"}
    assert (before["last_7d"], before["last_30d"], before["label"]) == (2, 3, "rare")
    assert [o["alertname"] for o in got["around"]] == ["NodeMemoryPressure"]
    similar = [(g["alertname"], g["namespace"]) for g in got["similar"]]
    assert (incident.CRASH, "webmail") in similar and (incident.CRASH, "mail") not in similar
    said = got["discussed"][0]
    assert said["conversation_id"] == incident.FIX_CONVERSATION
    assert "timeoutSeconds to 10" in " ".join([said["chunk"], *said["neighbours"]])
    # The same answer for the alert posted whole, and for its identity: still no embedding.
    posted = stack.post("/v1/recall", {"alert": incident.alerts(NOW)[2]}, headers=AUTH)
    assert posted.status_code == 200, posted.text
    assert posted.json()["before"] == before
    by_labels = recall(stack, alertname=incident.CRASH, namespace="mail", workload="mailu-front")
    assert by_labels["alert"] == got["alert"]
    assert stack.embedder.stats()["calls"] == 0


def test_free_text_and_a_new_alert_cost_one_embedding_each(stack: Stack) -> None:
    stack.embedder.reset_stats()
    got = recall(stack, text="roundcube keeps restarting", limit=3)
    assert got["alert"] is None and got["similar"][0]["workload"] == "roundcube"
    assert stack.embedder.stats()["calls"] == 1
    fresh = incident.crash("f0f0f0f0f0f0f0f0", "mailu-front-5c8d7f9b6-zz9x8", NOW, None)
    posted = stack.post("/v1/recall", {"alert": fresh, "limit": 5}, headers=AUTH)
    assert posted.status_code == 200, posted.text
    assert len(posted.json()["before"]["occurrences"]) == 4
    assert stack.embedder.stats()["calls"] == 2


def test_history_conversation_and_search_since(stack: Stack) -> None:
    history = get(stack, "/v1/alerts/history", alertname=incident.CRASH, namespace="mail")
    assert history.status_code == 200, history.text
    assert len(history.json()["occurrences"]) == 3
    recent = get(stack, "/v1/alerts/history", alertname=incident.CRASH, since="7d").json()
    assert {o["namespace"] for o in recent["occurrences"]} == {"mail", "webmail"}
    conversation = get(stack, f"/v1/conversations/{incident.FIX_CONVERSATION}")
    assert conversation.status_code == 200, conversation.text
    messages = conversation.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["text"] == incident.FIX_TEXT
    since = (NOW - timedelta(days=2)).isoformat()
    hits = get(stack, "/v1/search", q="mailu-front crash looping", kind="alert", since=since)
    assert hits.status_code == 200 and hits.json()["results"]
    assert {h["payload"]["fingerprint"] for h in hits.json()["results"]} <= {
        incident.RECREATED_FP, incident.PRESSURE_FP, "e5c0ffee00000001"}  # fmt: skip


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "disk", "limit": 0}, "limit"),
        ({"text": "disk", "limit": 51}, "limit"),
        ({"fingerprint": incident.FIRST_FP, "text": "disk"}, "fingerprint|text"),
        ({"text": "disk", "q": "disk"}, "text|q"),
        ({}, "fingerprint|text|alertname"),
        ({"workload": "mailu-front", "text": "disk"}, "workload"),
        ({"text": "disk", "since": "last tuesday"}, "since"),
    ],
)
def test_bad_recall_input_is_422_naming_the_field(
    stack: Stack, params: dict[str, Any], field: str
) -> None:
    body = assert_error(get(stack, "/v1/recall", **params), 422)
    assert [problem["field"] for problem in body["detail"]] == [field]


def test_malformed_alerts_are_422_and_unknown_ones_404(stack: Stack) -> None:
    no_start = {k: v for k, v in incident.alerts(NOW)[0].items() if k != "startsAt"}
    body = assert_error(stack.post("/v1/recall", {"alert": no_start}, headers=AUTH), 422)
    assert body["detail"][0]["field"] == "alert.startsAt"
    assert_error(stack.post("/v1/recall", {"alerts": []}, headers=AUTH), 422)
    assert_error(stack.post("/v1/recall", {"alert": {**incident.alerts(NOW)[0], "labels": {}}},
                            headers=AUTH), 422)  # fmt: skip
    assert_error(get(stack, "/v1/recall", fingerprint="ffffffffffffffff"), 404)
    assert_error(get(stack, "/v1/recall", alertname="NeverFired"), 404)
    assert_error(get(stack, "/v1/conversations/no-such-conversation"), 404)
    assert_error(get(stack, "/v1/alerts/history"), 422)


def test_the_openapi_schema_documents_the_read_routes(stack: Stack) -> None:
    schema = requests.get(stack.gateway_url + "/openapi.json", timeout=10).json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/v1/recall"])
    assert "alert" in paths["/v1/recall"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]  # fmt: skip
    assert "RecallAnswer" in schema["components"]["schemas"]
    assert {"/v1/alerts/history", "/v1/conversations/{conversation_id}"} <= set(paths)
    assert any(p["name"] == "since" for p in paths["/v1/search"]["get"]["parameters"])


def cortex(
    stack: Stack, *args: str, cwd: Path, token: str = TOKEN
) -> subprocess.CompletedProcess[str]:
    env = {**stack.env, "CORTEX_GATEWAY_URL": stack.gateway_url, "CORTEX_READ_TOKEN": token,
           "COLUMNS": "120"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "common.cli", *args], env=env, cwd=cwd, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip


def test_cortex_recall_prints_a_card_and_json(stack: Stack, tmp_path: Path) -> None:
    newest_resolved(stack)
    card = cortex(stack, "recall", incident.RECREATED_FP, cwd=tmp_path)
    assert card.returncode == 0, card.stderr
    for expected in ("KubePodCrashLooping", "mail/mailu-front", "rare", "NodeMemoryPressure",
                     "webmail/roundcube", "mailu-front crash loop"):  # fmt: skip
        assert expected in card.stdout, card.stdout
    alert_file = tmp_path / "alert.json"
    alert_file.write_bytes(orjson.dumps(incident.notification(incident.alerts(NOW)[2])))
    as_json = cortex(stack, "recall", "--alert", str(alert_file), "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert orjson.loads(as_json.stdout)["alert"]["fingerprint"] == incident.RECREATED_FP
    text = cortex(stack, "recall", "roundcube keeps restarting", "--json", cwd=tmp_path)
    assert orjson.loads(text.stdout)["alert"] is None
    refused = cortex(stack, "recall", incident.RECREATED_FP, cwd=tmp_path, token="wrong")
    assert refused.returncode == 1 and "401" in refused.stderr
    unknown = cortex(stack, "recall", "ffffffffffffffff", cwd=tmp_path)
    assert unknown.returncode == 1 and "404" in unknown.stderr
    assert cortex(stack, "recall", cwd=tmp_path).returncode == 2
