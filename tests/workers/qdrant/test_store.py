"""QdrantStore against qdrant-client's local mode: idempotence, model guard, and no lost points."""

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from qdrant_client import QdrantClient
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from common.errors import ConfigurationError, PermanentError, TransientError
from common.points import Kind, Point, SearchQuery
from workers.qdrant.opening import open_qdrant_store
from workers.qdrant.store import QdrantStore

DIM = 4
MODEL = "nomic-embed-text"

OpenStore = Callable[[], QdrantStore]


def make_point(name: str, vector: list[float], kind: Kind = "alert", **payload: Any) -> Point:
    """Build a point whose id is a uuid5 of `name`, as the project derives ids."""
    point_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    return Point(id=point_id, kind=kind, vector=vector, payload={"name": name, **payload})


def dense(vector: list[float]) -> SearchQuery:
    """A dense-only query, as every search was before hybrid retrieval."""
    return SearchQuery(vector=vector, mode="dense")


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator[OpenStore]:
    """Yield a factory opening local-mode stores on one folder; closes them all afterwards."""
    opened: list[QdrantStore] = []

    def factory() -> QdrantStore:
        store = open_qdrant_store(
            url=None, path=str(tmp_path / "qdrant"), collection="cortex", timeout_s=5
        )
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> QdrantStore:
    """A local-mode store whose collection exists with DIM and MODEL."""
    store = open_store()
    store.ensure_collection(dim=DIM, model=MODEL)
    return store


def test_ensure_collection_is_idempotent(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path))
    try:
        first = QdrantStore(client, collection="cortex", local=True)
        first.ensure_collection(dim=DIM, model=MODEL)
        first.ensure_collection(dim=DIM, model=MODEL)
        QdrantStore(client, collection="cortex", local=True).ensure_collection(dim=DIM, model=MODEL)
        assert [c.name for c in client.get_collections().collections] == ["cortex"]
    finally:
        client.close()


def test_ensure_collection_tolerates_losing_a_creation_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = QdrantClient(path=str(tmp_path))
    try:
        QdrantStore(client, collection="cortex", local=True).ensure_collection(dim=DIM, model=MODEL)
        # Another caller created it between our existence check and our create.
        answers = iter([False, True])
        monkeypatch.setattr(client, "collection_exists", lambda _name: next(answers))
        QdrantStore(client, collection="cortex", local=True).ensure_collection(dim=DIM, model=MODEL)
    finally:
        client.close()


def test_server_409_on_create_counts_as_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = QdrantClient(path=str(tmp_path))
    try:
        QdrantStore(client, collection="cortex", local=True).ensure_collection(dim=DIM, model=MODEL)
        conflict = UnexpectedResponse(409, "Conflict", b"{}", httpx.Headers())
        monkeypatch.setattr(client, "collection_exists", lambda _name: False)
        monkeypatch.setattr(client, "create_collection", _raiser(conflict))
        QdrantStore(client, collection="cortex", local=True).ensure_collection(dim=DIM, model=MODEL)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UnexpectedResponse(503, "Unavailable", b"", httpx.Headers()), TransientError),
        (UnexpectedResponse(400, "Bad Request", b"", httpx.Headers()), PermanentError),
        (ResponseHandlingException(httpx.ConnectTimeout("timed out")), TransientError),
        (ValueError("bad input"), PermanentError),
    ],
)
def test_client_errors_are_translated(
    store: QdrantStore,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    expected: type[Exception],
) -> None:
    monkeypatch.setattr(store._client, "count", _raiser(error))
    with pytest.raises(expected) as caught:
        store.count("alert")
    assert caught.value.__cause__ is error


def test_changed_dim_is_refused_after_reopen(open_store: OpenStore) -> None:
    first = open_store()
    first.ensure_collection(dim=DIM, model=MODEL)
    first.close()
    with pytest.raises(ConfigurationError, match=r"dim 4.*dim 8.*CORTEX_COLLECTION"):
        open_store().ensure_collection(dim=8, model=MODEL)


def test_changed_model_is_refused_after_reopen(open_store: OpenStore) -> None:
    first = open_store()
    first.ensure_collection(dim=DIM, model=MODEL)
    first.close()
    with pytest.raises(ConfigurationError, match=r"'nomic-embed-text'.*'other-model'"):
        open_store().ensure_collection(dim=DIM, model="other-model")


def test_upsert_counts_new_ids_and_overwrites(store: QdrantStore) -> None:
    points = [make_point("a", [1, 0, 0, 0]), make_point("b", [0, 1, 0, 0])]
    assert store.upsert(points) == 2
    assert store.upsert(points) == 0
    assert store.count("alert") == 2


def test_upsert_counts_an_id_repeated_in_one_call_once(store: QdrantStore) -> None:
    assert store.upsert([make_point("a", [1, 0, 0, 0]), make_point("a", [0, 1, 0, 0])]) == 1
    assert store.count("alert") == 1


def test_wrong_length_vector_writes_nothing(store: QdrantStore) -> None:
    batch = [make_point("ok", [1, 0, 0, 0]), make_point("short", [1, 0, 0])]
    with pytest.raises(PermanentError, match="3 dims"):
        store.upsert(batch)
    assert store.count("alert") == 0


def test_set_payload_merges_only_into_existing_points(store: QdrantStore) -> None:
    point = make_point("a", [1, 0, 0, 0], severity="warning")
    missing = make_point("missing", [1, 0, 0, 0])
    store.upsert([point])
    assert store.set_payload(missing.id, {"resolved": True}) is False
    assert store.set_payload(point.id, {"resolved": True}) is True
    [hit] = store.search(dense([1, 0, 0, 0]), kind=None, limit=5)
    assert hit.payload == {"name": "a", "severity": "warning", "resolved": True}
    assert store.count("alert") == 1


def test_search_ranks_nearest_first_and_honours_kind_and_limit(store: QdrantStore) -> None:
    store.upsert(
        [
            make_point("near", [1, 0.1, 0, 0]),
            make_point("far", [0, 1, 0, 0]),
            make_point("chat", [1, 0, 0, 0], kind="chat"),
        ]
    )
    alerts = store.search(dense([1, 0, 0, 0]), kind="alert", limit=5)
    assert [hit.payload["name"] for hit in alerts] == ["near", "far"]
    assert {hit.kind for hit in alerts} == {"alert"}
    [nearest] = store.search(dense([1, 0, 0, 0]), kind=None, limit=1)
    assert nearest.payload["name"] == "chat"


def test_count_is_per_kind(store: QdrantStore) -> None:
    store.upsert(
        [
            make_point("a1", [1, 0, 0, 0]),
            make_point("a2", [0, 1, 0, 0]),
            make_point("c1", [0, 0, 1, 0], kind="chat"),
        ]
    )
    assert (store.count("alert"), store.count("chat")) == (2, 1)


def test_second_open_of_a_local_folder_is_a_configuration_error(open_store: OpenStore) -> None:
    open_store()
    with pytest.raises(ConfigurationError, match="only one process"):
        open_store()


@pytest.mark.timeout(60)
def test_concurrent_work_through_one_local_store_loses_no_point(open_store: OpenStore) -> None:
    store = open_store()
    store.ensure_collection(dim=DIM, model=MODEL)
    writing = threading.Event()
    writing.set()

    def write(worker: int) -> int:
        points = (make_point(f"w{worker}-{i}", [1, worker, i, 1]) for i in range(100))
        return sum(store.upsert([point]) for point in points)

    def read(kind: Kind) -> int:
        rounds = 0
        while rounds == 0 or writing.is_set():
            store.search(dense([1, 0, 0, 0]), kind=kind, limit=10)
            store.count(kind)
            rounds += 1
        return rounds

    with ThreadPoolExecutor(max_workers=11) as pool:
        readers = [pool.submit(read, kind) for kind in ("alert", "alert", "chat")]
        writers = [pool.submit(write, worker) for worker in range(8)]
        new_ids = sum(future.result() for future in writers)
        writing.clear()
        assert all(future.result() > 0 for future in readers)

    assert new_ids == 800
    assert store.count("alert") == 800
    store.close()
    assert open_store().count("alert") == 800


def _raiser(error: Exception) -> Callable[..., Any]:
    """Return a stand-in client method that raises `error`."""

    def raise_(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return raise_
