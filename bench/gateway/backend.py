"""The throwaway Redis both servers push to: measured around each slice, emptied per phase."""

from pathlib import Path

import redis

from bench.gateway.baseline import QUEUE
from bench.gateway.meter import MIB
from common import keys
from common.cli.procs import free_port
from common.cli.redisserver import RedisServer

_SCAN_CHUNK = 2000


class Backend:
    """A redis-server on a free loopback port, without persistence."""

    def __init__(self, data_dir: Path) -> None:
        self._server = RedisServer(port=free_port(), data_dir=data_dir, persist=False)
        self._client: redis.Redis | None = None

    @property
    def url(self) -> str:
        """redis:// URL of DB 0."""
        return self._server.url

    @property
    def client(self) -> redis.Redis:
        """A client of the running server."""
        if self._client is None:
            raise RuntimeError("Redis is not started")
        return self._client

    def start(self) -> None:
        """Start the server and connect."""
        self._server.start()
        self._client = redis.Redis.from_url(self.url, socket_timeout=60)

    def pid(self) -> int:
        """The redis-server process id, for its CPU seconds."""
        return int(self.client.info("server")["process_id"])

    def used_memory_mib(self) -> float:
        """INFO memory's used_memory, in MiB."""
        return float(self.client.info("memory")["used_memory"]) / MIB

    def baseline_pushed(self) -> int:
        """Bodies the baseline has pushed since the last flush."""
        return int(self.client.llen(QUEUE))

    def baseline_alerts(self, newest: int) -> int:
        """Alerts in the `newest` bodies the baseline pushed (its answer does not count them)."""
        total = 0
        # LPUSH: the newest bodies are at the head.
        for start in range(0, newest, _SCAN_CHUNK):
            bodies = self.client.lrange(QUEUE, start, min(start + _SCAN_CHUNK, newest) - 1)
            total += sum(_alerts(body) for body in bodies)
        return total

    def digest_members(self) -> tuple[int, int]:
        """Alerts waiting in storm digest buffers, and how many buffers hold them."""
        buffers = [b for b in self.client.zrange(keys.DIGESTS_DUE, 0, -1) if isinstance(b, bytes)]
        members = 0
        for buffer in buffers:
            members += int(self.client.llen(buffer))
        return members, len(buffers)

    def flush(self) -> None:
        """Drop every key (synchronously, so the memory is free before the next run)."""
        self.client.flushall()

    def stop(self) -> None:
        """Disconnect and stop the server."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self._server.stop()


def _alerts(body: bytes | str) -> int:
    # Every alert of a v4 notification has a fingerprint; the notification itself has none.
    marker = '"fingerprint":'
    return body.count(marker) if isinstance(body, str) else body.count(marker.encode())
