"""`cortex embedder`: the real model over Ollama's API, named, 384-d, serialised, capped."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

from common.cli.procs import free_port
from common.embedding import minilm
from common.embedding.client import OllamaEmbedder
from common.embedding.minilm import DIM, NAME, MiniLM
from common.embedding.modelserver import ModelEmbedder
from tests.support.stack import wait_until

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def server(model: MiniLM) -> Iterator[ModelEmbedder]:
    served = ModelEmbedder(model=model)
    served.start()
    yield served
    served.stop()


def embed(server: ModelEmbedder, **body: object) -> requests.Response:
    return requests.post(f"{server.url}/api/embed", json={"model": NAME, **body}, timeout=30)


def test_embed_answers_unit_vectors_of_the_model(server: ModelEmbedder, model: MiniLM) -> None:
    texts = ["etcd leader changed three times", "grafana certificate expired"]
    body = embed(server, input=texts).json()
    vectors = np.asarray(body["embeddings"])
    assert vectors.shape == (2, DIM) and body["model"] == NAME
    np.testing.assert_allclose(vectors, model.embed(texts), atol=1e-6)
    assert body["prompt_eval_count"] == model.embed_counted(texts)[1]


def test_tags_and_show_report_the_real_name_and_dimension(server: ModelEmbedder) -> None:
    [tag] = requests.get(f"{server.url}/api/tags", timeout=10).json()["models"]
    assert tag["name"] == "all-minilm:l6-v2"
    for name in ("all-minilm:l6-v2", "all-minilm"):
        show = requests.post(f"{server.url}/api/show", json={"model": name}, timeout=10).json()
        assert show["model_info"]["bert.embedding_length"] == 384
        assert show["capabilities"] == ["embedding"]


def test_another_models_name_is_404_as_in_ollama(server: ModelEmbedder) -> None:
    assert embed(server, model="nomic-embed-text", input="x").status_code == 404
    show = requests.post(f"{server.url}/api/show", json={"model": "llama3"}, timeout=10)
    assert show.status_code == 404 and "not found" in show.json()["error"]


def test_dimensions_truncate_and_renormalise(server: ModelEmbedder) -> None:
    [vector] = embed(server, input="node02 is not ready", dimensions=64).json()["embeddings"]
    assert len(vector) == 64
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    assert embed(server, input="x", dimensions=DIM + 1).status_code == 400


def test_the_product_client_embeds_through_it(server: ModelEmbedder) -> None:
    client = OllamaEmbedder(
        requests.Session(), base_url=server.url, model=NAME, dim=DIM, num_thread=4,
        connect_timeout_s=3, default_timeout_s=30,
    )  # fmt: skip
    [vector] = client.embed(["alertmanager webhook returned 401"])
    assert len(vector) == DIM


def test_calls_run_one_at_a_time_within_the_thread_cap(
    server: ModelEmbedder, model: MiniLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, peak, lock = [0], [0], threading.Lock()
    infer = minilm.infer

    def watched(session: object, batch: minilm.Batch) -> minilm.Vectors:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        try:
            return infer(session, batch)  # type: ignore[arg-type]
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(minilm, "infer", watched)
    statuses: list[int] = []

    def call(num_thread: int) -> None:
        response = embed(server, input=["a", "b"], options={"num_thread": num_thread})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=call, args=(n,)) for n in (1, 2, 16, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4 and peak[0] == 1
    assert set(model.session_threads().values()) <= {1, 2}


def _wait_for_url(proc: subprocess.Popen[str], port: int) -> None:
    def answers() -> bool:
        assert proc.poll() is None, proc.communicate()
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/version", timeout=1).ok
        except requests.ConnectionError:
            return False

    wait_until(answers, timeout_s=60, what="cortex embedder to listen")


def _cortex_embedder(*args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "common.cli", "embedder", "--port", str(port), *args],
        cwd=ROOT, env=env | {"CORTEX_EMBEDDER_THREADS": "1"}, stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    _wait_for_url(proc, port)
    return proc, port


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    return stderr


def test_cortex_embedder_serves_the_model_by_default() -> None:
    proc, port = _cortex_embedder()
    try:
        url = f"http://127.0.0.1:{port}"
        show = requests.post(f"{url}/api/show", json={"model": NAME}, timeout=10).json()
        assert show["model_info"]["bert.embedding_length"] == DIM
        assert show["parameters"] == "num_thread 1"  # CORTEX_EMBEDDER_THREADS
        body = requests.post(f"{url}/api/embed", json={"model": NAME, "input": ["x"]}, timeout=30)
        assert len(body.json()["embeddings"][0]) == DIM
    finally:
        stderr = _stop(proc)
    assert "all-MiniLM-L6-v2" in stderr and "NOT A REAL" not in stderr
    assert proc.returncode == 0, stderr


def test_cortex_embedder_word_hash_is_the_test_double() -> None:
    proc, port = _cortex_embedder("--word-hash", "--dim", "16")
    try:
        body = requests.post(f"http://127.0.0.1:{port}/api/embed",
                             json={"model": "m", "input": "x"}, timeout=10).json()  # fmt: skip
        assert len(body["embeddings"][0]) == 16
    finally:
        stderr = _stop(proc)
    assert "THIS IS NOT A REAL EMBEDDING MODEL" in stderr
