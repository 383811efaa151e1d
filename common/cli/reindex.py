"""`cortex reindex`: add BM25 vectors to a collection made before hybrid search, from its payloads.

Run by module path (`python -m workers.qdrant.reindex`), so the CLI never imports worker code.
"""

import os
import sys
from typing import Annotated

import typer


def reindex(
    force: Annotated[
        bool, typer.Option(help="recompute every BM25 vector even if the collection is current")
    ] = False,
) -> None:
    """Upgrade the collection for hybrid search without embedding anything; store worker stopped.

    Copies every point (dense vector and payload as they are) into a new collection with
    BM25 vectors computed from the stored payloads, then replaces the old one. Stop the store
    worker (or `cortex dev`) first: local mode's folder has one owner, and on a server points
    stored meanwhile would be lost with the old collection (they wait in Redis instead).
    Running it again completes a run that stopped halfway.
    """
    argv = [sys.executable, "-m", "workers.qdrant.reindex", *(["--force"] if force else [])]
    os.execv(argv[0], argv)
