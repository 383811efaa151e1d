"""The embedded model, loaded once for the package's tests, with the network unreachable."""

import socket
from typing import Any

import pytest

from common.embedding.minilm import MiniLM

# Loaded with every way out of the process closed: a load that needed the network fails.
CRASHLOOP = "pod keeps restarting in a crash loop"


class NetworkUnreachable(OSError):
    """What every socket call raises while the model loads."""


@pytest.fixture(scope="package")
def offline_attempts() -> list[str]:
    """Socket calls attempted while `model` was loaded and first used (none expected)."""
    return []


@pytest.fixture(scope="package")
def model(offline_attempts: list[str]) -> MiniLM:
    """all-MiniLM-L6-v2 on 2 threads, loaded and run once with the network unreachable."""

    def refuse(name: str) -> Any:
        def refused(*args: object, **kwargs: object) -> None:
            offline_attempts.append(f"{name}{args}")
            raise NetworkUnreachable(f"{name}: no network in this test")

        return refused

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "create_connection", refuse("create_connection"))
        patch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
        patch.setattr(socket.socket, "connect", refuse("connect"))
        patch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
        loaded = MiniLM(threads=2)
        loaded.embed([CRASHLOOP])
    return loaded
