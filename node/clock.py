"""Time as a dependency, so tests can move it; and the one timestamp format of the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """Real time plus an offset that tests move forward to skip hours or days at once."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta


def iso(dt: datetime) -> str:
    """ISO 8601 UTC with milliseconds: 2026-02-19T02:13:41.863Z (sorts as text)."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(value: str) -> datetime:
    """An ISO 8601 time; one without an offset is UTC (never the server's local time)."""
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
