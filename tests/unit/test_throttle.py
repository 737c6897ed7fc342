"""PasswordThrottle: what counts against whom, and when an attempt is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.errors import ApiError
from node.services.throttle import PasswordThrottle

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = "0" * 32
HOME, AWAY = "198.51.100.7", "203.0.113.5"


def refused(throttle: PasswordThrottle, address: str, account: str | None, login: str = "") -> int:
    with pytest.raises(ApiError) as caught:
        throttle.begin(address, NOW, account, login)
    assert caught.value.status == 429
    return int(caught.value.headers["Retry-After"])


def test_attempts_count_while_they_are_checked() -> None:
    throttle = PasswordThrottle(3, 10, timedelta(seconds=60))
    pending = [throttle.begin(AWAY, NOW, ALICE) for _ in range(3)]
    assert refused(throttle, AWAY, ALICE) == 60
    for attempt in pending:
        throttle.end(attempt, ok=False)
    assert refused(throttle, AWAY, ALICE) == 60


def test_a_success_is_not_a_failure_and_clears_its_pairs() -> None:
    throttle = PasswordThrottle(3, 3, timedelta(seconds=60))
    for _ in range(2):
        throttle.end(throttle.begin(HOME, NOW, ALICE), ok=False)
    throttle.end(throttle.begin(HOME, NOW, ALICE), ok=True)
    # Alice's two failures are cleared from this address; they still count for the address.
    throttle.end(throttle.begin(HOME, NOW, ALICE), ok=False)
    assert refused(throttle, HOME, None, "bob") == 60


def test_an_account_is_refused_only_from_where_it_failed() -> None:
    throttle = PasswordThrottle(3, 10, timedelta(seconds=60))
    for _ in range(3):
        throttle.end(throttle.begin(AWAY, NOW, ALICE), ok=False)
    refused(throttle, AWAY, ALICE)
    throttle.end(throttle.begin(HOME, NOW, ALICE), ok=True)
    throttle.begin(AWAY, NOW, None, "bob")  # another login from there is still allowed


def test_an_address_is_limited_across_logins() -> None:
    throttle = PasswordThrottle(3, 5, timedelta(seconds=60))
    for n in range(5):
        throttle.end(throttle.begin(AWAY, NOW, None, f"user{n}"), ok=False)
    assert refused(throttle, AWAY, ALICE) == 60
    throttle.begin(HOME, NOW, ALICE)


def test_unknown_logins_count_by_name_whatever_its_case() -> None:
    throttle = PasswordThrottle(2, 10, timedelta(seconds=60))
    for login in ("nobody", "NoBody"):
        throttle.end(throttle.begin(AWAY, NOW, None, login), ok=False)
    refused(throttle, AWAY, None, "NOBODY")
    throttle.begin(AWAY, NOW, None, "somebody")
