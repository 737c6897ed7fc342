"""Retry policy for outgoing federation deliveries.

Pure: the caller passes the clock and the random source, and gets back what to do next.

The schedule is exponential with "equal jitter": the nominal delay doubles from
``BASE_DELAY`` up to ``MAX_DELAY`` and the actual delay is drawn from [nominal/2, nominal].
Equal rather than full jitter keeps a floor under every wait, so a burst of failures against
one peer can never turn into an immediate retry storm while still spreading retries apart.

With ``MAX_ATTEMPTS`` tries the expected span from the first failure to giving up is about
three days (~74 h; between ~49 h and ~99 h at the jitter extremes), long enough to ride out
a weekend outage of a small pod.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = (
    "BASE_DELAY",
    "MAX_ATTEMPTS",
    "MAX_DELAY",
    "RETRY_AFTER_CAP",
    "Decision",
    "Delivered",
    "GiveUp",
    "RetryAt",
    "decide",
    "host_wait",
    "schedule_delay",
)

BASE_DELAY = timedelta(seconds=30)
# Per-step cap: beyond ~4 h of doubling, waiting longer mostly just delays recovery.
MAX_DELAY = timedelta(hours=6)
# Attempts including the first one. 25 waits of mean 0.75 x nominal add up to ~74 h.
MAX_ATTEMPTS = 26
# A peer may ask us to back off, but not to park a delivery for days.
RETRY_AFTER_CAP = timedelta(hours=6)

# Statuses in 4xx that are worth retrying: auth hiccups while the peer refetches our key,
# request timeouts and rate limiting.
_RETRYABLE_4XX = frozenset({401, 408, 429})
# Doubling stops mattering long before this; bounding the exponent avoids huge integers.
_MAX_EXPONENT = 32


@dataclass(frozen=True, slots=True)
class Delivered:
    """The peer accepted the delivery."""


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Try again at ``at``; ``reason`` says why the last attempt failed."""

    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop trying. ``gone`` means the peer said 410: the recipient no longer exists."""

    reason: str
    gone: bool = False


Decision = Delivered | RetryAt | GiveUp


def schedule_delay(attempt: int, rand: Callable[[], float]) -> timedelta:
    """Delay before the try that follows failed try number ``attempt`` (1-based).

    ``rand`` returns a float in [0, 1); values outside are clamped.
    """
    step = min(max(attempt, 1) - 1, _MAX_EXPONENT)
    nominal = min(BASE_DELAY * (2**step), MAX_DELAY)
    r = min(max(rand(), 0.0), 1.0)
    return nominal * (0.5 + 0.5 * r)


def decide(
    attempt: int,
    status: int | None,
    retry_after: str | None,
    now: datetime,
    rand: Callable[[], float],
) -> Decision:
    """What to do after try number ``attempt`` (1-based, counting this one) of a delivery.

    ``status`` is the HTTP status, or None for a connection error or timeout.
    ``retry_after`` is the raw Retry-After header of the response, if any.
    """
    if status is not None:
        if 200 <= status < 300:
            return Delivered()
        if status == 410:
            return GiveUp("gone", gone=True)
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            return GiveUp(f"rejected: HTTP {status}")
    # Everything else (5xx, 3xx we did not follow, 401/408/429, network errors) is transient.
    if attempt >= MAX_ATTEMPTS:
        return GiveUp("expired")
    delay = schedule_delay(attempt, rand)
    asked = _parse_retry_after(retry_after, now)
    if asked is not None and asked > delay:
        delay = min(asked, RETRY_AFTER_CAP)
    reason = "connection error" if status is None else f"HTTP {status}"
    return RetryAt(now + delay, reason)


def host_wait(status: int | None, retry_after: str | None, now: datetime) -> datetime | None:
    """Until when nothing more should go to a host that answered `status` (None: no answer).

    A 429 or 503 with a Retry-After is about the sender (rate limited, overloaded), not one
    message. A host that did not answer at all (refused, timed out) would most likely keep
    each of its other deliveries waiting as long, in slots every host shares: they wait one
    step of the schedule. None when there is nothing to wait for."""
    if status is None:
        return now + BASE_DELAY
    if status not in (429, 503):
        return None
    asked = _parse_retry_after(retry_after, now)
    if not asked:
        return None
    return now + min(asked, RETRY_AFTER_CAP)


def _parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as delta-seconds or HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        # Clamp before building the timedelta so absurd values cannot overflow.
        seconds = min(int(text), int(RETRY_AFTER_CAP.total_seconds()) + 1)
        return timedelta(seconds=seconds)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        # A date in the past means "now"; it never shortens our own schedule.
        return max(_as_utc(when) - _as_utc(now), timedelta(0))
    except OverflowError:  # an offset that takes a date near year 1 or 9999 out of range
        return None


def _as_utc(when: datetime) -> datetime:
    # HTTP dates are GMT and servers run in UTC: naive values are read as UTC.
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
