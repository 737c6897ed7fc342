"""Unit tests for federation.backoff: the pure retry policy for outgoing deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.backoff import (
    BASE_DELAY,
    MAX_ATTEMPTS,
    MAX_DELAY,
    RETRY_AFTER_CAP,
    Delivered,
    GiveUp,
    RetryAt,
    decide,
    schedule_delay,
)

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)


def low() -> float:
    return 0.0


def mid() -> float:
    return 0.5


def high() -> float:
    return 0.999


def _retry(decision: object) -> RetryAt:
    assert isinstance(decision, RetryAt), decision
    return decision


# --- classification -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status: int) -> None:
    assert decide(1, status, None, NOW, mid) == Delivered()
    # Success wins even on what would otherwise be the last try.
    assert decide(MAX_ATTEMPTS, status, None, NOW, mid) == Delivered()


def test_410_gives_up_as_gone() -> None:
    assert decide(1, 410, None, NOW, mid) == GiveUp("gone", gone=True)
    assert decide(1, 410, "60", NOW, mid) == GiveUp("gone", gone=True)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 406, 409, 411, 413, 415, 422, 451, 499])
def test_permanent_4xx_gives_up(status: int) -> None:
    decision = decide(1, status, None, NOW, mid)
    assert isinstance(decision, GiveUp)
    assert not decision.gone
    assert str(status) in decision.reason


@pytest.mark.parametrize(
    "status", [None, 401, 408, 429, 500, 502, 503, 504, 599, 300, 301, 302, 304, 307, 308]
)
def test_transient_statuses_retry(status: int | None) -> None:
    decision = _retry(decide(1, status, None, NOW, mid))
    assert decision.at > NOW
    assert decision.reason == ("connection error" if status is None else f"HTTP {status}")


def test_results_are_frozen() -> None:
    decision = _retry(decide(1, 503, None, NOW, mid))
    with pytest.raises(AttributeError):
        decision.at = NOW  # type: ignore[misc]
    with pytest.raises(AttributeError):
        GiveUp("x").gone = True  # type: ignore[misc]


# --- schedule -------------------------------------------------------------------------------


def test_first_delay_is_about_thirty_seconds() -> None:
    assert schedule_delay(1, low) == BASE_DELAY / 2
    assert schedule_delay(1, mid) == timedelta(seconds=22.5)
    assert BASE_DELAY / 2 <= schedule_delay(1, high) < BASE_DELAY


def test_delays_double_until_the_cap() -> None:
    previous = timedelta(0)
    for attempt in range(1, MAX_ATTEMPTS):
        delay = schedule_delay(attempt, mid)
        nominal = min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)
        assert delay == nominal * 0.75
        assert delay >= previous
        previous = delay
    assert schedule_delay(MAX_ATTEMPTS, mid) == MAX_DELAY * 0.75


@pytest.mark.parametrize("attempt", [1, 2, 5, 10, 11, 20, MAX_ATTEMPTS, 1000])
def test_jitter_bounds(attempt: int) -> None:
    nominal = min(BASE_DELAY * 2 ** (min(attempt, 40) - 1), MAX_DELAY)
    lo = schedule_delay(attempt, low)
    hi = schedule_delay(attempt, high)
    assert lo == nominal / 2
    assert nominal / 2 < hi < nominal
    assert hi <= MAX_DELAY


def test_out_of_range_rand_and_attempt_are_clamped() -> None:
    assert schedule_delay(3, lambda: -5.0) == schedule_delay(3, low)
    assert schedule_delay(3, lambda: 7.0) == min(BASE_DELAY * 4, MAX_DELAY)
    assert schedule_delay(0, mid) == schedule_delay(1, mid)
    assert schedule_delay(-3, mid) == schedule_delay(1, mid)


@given(attempt=st.integers(min_value=-10, max_value=10_000), r=st.floats(0.0, 1.0))
def test_delay_always_within_bounds(attempt: int, r: float) -> None:
    delay = schedule_delay(attempt, lambda: r)
    assert BASE_DELAY / 2 <= delay <= MAX_DELAY


def _total_span(rand: object) -> timedelta:
    return sum(
        (schedule_delay(n, rand) for n in range(1, MAX_ATTEMPTS)),  # type: ignore[arg-type]
        timedelta(0),
    )


def test_total_span_is_about_three_days() -> None:
    span = _total_span(mid)
    assert timedelta(days=2.5) <= span <= timedelta(days=3.5)
    # Even at the jitter extremes the span stays within roughly two to four days.
    assert _total_span(low) >= timedelta(days=2)
    assert _total_span(high) <= timedelta(days=4.5)


def test_decide_follows_the_schedule_and_gives_up() -> None:
    at = NOW
    for attempt in range(1, MAX_ATTEMPTS):
        decision = _retry(decide(attempt, 503, None, at, mid))
        assert decision.at - at == schedule_delay(attempt, mid)
        at = decision.at
    assert timedelta(days=2.5) <= at - NOW <= timedelta(days=3.5)
    assert decide(MAX_ATTEMPTS, 503, None, at, mid) == GiveUp("expired")
    assert decide(MAX_ATTEMPTS + 5, None, None, at, mid) == GiveUp("expired")
    # Permanent failures and 410 are reported as such, not as expiry.
    assert decide(MAX_ATTEMPTS, 410, None, at, mid) == GiveUp("gone", gone=True)
    assert decide(MAX_ATTEMPTS, 404, None, at, mid).gone is False  # type: ignore[union-attr]


def test_naive_now_stays_naive() -> None:
    naive = NOW.replace(tzinfo=None)
    decision = _retry(decide(1, 503, None, naive, mid))
    assert decision.at.tzinfo is None
    assert decision.at - naive == schedule_delay(1, mid)


# --- Retry-After ----------------------------------------------------------------------------


def test_retry_after_seconds_honoured_when_larger() -> None:
    decision = _retry(decide(1, 429, "120", NOW, mid))
    assert decision.at == NOW + timedelta(seconds=120)
    decision = _retry(decide(1, 503, "  3600 ", NOW, mid))
    assert decision.at == NOW + timedelta(hours=1)


def test_retry_after_smaller_than_schedule_is_ignored() -> None:
    attempt = 12  # nominal delay already capped at MAX_DELAY
    decision = _retry(decide(attempt, 503, "5", NOW, mid))
    assert decision.at == NOW + schedule_delay(attempt, mid)
    decision = _retry(decide(1, 503, "0", NOW, mid))
    assert decision.at == NOW + schedule_delay(1, mid)


def test_retry_after_http_date() -> None:
    decision = _retry(decide(1, 503, "Fri, 14 Mar 2025 12:30:00 GMT", NOW, mid))
    assert decision.at == NOW + timedelta(minutes=30)
    # Obsolete RFC 850 form too.
    decision = _retry(decide(1, 503, "Friday, 14-Mar-25 12:10:00 GMT", NOW, mid))
    assert decision.at == NOW + timedelta(minutes=10)
    # A date in the past does not shorten the schedule.
    decision = _retry(decide(1, 503, "Fri, 14 Mar 2025 11:00:00 GMT", NOW, mid))
    assert decision.at == NOW + schedule_delay(1, mid)


def test_retry_after_is_capped() -> None:
    for value in ("86400", "999999999999999999999999999", "Tue, 14 Mar 2034 12:00:00 GMT"):
        decision = _retry(decide(1, 429, value, NOW, mid))
        assert decision.at == NOW + RETRY_AFTER_CAP, value


@pytest.mark.parametrize(
    "value",
    ["", "   ", "soon", "-30", "1.5", "12 seconds", "0x10", "١٢٠", "Fri, 99 Foo 2025 12:30:00 GMT"],
)
def test_garbage_retry_after_is_ignored(value: str) -> None:
    decision = _retry(decide(1, 503, value, NOW, mid))
    assert decision.at == NOW + schedule_delay(1, mid)


def test_retry_after_does_not_resurrect_permanent_failures() -> None:
    assert decide(1, 404, "60", NOW, mid) == GiveUp("rejected: HTTP 404")
    assert decide(MAX_ATTEMPTS, 503, "60", NOW, mid) == GiveUp("expired")


def test_retry_after_date_out_of_range_in_utc_is_ignored() -> None:
    # Year 9999 twelve hours west of Greenwich is past the last date Python can hold in UTC.
    decision = _retry(decide(1, 503, "Fri, 31 Dec 9999 23:59:59 -1200", NOW, mid))
    assert decision.at == NOW + schedule_delay(1, mid)
