"""Times as the API and federation read them: an ISO 8601 time without an offset is UTC."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from federation.handlers.shares import _expiry
from node.clock import iso, parse_iso
from node.errors import ApiError


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The server's own time zone nine hours ahead of UTC, as a pod in Tokyo would run (a
    POSIX zone string: it needs no time zone database)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_time_without_an_offset_is_utc_whatever_the_servers_zone(far_from_utc: None) -> None:
    assert time.timezone == -9 * 3600  # the zone did change
    assert parse_iso("2026-12-07T09:50:37") == datetime(2026, 12, 7, 9, 50, 37, tzinfo=UTC)
    assert parse_iso("2026-12-07T09:50:37Z") == parse_iso("2026-12-07T10:50:37+01:00")
    assert _expiry("2026-12-07T09:50:37") == "2026-12-07T09:50:37.000Z"


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "soon", "2026-13-01T00:00:00"])
def test_a_share_expiry_that_is_no_time_is_refused(value: str) -> None:
    with pytest.raises(ApiError) as info:
        _expiry(value)
    assert (info.value.status, info.value.code) == (422, "invalid_object")
    assert iso(parse_iso("2026-01-01T00:00:00Z")) == "2026-01-01T00:00:00.000Z"
