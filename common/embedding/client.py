"""The embedder as a Protocol, and its one real adapter: Ollama's `/api/embed` over requests."""

from collections.abc import Sequence
from typing import Protocol

import requests

from common.errors import BackendOverloaded, ConfigurationError, PermanentError, TransientError
from common.settings import CommonSettings


class Embedder(Protocol):
    """Turns texts into unit vectors of a fixed dimension, one call per list."""

    model: str
    dim: int

    def embed(self, texts: Sequence[str], *, timeout_s: float | None = None) -> list[list[float]]:
        """Embed all texts; raises TransientError or PermanentError."""


class OllamaEmbedder:
    """Ollama's batch endpoint, asking for a fixed number of CPU threads on every call."""

    def __init__(
        self,
        session: requests.Session,
        *,
        base_url: str,
        model: str,
        dim: int,
        num_thread: int,
        connect_timeout_s: float,
        default_timeout_s: float,
    ) -> None:
        self.model = model
        self.dim = dim
        self._session = session
        self._url = base_url.rstrip("/") + "/api/embed"
        # The same options on every call from every process: any difference in `options`
        # makes Ollama reload the model.
        self._options = {"num_thread": num_thread}
        self._connect_timeout_s = connect_timeout_s
        self._default_timeout_s = default_timeout_s

    def embed(self, texts: Sequence[str], *, timeout_s: float | None = None) -> list[list[float]]:
        """Embed texts in one `/api/embed` call with a list input, within `timeout_s`."""
        if not texts:
            return []
        body = {"model": self.model, "input": list(texts), "truncate": True,
                "options": self._options}  # fmt: skip
        timeout = (self._connect_timeout_s, timeout_s or self._default_timeout_s)
        try:
            response = self._session.post(self._url, json=body, timeout=timeout)
        except requests.Timeout as exc:
            raise BackendOverloaded(f"ollama did not answer in time: {exc}") from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"ollama unreachable: {exc}") from exc
        except requests.RequestException as exc:
            raise TransientError(f"ollama request failed: {exc}") from exc
        return self._vectors(response, len(texts))

    def _vectors(self, response: requests.Response, expected: int) -> list[list[float]]:
        if response.status_code in (429, 503):
            raise BackendOverloaded(
                f"ollama answered {response.status_code}: {response.text[:200]}"
            )
        if response.status_code >= 500 or response.status_code in (404, 408):
            # 404 is a model not pulled yet: worth waiting for, unlike malformed input.
            raise TransientError(f"ollama answered {response.status_code}: {response.text[:200]}")
        if response.status_code != 200:
            raise PermanentError(f"ollama answered {response.status_code}: {response.text[:200]}")
        try:
            vectors = response.json()["embeddings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientError("ollama answered 200 without embeddings") from exc
        if len(vectors) != expected:
            raise PermanentError(f"ollama returned {len(vectors)} embeddings for {expected} inputs")
        for vector in vectors:
            if len(vector) != self.dim:
                raise ConfigurationError(
                    f"model {self.model!r} returned {len(vector)} dimensions, "
                    f"CORTEX_EMBED_DIM is {self.dim}"
                )
        return [[float(x) for x in vector] for vector in vectors]


def ollama_embedder(settings: CommonSettings, session: requests.Session) -> OllamaEmbedder:
    """The configured Ollama client: the same model, dimension and threads in every process.

    Calls through the guard get a timeout relative to the learned latency; the default
    (the maximum) is for calls made outside it.
    """
    return OllamaEmbedder(
        session,
        base_url=settings.ollama_url,
        model=settings.embed_model,
        dim=settings.embed_dim,
        num_thread=settings.embed_num_thread,
        connect_timeout_s=settings.embed_connect_timeout_s,
        default_timeout_s=settings.embed_timeout_max_s,
    )
