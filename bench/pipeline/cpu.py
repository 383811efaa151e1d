"""CPU seconds used by each process of the stack and by the benchmark itself.

A Celery prefork worker is a tree (the main process and its pool children), so each component
counts its whole tree: live descendants plus what reaped children left in the parent's
`children_*` times. The benchmark process holds the embedder, the clients and the poller.
"""

import contextlib

# No stubs in the dev dependencies (types-psutil would add them).
import psutil  # type: ignore[import-untyped]


def _own_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def tree_s(pid: int) -> float:
    """CPU seconds of a process and all its descendants so far; 0 once it is gone."""
    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        proc = psutil.Process(pid)
        total += _own_s(proc)
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += _own_s(child)
    return total


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds per named process tree, plus `redis` (our redis-server) and `bench`."""
    seconds = {name: tree_s(pid) for name, pid in pids.items()}
    me = psutil.Process()
    redis = [c.pid for c in me.children() if c.name().startswith("redis-server")]
    seconds["redis"] = sum(tree_s(pid) for pid in redis)
    times = me.cpu_times()
    seconds["bench"] = float(times.user + times.system)
    return seconds


def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent between two snapshots, per name."""
    return {name: after[name] - before.get(name, 0.0) for name in after}


def cores() -> int:
    """Logical CPUs of this machine."""
    return psutil.cpu_count() or 1
