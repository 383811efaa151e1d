"""Opening the store: a Qdrant server by URL, or qdrant-client's local mode on a folder it locks."""

import math
from pathlib import Path

from qdrant_client import QdrantClient

from common import sparse
from common.errors import ConfigurationError
from workers.qdrant.store import QdrantStore


def open_qdrant_store(
    *, url: str | None, path: str, collection: str, timeout_s: float, api_key: str | None = None,
    avg_len: float = sparse.DEFAULT_AVG_LEN,
) -> QdrantStore:  # fmt: skip
    """Open a store on a Qdrant server at `url`, or in local mode on the folder `path`.

    Local mode locks its folder: only one process (the store worker) may open it.
    """
    client = open_client(url=url, path=path, timeout_s=timeout_s, api_key=api_key)
    return QdrantStore(client, collection=collection, local=url is None, avg_len=avg_len)


def open_client(
    *, url: str | None, path: str, timeout_s: float, api_key: str | None = None
) -> QdrantClient:
    """A client of the server at `url`, or of the local-mode folder `path` (locked while open)."""
    if url is not None:
        # The client takes whole seconds; round up so a sub-second setting never means 0.
        timeout = max(1, math.ceil(timeout_s))
        return QdrantClient(url=url, timeout=timeout, api_key=api_key)
    Path(path).mkdir(parents=True, exist_ok=True)
    _check_folder_free(Path(path))
    try:
        return QdrantClient(path=path)
    except RuntimeError as exc:
        # Another client took the folder between our probe and this open.
        if "already accessed" not in str(exc):
            raise
        raise _folder_taken(path) from exc


def _check_folder_free(folder: Path) -> None:
    """Raise ConfigurationError if another client holds the local-mode folder's lock.

    qdrant-client loads every collection before it tries the lock and, when the lock is
    taken, leaks the open lock file; probing first with the same locker avoids both.
    """
    # Imported here as qdrant-client does: portalocker probes for writable folders on import.
    import portalocker

    lock_path = folder / ".lock"
    if not lock_path.exists():
        return
    with lock_path.open("r+") as lock_file:
        try:
            portalocker.lock(
                lock_file, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING
            )
        except portalocker.exceptions.LockException as exc:
            raise _folder_taken(str(folder)) from exc
        portalocker.unlock(lock_file)


def _folder_taken(path: str) -> ConfigurationError:
    """Explain that a local-mode folder is owned by another client."""
    return ConfigurationError(
        f"Qdrant local-mode folder {path!r} is already open in another client: only one"
        " process may own a local-mode folder, and in cluster-cortex that is the store"
        " worker; run a single store worker or set CORTEX_QDRANT_URL to use a server"
    )
