"""`since` reads as an ISO-8601 time or a duration back from now; anything else names the field."""

from datetime import UTC, datetime

import pytest

from gateway.errors import ApiError
from gateway.recall import parse_since

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ("7d", "2026-04-24T12:00:00Z"),
        ("24h", "2026-04-30T12:00:00Z"),
        (" 90s ", "2026-05-01T11:58:30Z"),
        ("2w", "2026-04-17T12:00:00Z"),
        ("2026-04-01", "2026-04-01T00:00:00Z"),
        ("2026-04-01T10:00:00+02:00", "2026-04-01T08:00:00Z"),
        ("2026-04-01T10:00:00.5Z", "2026-04-01T10:00:00.500000Z"),
    ],
)
def test_times_and_durations(given: str | None, expected: str | None) -> None:
    assert parse_since(given, now=NOW) == expected


@pytest.mark.parametrize("given", ["", "yesterday", "7 days", "-1d", "999999w", "2026-13-01"])
def test_anything_else_is_a_422_naming_since(given: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_since(given, now=NOW)
    assert refused.value.status == 422
    assert refused.value.detail[0]["field"] == "since"
