"""The embedded real model over Ollama's API: what `cortex embedder` serves by default.

Workers and search reach it exactly as they reach Ollama in production (`/api/embed` with a
list), and `/api/tags` and `/api/show` name the model and its dimension, so the stack can be
configured from what is actually served. Calls run one at a time on at most the configured
threads (`CORTEX_EMBEDDER_THREADS`); a call's `options.num_thread` may ask for fewer, never more.
"""

import sys

import numpy as np

from common.embedding import minilm
from common.embedding.devapi import Embeddings, Reject, Routes, api_routes
from common.embedding.minilm import DIM, NAME, MiniLM
from common.embedding.serving import Service

DESCRIPTION = "all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), int8 ONNX"
_DETAILS = {
    "format": "onnx",
    "family": "bert",
    "families": ["bert"],
    "parameter_size": "23M",
    "quantization_level": "int8",
}


def truncated(vectors: minilm.Vectors, dim: int) -> minilm.Vectors:
    """The first `dim` components, renormalised: what Ollama answers for `dimensions`."""
    if dim >= vectors.shape[1]:
        return vectors
    head = vectors[:, :dim]
    unit: minilm.Vectors = head / np.linalg.norm(head, axis=1, keepdims=True)
    return unit


class ModelEmbedder(Service):
    """An Ollama-compatible HTTP server answering with the in-process MiniLM model."""

    dim = DIM
    max_dim = DIM

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, model: MiniLM | None = None,
        threads: int = 2,
    ) -> None:  # fmt: skip
        super().__init__(host, port)
        # Loaded before the port is bound: a missing model fails start-up, not the first call.
        self.model = model or MiniLM(threads=threads)

    def routes(self) -> Routes:
        """Ollama's routes; no fault injection, this is the real thing."""
        return api_routes(self)

    def embed_call(
        self, model: str, texts: list[str], dim: int, num_thread: int | None
    ) -> tuple[Embeddings, int]:
        """One inference run per group of the list, serialised with every other call."""
        self._check_model(model)
        vectors, n_tokens = self.model.embed_counted(texts, num_thread=num_thread)
        return truncated(vectors, dim), n_tokens

    def tags(self) -> list[dict[str, object]]:
        """The one model served, under its Ollama name."""
        size = minilm.model_file().stat().st_size
        return [{"name": NAME, "model": NAME, "size": size, "details": _DETAILS}]

    def show(self, model: str) -> dict[str, object]:
        """Its details as Ollama reports them: `bert.embedding_length` is the dimension."""
        self._check_model(model)
        return {
            "modelfile": f"# {DESCRIPTION}, package {minilm.MODEL_PACKAGE}",
            "parameters": f"num_thread {self.model.threads}",
            "details": _DETAILS,
            "model_info": {
                "general.architecture": "bert",
                "bert.embedding_length": DIM,
                "bert.context_length": minilm.MAX_TOKENS,
                "bert.pooling_type": 1,  # mean, as in Ollama's own GGUF of this model
            },
            "capabilities": ["embedding"],
        }

    def _check_model(self, model: str) -> None:
        """Reject another model's name, as Ollama does for a model not pulled."""
        if model not in minilm.ALIASES:
            raise Reject(404, f'model "{model}" not found, try pulling it first')


def run(host: str, port: int, *, threads: int) -> None:
    """Load the model, say what is served, and serve in the foreground until interrupted."""
    embedder = ModelEmbedder(host, port, threads=threads)
    embedder.model.embed(["warm-up"])  # the first run allocates; no caller should wait for it
    print(
        f"cortex embedder: {DESCRIPTION} from the package {minilm.MODEL_PACKAGE}, offline.\n"
        f"Serving it as {NAME} ({DIM} dimensions, up to {minilm.MAX_TOKENS} word pieces a text, "
        f"{threads} thread(s) at most) with Ollama's API at {embedder.url}; Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    embedder.serve_until_interrupted()
