"""The simulated node behind an HTTP server speaking Ollama's `/api/embed`, in a thread.

Every call is logged (`CallRecord`): its threads (`options.num_thread` when sent, else the
node's default), inputs, kind (a chat message or an alert, told apart by the chat job's text),
its time on an idle node and its real time, and whether the client had hung up (timed out) by
the time the answer was ready. A call whose client left still ran to the end, as the work
already handed to the model does.
"""

import select
import socket
import threading
import time
from typing import Any

import orjson

from bench.spiral.chatjob import CHAT_MARKER
from bench.spiral.httpserver import QuietHandler, QuietServer
from bench.spiral.node import CallRecord, NodeModel
from common.embedding.wordhash import embed_text


class SimulatedNode:
    """The node's model behind an HTTP server speaking Ollama's `/api/embed`, in a thread."""

    def __init__(self, model: NodeModel, *, dim: int) -> None:
        self.model = model
        self.dim = dim
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []
        self._server = _Server(("127.0.0.1", 0), self)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> None:
        """Serve in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Fail calls in flight, stop serving and release the port."""
        self.model.close()
        self._server.shutdown()
        self._server.server_close()

    def records(self) -> list[CallRecord]:
        """Every finished call so far, in order of completion."""
        with self._lock:
            return list(self._records)

    def embed(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], CallRecord | None]:
        """Answer one `/api/embed` request body as Ollama would, taking the model's time."""
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) and raw else raw or []
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return 400, {"error": "invalid input type"}, None
        num_thread = _num_thread(body.get("options"))
        threads = self.model.threads_for(num_thread)
        started, started_ns = time.monotonic(), time.perf_counter_ns()
        if texts and not self.model.embed(len(texts), threads=threads):
            return 503, {"error": "server busy, please try again (node shutting down)"}, None
        record = CallRecord(
            started_at=started, ended_at=time.monotonic(), inputs=len(texts), threads=threads,
            kind="chat" if any(CHAT_MARKER in t for t in texts) else "alert",
            num_thread_sent=num_thread is not None,
            ideal_s=self.model.ideal_s(len(texts), threads),
        )  # fmt: skip
        with self._lock:
            self._records.append(record)
        return 200, {
            "model": body.get("model", ""),
            "embeddings": [embed_text(text, self.dim) for text in texts],
            "total_duration": time.perf_counter_ns() - started_ns,
            "load_duration": 0,
            "prompt_eval_count": sum(len(t.split()) for t in texts),
        }, record  # fmt: skip


def _num_thread(options: object) -> int | None:
    value = options.get("num_thread") if isinstance(options, dict) else None
    return value if isinstance(value, int) and value > 0 else None


def client_gone(sock: socket.socket) -> bool:
    """True when the peer has closed its end (a client that timed out hangs up)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class _Server(QuietServer):
    def __init__(self, address: tuple[str, int], node: SimulatedNode) -> None:
        super().__init__(address, _Handler)
        self.node = node


class _Handler(QuietHandler):
    server: _Server

    def do_GET(self) -> None:
        """`/api/version` and `/` for health checks."""
        if self.path == "/api/version":
            self._reply(200, {"version": "0.0.0-spiral-sim"})
        elif self.path == "/":
            self._reply(200, "Ollama is running")
        else:
            self._reply(404, {"error": f"GET {self.path} not found"})

    def do_POST(self) -> None:
        """`/api/embed` only."""
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if self.path != "/api/embed":
            self._reply(404, {"error": f"POST {self.path} not found"})
            return
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            self._reply(400, {"error": "invalid JSON body"})
            return
        status, payload, record = self.server.node.embed(
            request if isinstance(request, dict) else {}
        )
        if record is not None and client_gone(self.connection):
            record.abandoned = True
        self._reply(status, payload)

    def _reply(self, status: int, payload: object) -> None:
        data = payload.encode() if isinstance(payload, str) else orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start_node(
    *, cores: int, background_cores: float, per_input_s: float, default_threads: int, dim: int
) -> SimulatedNode:
    """A running simulated node on a free loopback port."""
    model = NodeModel(
        cores=cores, background_cores=background_cores, per_input_s=per_input_s,
        default_threads=default_threads,
    )  # fmt: skip
    node = SimulatedNode(model, dim=dim)
    node.start()
    return node
