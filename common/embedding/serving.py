"""Serving a backend's routes over HTTP: bind, serve in a thread or the foreground, stop.

Shared by the real model's server and the word-hash test double, so both start, stop and
release their port the same way.
"""

import contextlib
import threading
from abc import ABC, abstractmethod

from common.embedding.devapi import Routes, Server

_POLL_S = 0.05


class Service(ABC):
    """An HTTP server on host:port (0: a free port) answering the routes of `routes()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._server: Server | None = None
        self._url: str | None = None
        self._thread: threading.Thread | None = None
        self._serving = False

    @abstractmethod
    def routes(self) -> Routes:
        """The (method, path) -> handler table this service answers."""

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:PORT; binds the port on first use."""
        if self._url is None:
            self._bind()
        assert self._url is not None
        return self._url

    def start(self) -> None:
        """Bind and serve in a daemon thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        self._bind()
        self._serving = True
        self._thread = threading.Thread(
            target=self.serve_forever, name="cortex-embedder", daemon=True
        )
        self._thread.start()

    def serve_forever(self) -> None:
        """Bind if needed and serve in the calling thread until stop() or an interrupt."""
        server = self._bind()
        self._serving = True
        try:
            server.serve_forever(poll_interval=_POLL_S)
        finally:
            self._serving = False

    def serve_until_interrupted(self) -> None:
        """Serve in the foreground until Ctrl-C, then release the port."""
        try:
            with contextlib.suppress(KeyboardInterrupt):
                self.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and release the port; a no-op when not bound."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._serving:
            server.shutdown()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        server.server_close()

    def _bind(self) -> Server:
        """The bound server, created on first use."""
        if self._server is None:
            self._server = Server((self._host, self._port), self.routes())
            self._url = f"http://{self._host}:{self._server.server_port}"
        return self._server
