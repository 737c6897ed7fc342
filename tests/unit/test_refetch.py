"""Unit tests for federation.refetch: how often a failed signature may fetch a key again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from federation.refetch import HOST_REFETCHES, FailedFetches, RefetchLimit

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
MINUTE = timedelta(seconds=60)


def key(n: int, host: str = "a.example") -> str:
    return f"https://{host}/users/u{n}#main-key"


def test_one_refetch_per_key_within_the_interval() -> None:
    limit = RefetchLimit(MINUTE)
    assert limit.allow(key(1), "a.example", NOW)
    for seconds in (0, 1, 30, 59.9):
        assert not limit.allow(key(1), "a.example", NOW + timedelta(seconds=seconds))
    assert limit.allow(key(1), "a.example", NOW + MINUTE)
    assert not limit.allow(key(1), "a.example", NOW + MINUTE + timedelta(seconds=1))


def test_keys_are_counted_apart() -> None:
    limit = RefetchLimit(MINUTE)
    assert limit.allow(key(1), "a.example", NOW)
    assert limit.allow(key(2), "a.example", NOW)
    assert limit.allow(key(1, "b.example"), "b.example", NOW)
    assert not limit.allow(key(2), "a.example", NOW)


def test_a_host_gets_a_bounded_number_within_the_interval() -> None:
    limit = RefetchLimit(MINUTE)
    allowed = [limit.allow(key(n), "a.example", NOW) for n in range(HOST_REFETCHES + 5)]
    assert allowed == [True] * HOST_REFETCHES + [False] * 5
    # Another host is not held back by this one.
    assert limit.allow(key(1, "b.example"), "b.example", NOW)
    # The host's budget comes back as its refetches leave the interval.
    assert limit.allow(key(HOST_REFETCHES + 1), "a.example", NOW + MINUTE)


def test_the_host_budget_frees_up_one_by_one() -> None:
    limit = RefetchLimit(MINUTE, per_host=2)
    assert limit.allow(key(1), "a.example", NOW)
    assert limit.allow(key(2), "a.example", NOW + timedelta(seconds=30))
    assert not limit.allow(key(3), "a.example", NOW + timedelta(seconds=59))
    assert limit.allow(key(3), "a.example", NOW + timedelta(seconds=60))
    assert not limit.allow(key(4), "a.example", NOW + timedelta(seconds=89))
    assert limit.allow(key(4), "a.example", NOW + timedelta(seconds=90))


def test_a_clock_set_back_forgives_rather_than_holds() -> None:
    limit = RefetchLimit(MINUTE)
    assert limit.allow(key(1), "a.example", NOW)
    assert limit.allow(key(1), "a.example", NOW - timedelta(hours=1))
    assert not limit.allow(key(1), "a.example", NOW - timedelta(hours=1))


def test_memory_is_bounded() -> None:
    limit = RefetchLimit(MINUTE, per_host=1000, max_tracked=3)
    for n in range(10):
        assert limit.allow(key(n), "a.example", NOW)
    # Only the three most recent are remembered; the first ones may be fetched again early.
    assert limit.allow(key(0), "a.example", NOW)
    assert not limit.allow(key(9), "a.example", NOW)


def test_a_key_id_that_failed_to_fetch_is_not_fetched_again_within_the_interval() -> None:
    failures = FailedFetches(MINUTE)
    assert failures.allow(key(1), NOW)
    failures.failed(key(1), NOW)
    assert not failures.allow(key(1), NOW + timedelta(seconds=59))
    # Other key ids, on the same host too, are not held back: nobody can shut a host out.
    assert all(failures.allow(key(n), NOW) for n in range(2, 50))
    assert failures.allow(key(1), NOW + MINUTE)


def test_failed_fetches_remember_a_bounded_number_of_key_ids() -> None:
    failures = FailedFetches(MINUTE, max_tracked=3)
    for n in range(5):
        failures.failed(key(n), NOW)
    assert [failures.allow(key(n), NOW) for n in range(5)] == [True, True] + [False] * 3
