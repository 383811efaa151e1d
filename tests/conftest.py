"""Session-wide real parts: one throwaway Redis server process and one dev embedder."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from common.cli.procs import free_port
from common.cli.redisserver import RedisServer
from common.embedding.devembedder import DevEmbedder
from tests.support.stack import Stack


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free port, never the machine's own."""
    server = RedisServer(port=free_port(), data_dir=tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clean_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis server, emptied before the test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server


@pytest.fixture(scope="session")
def embedder_server() -> Iterator[DevEmbedder]:
    """An HTTP server speaking Ollama's embed API, with counters and fault knobs."""
    server = DevEmbedder(port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def embedder(embedder_server: DevEmbedder) -> DevEmbedder:
    """The session's embedder with clean counters and no injected faults."""
    embedder_server.configure(delay_s=0, per_input_delay_s=0, error_rate=0, fail_next=0)
    embedder_server.reset_stats()
    return embedder_server


@pytest.fixture
def make_stack(
    tmp_path: Path, clean_redis: RedisServer, embedder: DevEmbedder
) -> Iterator[type[Stack]]:
    """A factory of stacks on this test's Redis and embedder; all stopped afterwards."""
    stacks: list[Stack] = []

    def build(**env: str) -> Stack:
        stack = Stack(tmp_path, clean_redis, embedder, **env)
        stacks.append(stack)
        return stack

    yield build  # type: ignore[misc]
    for stack in stacks:
        stack.close()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio, as the gateway does."""
    return "asyncio"
