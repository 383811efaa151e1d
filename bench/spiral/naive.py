"""The naive receiver: the seed's design, embedding synchronously inside each request.

Per alert of a webhook (firing or resolved, re-sent or not) and per chat message it calls the
node's `/api/embed` once, waits for the vector, stores it in a dict standing in for Qdrant, and
answers only when every item is stored. Requests run on a pool of `naive_threads` threads, as a
FastAPI sync endpoint runs on Starlette's default pool of 40: later requests wait for a thread.
A request whose client gave up keeps running, as it would under uvicorn.
"""

import threading
from typing import Any

import orjson
import requests

from bench.spiral.httpserver import QuietHandler, QuietServer
from bench.spiral.params import Params
from bench.spiral.receiver import Stored

EMBED_MODEL = "nomic-embed-text"
# A stored item's key (kind, id, version) and the text embedded for it.
Item = tuple[tuple[str, str, str], str]


class NaiveReceiver:
    """A plain HTTP server in a thread of the benchmark process."""

    name = "naive (seed)"

    def __init__(self, params: Params) -> None:
        self._pool = threading.BoundedSemaphore(params.naive_threads)
        self._lock = threading.Lock()
        self._alerts: dict[tuple[str, str], list[float]] = {}
        self._chats: dict[tuple[str, str], list[float]] = {}
        self._embed_url = ""
        self._server = _Server(("127.0.0.1", 0), self)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def alerts_url(self) -> str:
        """Where Alertmanager posts."""
        return self.url + "/v1/alerts/alertmanager"

    @property
    def chats_url(self) -> str:
        """Where the chat job posts."""
        return self.url + "/v1/chats"

    def start(self, embed_url: str) -> None:
        """Serve, embedding through the node at `embed_url`."""
        self._embed_url = embed_url.rstrip("/") + "/api/embed"
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; requests still running fail fast once the node is stopped."""
        self._server.shutdown()
        self._server.server_close()

    def stored(self) -> Stored:
        """Every alert occurrence and chat message stored so far."""
        with self._lock:
            alerts, chats = frozenset(self._alerts), frozenset(self._chats)
        return Stored(len(alerts), len(chats), alerts, chats)

    def details(self) -> dict[str, str]:
        """Nothing beyond the common rows: the naive receiver keeps no queues."""
        return {}

    def decisions(self) -> dict[str, float]:
        """None: it decides nothing."""
        return {}

    def handle(self, path: str, body: dict[str, Any]) -> int:
        """Embed every item of a request, one call each, and store it; the HTTP status."""
        with self._pool:
            items = request_items(path, body)
            if items is None:
                return 404
            for item in items:
                if not self.embed_and_store([item]):
                    return 500
        return 200

    def embed_and_store(self, items: list[Item]) -> bool:
        """One `/api/embed` call for all `items`; each vector is stored under its key."""
        try:
            # No timeout, as in the seed: its calls answered "200 24s" and were waited for.
            response = requests.post(
                self._embed_url, json={"model": EMBED_MODEL, "input": [t for _, t in items]},
                timeout=None,
            )  # fmt: skip
        except requests.RequestException:
            return False
        if response.status_code != 200:
            return False
        vectors = response.json()["embeddings"]
        with self._lock:
            for ((kind, *rest), _), vector in zip(items, vectors, strict=True):
                (self._alerts if kind == "alert" else self._chats)[(rest[0], rest[1])] = vector
        return True


def request_items(path: str, body: dict[str, Any]) -> list[Item] | None:
    """The (key, text) pairs a webhook or chat post carries; None for an unknown path."""
    if path == "/v1/alerts/alertmanager":
        return [(("alert", a["fingerprint"], a["startsAt"]), _alert_text(a))
                for a in body.get("alerts", [])]  # fmt: skip
    if path == "/v1/chats":
        return [(("chat", c["id"], m["id"]), m["text"])
                for c in body.get("conversations", []) for m in c["messages"]]  # fmt: skip
    return None


def _alert_text(alert: dict[str, Any]) -> str:
    labels = alert.get("labels", {})
    summary = alert.get("annotations", {}).get("summary", "")
    return f"{labels.get('alertname')} {alert.get('status')} on {labels.get('pod', '-')}: {summary}"


class _Server(QuietServer):
    def __init__(self, address: tuple[str, int], receiver: NaiveReceiver) -> None:
        super().__init__(address, _Handler)
        self.receiver = receiver


class _Handler(QuietHandler):
    server: _Server

    def do_POST(self) -> None:
        """Intake: embed inside the request, answer when stored."""
        length = int(self.headers.get("Content-Length", "0") or 0)
        try:
            body = orjson.loads(self.rfile.read(length))
        except orjson.JSONDecodeError:
            self._reply(400)
            return
        self._reply(self.server.receiver.handle(self.path, body))

    def _reply(self, status: int) -> None:
        data = orjson.dumps({"status": status})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
