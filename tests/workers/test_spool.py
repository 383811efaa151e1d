"""The vector spool: read back by exact text, shared by processes, bounded by size and age."""

import os
import time
from pathlib import Path

from workers.spool import Spool


def spool(root: Path, **kwargs: float) -> Spool:
    options = {"max_bytes": 1 << 20, "ttl_s": 3600.0, **kwargs}
    return Spool(root, model="nomic-embed-text", **options)  # type: ignore[arg-type]


def test_kept_vectors_come_back_for_the_same_texts_only(tmp_path: Path) -> None:
    s = spool(tmp_path / "spool")
    assert s.lookup(["a"]) == {}  # no folder yet: nothing, no error
    assert s.keep(["a", "b"], [[0.5, 0.25], [1.0, -1.0]]) == 2
    again = spool(tmp_path / "spool")  # another process of the node
    assert again.lookup(["x", "b", "a"]) == {1: [1.0, -1.0], 2: [0.5, 0.25]}
    assert Spool(tmp_path / "spool", model="other", max_bytes=1 << 20, ttl_s=60).lookup(["a"]) == {}
    again.forget(["a"])
    assert again.lookup(["a", "b"]) == {1: [1.0, -1.0]}


def test_old_entries_and_the_oldest_over_the_bound_are_dropped(tmp_path: Path) -> None:
    s = spool(tmp_path, ttl_s=60.0, max_bytes=3 * 8 * 4)
    s.keep(["old"], [[0.0] * 8])
    [old] = list(tmp_path.glob("*/*"))
    os.utime(old, (time.time() - 120, time.time() - 120))
    for name in ("a", "b", "c", "d"):
        s.keep([name], [[1.0] * 8])
    assert s.lookup(["old", "a", "b", "c", "d"]).keys() == {2, 3, 4}


def test_an_unwritable_spool_keeps_nothing_and_raises_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert spool(blocker / "spool").keep(["a"], [[1.0]]) == 0
