"""Driving a server with wrk and alertmanager.lua; one run's numbers as wrk's script counts them."""

import math
import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("alertmanager.lua")
MISSING = "wrk is not installed: run ./scripts/bench-tools (as root; installs Debian's wrk)"
BUCKET_US = 10
_TIMEOUT_S = 5


class WrkError(RuntimeError):
    """wrk could not run, or its script did not report."""


@dataclass(frozen=True)
class Load:
    """How wrk drives a server: identical for both servers within a scenario and phase."""

    mode: str
    duration_s: int
    threads: int
    connections: int
    # Requests per second over all threads; 0 sends as fast as the server answers.
    rate: float = 0.0


@dataclass(frozen=True)
class WrkResult:
    """What wrk and the script counted in one run, or in several merged."""

    duration_s: float
    responses: int
    responses_2xx: int
    socket_errors: int
    alerts_sent: int
    distinct_alerts: int
    # Alerts the gateway's answers called duplicates (the baseline's answers say nothing).
    duplicates: int
    # Requests per latency bucket of BUCKET_US microseconds.
    latency: Counter[int] = field(default_factory=Counter)

    @property
    def rate_2xx(self) -> float:
        """Requests answered 2xx per second."""
        return self.responses_2xx / self.duration_s if self.duration_s else 0.0

    @property
    def failed(self) -> int:
        """Requests answered other than 2xx, plus connect, read, write errors and timeouts."""
        return self.responses - self.responses_2xx + self.socket_errors

    def percentile_ms(self, q: float) -> float | None:
        """The q-quantile (nearest rank) of latency in milliseconds; None without answers."""
        total = sum(self.latency.values())
        if not total:
            return None
        rank, seen = max(1, math.ceil(q * total)), 0
        for bucket in sorted(self.latency):
            seen += self.latency[bucket]
            if seen >= rank:
                return (bucket + 0.5) * BUCKET_US / 1000
        raise AssertionError("unreachable: the ranks add up to the total")


def merged(results: Sequence[WrkResult]) -> WrkResult:
    """Several runs as one: counts and durations added, latency histograms merged."""
    latency: Counter[int] = Counter()
    for r in results:
        latency.update(r.latency)
    return WrkResult(
        duration_s=sum(r.duration_s for r in results),
        responses=sum(r.responses for r in results),
        responses_2xx=sum(r.responses_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        alerts_sent=sum(r.alerts_sent for r in results),
        distinct_alerts=sum(r.distinct_alerts for r in results),
        duplicates=sum(r.duplicates for r in results),
        latency=latency,
    )


def wrk_binary() -> str | None:
    """The wrk on PATH, if any."""
    return shutil.which("wrk")


def run_wrk(url: str, load: Load, *, salt: int) -> WrkResult:
    """Run wrk against `url` (blocks for the load's duration) and read the script's report."""
    binary = wrk_binary()
    if binary is None:
        raise WrkError(MISSING)
    argv = [
        binary, "-t", str(load.threads), "-c", str(load.connections),
        "-d", f"{load.duration_s}s", "--timeout", f"{_TIMEOUT_S}s", "-s", str(SCRIPT), url,
        "--", load.mode, str(salt), f"{load.rate / load.threads:.3f}",
    ]  # fmt: skip
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=load.duration_s + 60, check=False
    )
    lines = {line.split(" ", 1)[0]: line for line in done.stdout.splitlines()}
    # The script's errors go to stderr while wrk carries on, so any stderr means a broken run.
    if (
        done.returncode != 0
        or done.stderr.strip()
        or not {"bench-result", "bench-latency"} <= set(lines)
    ):
        raise WrkError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return _parse(lines["bench-result"], lines["bench-latency"])


def _parse(result: str, latency: str) -> WrkResult:
    fields = {k: int(v) for k, v in (kv.split("=", 1) for kv in result.split()[1:])}
    buckets = Counter({int(b): int(n) for b, n in (kv.split(":") for kv in latency.split()[1:])})
    return WrkResult(
        duration_s=fields["duration_us"] / 1e6,
        responses=fields["requests"],
        responses_2xx=fields["responses_2xx"],
        socket_errors=sum(fields[f"errors_{k}"] for k in ("connect", "read", "write", "timeout")),
        alerts_sent=fields["alerts_sent"],
        distinct_alerts=fields["distinct_alerts"],
        duplicates=fields["duplicates"],
        latency=buckets,
    )
