"""The quiet threaded HTTP server both simulated endpoints (node, naive receiver) run on."""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietServer(ThreadingHTTPServer):
    """Daemon threads, a deep backlog, and no traceback when a client hangs up."""

    daemon_threads = True
    block_on_close = False
    # Bursts of connections must not overflow the listen backlog: a dropped SYN is
    # retried after a second, which would show up as latency that is not the model's.
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (timeouts, shutdown) are expected; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log: thousands of calls per run."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""
