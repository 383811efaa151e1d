"""The embedders a run compares: the word-hash double in-process, and `cortex embedder`.

The real model counts as available only when `cortex embedder` serves something other than
word-hash vectors: its answer to one probe text is compared with `wordhash.embed_text`, so
the check needs no knowledge of how the model is packaged or named.
"""

import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from common.cli.procs import Child, cortex_argv, free_port
from common.embedding.devembedder import DevEmbedder
from common.embedding.wordhash import embed_text
from common.settings import CommonSettings

WORD_HASH = "word-hash"
START_TIMEOUT_S = 120
_PROBE = "pod keeps restarting in a crash loop"
_DIM: int = CommonSettings.model_fields["embed_dim"].default
# The stack as `cortex dev` configures it for the embedded model (common/cli/dev.py): MiniLM
# reads plain text, no nomic-style prefixes, and about 256 word pieces of it.
_AS_DEV = {
    "CORTEX_EMBED_DOC_PREFIX": "",
    "CORTEX_EMBED_QUERY_PREFIX": "",
    "CORTEX_CHUNK_MAX_CHARS": "1000",
    "CORTEX_CHUNK_OVERLAP_CHARS": "100",
}


@dataclass
class Embedding:
    """A running embedder: its name, URL, the CORTEX_ settings it needs, and how to stop it."""

    label: str
    url: str
    settings: dict[str, str]
    stop: Callable[[], None]


def word_hash() -> Embedding:
    """The development embedder in this process, at the product's default model and dim."""
    dev = DevEmbedder(dim=_DIM)
    dev.start()
    return Embedding(WORD_HASH, dev.url, {}, dev.stop)


def real_model(logs: Path) -> Embedding | str:
    """`cortex embedder` as a child process if it serves a real model; else why not."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
    child = Child("embedder", cortex_argv("embedder", "--port", str(port)),
                  env={**env, "PYTHONUNBUFFERED": "1"}, log=logs / "embedder.log")  # fmt: skip
    child.start()
    url = f"http://127.0.0.1:{port}"
    try:
        model = _wait_model(child, url)
        vector = _embed(url, model)
    except (RuntimeError, requests.RequestException, KeyError, IndexError, ValueError) as exc:
        child.stop()
        return f"`cortex embedder` did not serve a model: {_last_line(str(exc))}"
    if _is_word_hash(vector):
        child.stop()
        return "`cortex embedder` still serves the word-hash development embedder"
    return Embedding(model, url, {**_AS_DEV, "CORTEX_EMBED_MODEL": model,
                                  "CORTEX_EMBED_DIM": str(len(vector))}, child.stop)  # fmt: skip


def _wait_model(child: Child, url: str) -> str:
    """The first model `/api/tags` lists, once the child answers; raise if it exits first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not child.running():
            raise RuntimeError(child.tail(5) or "exited")
        with contextlib.suppress(requests.RequestException):
            reply = requests.get(url + "/api/tags", timeout=2)
            if reply.ok:
                return str(reply.json()["models"][0]["name"])
        time.sleep(0.3)
    raise RuntimeError(f"no answer on {url} in {START_TIMEOUT_S}s")


def _embed(url: str, model: str) -> list[float]:
    reply = requests.post(url + "/api/embed", json={"model": model, "input": [_PROBE]}, timeout=60)
    reply.raise_for_status()
    return [float(x) for x in reply.json()["embeddings"][0]]


def _is_word_hash(vector: list[float]) -> bool:
    expected = embed_text(_PROBE, len(vector))
    return all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(vector, expected, strict=True))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text
