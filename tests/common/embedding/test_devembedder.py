import http.client
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from common.embedding.devembedder import BANNER, DevEmbedder
from common.embedding.wordhash import embed_text
from tests.support.stack import wait_until

MODEL = "nomic-embed-text"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def embedder() -> Iterator[DevEmbedder]:
    server = DevEmbedder()
    server.start()
    yield server
    server.stop()


def embed(server: DevEmbedder, payload: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/api/embed", json=payload, timeout=10)


def vectors(server: DevEmbedder, texts: str | list[str], **extra: Any) -> list[list[float]]:
    response = embed(server, {"model": MODEL, "input": texts, **extra})
    assert response.status_code == 200, response.text
    result: list[list[float]] = response.json()["embeddings"]
    return result


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_are_unit_length_and_deterministic(embedder: DevEmbedder) -> None:
    text = "Pod payments-api is CrashLooping in namespace prod"
    first, second = vectors(embedder, text), vectors(embedder, text)
    assert first == second
    assert len(first[0]) == 768
    assert math.isclose(math.fsum(x * x for x in first[0]), 1.0, rel_tol=1e-9)


def test_vectors_are_stable_across_processes() -> None:
    code = (
        "from common.embedding.wordhash import embed_text;"
        " print(embed_text('disk full on node-3', 16))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(embed_text("disk full on node-3", 16))


def test_shared_words_are_closer_than_unrelated_text(embedder: DevEmbedder) -> None:
    alert, chat, other = vectors(
        embedder,
        [
            "Pod payments-api is crashlooping in namespace prod",
            "why is the payments-api pod crashlooping again",
            "Disk quota exceeded on the backup volume",
        ],
    )
    assert cosine(alert, chat) > cosine(alert, other) + 0.3


def test_near_spellings_are_closer_than_different_words() -> None:
    word = embed_text("kubernetes", 768)
    assert cosine(word, embed_text("kubernets", 768)) > cosine(word, embed_text("grafana", 768))
    assert cosine(word, embed_text("kubernets", 768)) > 0.1


def test_text_without_tokens_gets_a_fixed_unit_vector() -> None:
    assert embed_text("!!!", 32) == embed_text("--- ...", 32)
    assert math.isclose(math.fsum(x * x for x in embed_text("!!!", 32)), 1.0)


def test_list_input_gives_one_vector_per_item_in_order(embedder: DevEmbedder) -> None:
    texts = ["first alert", "second alert", "a chat message"]
    batch = vectors(embedder, texts)
    assert batch == [vectors(embedder, text)[0] for text in texts]


def test_empty_input_gives_no_embeddings(embedder: DevEmbedder) -> None:
    response = embed(embedder, {"model": MODEL, "input": ""})
    assert response.status_code == 200
    assert response.json()["embeddings"] == []
    assert embedder.stats()["inputs"] == 0


def test_response_carries_ollama_fields(embedder: DevEmbedder) -> None:
    body = embed(embedder, {"model": MODEL, "input": "three word text"}).json()
    assert body["model"] == MODEL
    assert body["prompt_eval_count"] == 3
    assert isinstance(body["total_duration"], int)
    assert isinstance(body["load_duration"], int)


def test_dimensions_overrides_the_default(embedder: DevEmbedder) -> None:
    [vector] = vectors(embedder, "short text", dimensions=32)
    assert len(vector) == 32
    assert math.isclose(math.fsum(x * x for x in vector), 1.0)


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[1, 2]",
        b'{"input": "no model"}',
        b'{"model": "m", "input": 5}',
        b'{"model": "m", "input": ["ok", 7]}',
        b'{"model": "m", "input": "x", "dimensions": -1}',
    ],
)
def test_bad_requests_get_400_with_error(embedder: DevEmbedder, payload: bytes) -> None:
    response = requests.post(f"{embedder.url}/api/embed", data=payload, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]
    assert embedder.stats()["calls"] == 0


def test_unknown_model_is_404_when_models_are_set() -> None:
    server = DevEmbedder(model_names=frozenset({"nomic-embed-text:latest"}))
    server.start()
    try:
        assert embed(server, {"model": "nomic-embed-text", "input": "x"}).status_code == 200
        response = embed(server, {"model": "llama3", "input": "x"})
        assert response.status_code == 404
        assert response.json() == {"error": 'model "llama3" not found, try pulling it first'}
        tags = requests.get(f"{server.url}/api/tags", timeout=10).json()
        assert tags == {"models": [{"name": "nomic-embed-text:latest", "model": MODEL + ":latest"}]}
    finally:
        server.stop()


def test_legacy_endpoint_matches_embed(embedder: DevEmbedder) -> None:
    response = requests.post(
        f"{embedder.url}/api/embeddings", json={"model": MODEL, "prompt": "node down"}, timeout=10
    )
    assert response.json() == {"embedding": vectors(embedder, "node down")[0]}
    assert embedder.stats()["calls"] == 2


def test_fail_next_answers_503_then_recovers(embedder: DevEmbedder) -> None:
    embedder.configure(fail_next=2)
    statuses = [embed(embedder, {"model": MODEL, "input": "x"}) for _ in range(3)]
    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert "server busy" in statuses[0].json()["error"]
    stats = embedder.stats()
    assert (stats["errors"], stats["calls"], stats["texts"]) == (2, 1, ["x"])


def test_fail_next_with_status_400(embedder: DevEmbedder) -> None:
    embedder.configure(fail_next=1, error_status=400)
    response = embed(embedder, {"model": MODEL, "input": "x"})
    assert response.status_code == 400
    assert response.json()["error"]


def test_error_rate_is_deterministic(embedder: DevEmbedder) -> None:
    embedder.configure(error_rate=0.25)
    statuses = [embed(embedder, {"model": MODEL, "input": "x"}).status_code for _ in range(8)]
    assert statuses == [200, 200, 200, 503] * 2


def test_configure_rejects_bad_values(embedder: DevEmbedder) -> None:
    with pytest.raises(ValueError, match="error_rate"):
        embedder.configure(error_rate=1.5)
    with pytest.raises(ValueError, match="fail_next"):
        embedder.configure(fail_next=-1)


def test_delay_is_applied_per_call_and_per_input(embedder: DevEmbedder) -> None:
    embedder.configure(delay_s=0.1, per_input_delay_s=0.05)
    started = time.monotonic()
    vectors(embedder, ["a", "b", "c"])
    assert time.monotonic() - started >= 0.25


def test_stats_under_concurrent_calls(embedder: DevEmbedder) -> None:
    embedder.configure(delay_s=0.3)
    batches = [[f"text {i}-{j}" for j in range(i + 1)] for i in range(4)]
    barrier = threading.Barrier(len(batches))
    results: list[int] = []

    def call(batch: list[str]) -> None:
        barrier.wait()
        results.append(len(vectors(embedder, batch)))

    threads = [threading.Thread(target=call, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = embedder.stats()
    assert sorted(results) == [1, 2, 3, 4]
    assert (stats["calls"], stats["inputs"], stats["in_flight"]) == (4, 10, 0)
    assert stats["peak_in_flight"] >= 2
    assert sorted(stats["texts"]) == sorted(t for batch in batches for t in batch)


def test_a_call_from_before_reset_stats_is_not_counted_after_it(embedder: DevEmbedder) -> None:
    # The session's embedder outlives each test's stack: a call of a stopped stack that still
    # sleeps out its delay must not count in flight, or as a call, for the next test.
    embedder.configure(delay_s=1.0)
    old = threading.Thread(target=vectors, args=(embedder, "from the last test"))
    old.start()
    wait_until(lambda: embedder.stats()["in_flight"] == 1, timeout_s=5, what="the old call")
    embedder.reset_stats()
    embedder.configure(delay_s=0.2)
    vectors(embedder, "this test's call")
    old.join()
    stats = embedder.stats()
    assert (stats["calls"], stats["peak_in_flight"], stats["in_flight"]) == (1, 1, 0)
    assert stats["texts"] == ["this test's call"]


def test_dev_endpoints_drive_the_server_over_http(embedder: DevEmbedder) -> None:
    base = embedder.url
    assert requests.post(f"{base}/_dev/config", json={"fail_next": 1}, timeout=10).ok
    assert embed(embedder, {"model": MODEL, "input": "x"}).status_code == 503
    vectors(embedder, "hello")
    stats = requests.get(f"{base}/_dev/stats", timeout=10).json()
    assert (stats["calls"], stats["errors"], stats["texts"]) == (1, 1, ["hello"])
    bad = requests.post(f"{base}/_dev/config", json={"delay": 1}, timeout=10)
    assert bad.status_code == 400
    assert "delay" in bad.json()["error"]
    requests.post(f"{base}/_dev/config", json={"fail_next": 5}, timeout=10)
    assert requests.post(f"{base}/_dev/reset", timeout=10).ok
    assert embed(embedder, {"model": MODEL, "input": "y"}).status_code == 200
    assert requests.get(f"{base}/_dev/stats", timeout=10).json()["texts"] == ["y"]


def test_info_endpoints_look_like_ollama(embedder: DevEmbedder) -> None:
    root = requests.get(embedder.url, timeout=10)
    assert (root.status_code, root.text) == (200, "Ollama is running")
    version = requests.get(f"{embedder.url}/api/version", timeout=10).json()
    assert version == {"version": "0.0.0-cortex-dev"}
    tags = requests.get(f"{embedder.url}/api/tags", timeout=10).json()
    assert tags["models"][0]["name"] == "nomic-embed-text:latest"
    missing = requests.get(f"{embedder.url}/api/nope", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]


def test_connection_is_kept_alive(embedder: DevEmbedder) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", int(embedder.url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.request("POST", "/api/embed", body=b'{"model": "m", "input": "a"}')
        assert conn.getresponse().read()
        sock = conn.sock
        conn.request("POST", "/api/embed", body=b"{bad")
        assert conn.getresponse().status == 400
        assert sock is not None
        assert conn.sock is sock
    finally:
        conn.close()


def test_oversized_body_is_413(embedder: DevEmbedder) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", int(embedder.url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.putrequest("POST", "/api/embed")
        conn.putheader("Content-Length", str(65 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert response.getheader("Connection") == "close"
    finally:
        conn.close()


def test_stop_releases_the_port() -> None:
    server = DevEmbedder()
    server.start()
    url = server.url
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_banner_warns_that_vectors_are_fake() -> None:
    assert "NOT A REAL EMBEDDING MODEL" in BANNER
    assert "CORTEX_OLLAMA_URL" in BANNER
