"""PasswordThrottle: what counts against whom, and when an attempt is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from node.errors import ApiError
from node.services.throttle import Attempt, PasswordThrottle
from node.store.db import Database
from node.store.migrate import migrate

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(seconds=60)
ALICE = "0" * 32
HOME, AWAY = "198.51.100.7", "203.0.113.5"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "t.db").open()
    await migrate(database)
    yield database
    await database.close()


async def refused(attempt: Awaitable[Attempt]) -> int:
    """The Retry-After of an attempt refused."""
    with pytest.raises(ApiError) as caught:
        await attempt
    assert caught.value.status == 429
    return int(caught.value.headers["Retry-After"])


async def fail(
    throttle: PasswordThrottle,
    address: str,
    account: str | None,
    login: str = "",
    at: datetime = NOW,
) -> None:
    await throttle.end(await throttle.begin(address, at, account, login), ok=False)


async def test_attempts_count_while_they_are_checked(db: Database) -> None:
    throttle = PasswordThrottle(db, 3, 10, WINDOW)
    pending = [await throttle.begin(AWAY, NOW, ALICE) for _ in range(3)]
    assert await refused(throttle.begin(AWAY, NOW, ALICE)) == 60
    for attempt in pending:
        await throttle.end(attempt, ok=False)
    assert await refused(throttle.begin(AWAY, NOW, ALICE)) == 60


async def test_a_success_is_not_a_failure_and_clears_its_pairs(db: Database) -> None:
    throttle = PasswordThrottle(db, 3, 3, WINDOW)
    for _ in range(2):
        await fail(throttle, HOME, ALICE)
    await throttle.end(await throttle.begin(HOME, NOW, ALICE), ok=True)
    # Alice's two failures are cleared from this address; they still count for the address.
    await fail(throttle, HOME, ALICE)
    assert await refused(throttle.begin(HOME, NOW, None, "bob")) == 60


async def test_an_account_is_refused_only_from_where_it_failed(db: Database) -> None:
    throttle = PasswordThrottle(db, 3, 10, WINDOW)
    for _ in range(3):
        await fail(throttle, AWAY, ALICE)
    await refused(throttle.begin(AWAY, NOW, ALICE))
    await throttle.end(await throttle.begin(HOME, NOW, ALICE), ok=True)
    await throttle.begin(AWAY, NOW, None, "bob")  # another login from there is still allowed


async def test_an_address_is_limited_across_logins(db: Database) -> None:
    throttle = PasswordThrottle(db, 3, 5, WINDOW)
    for n in range(5):
        await fail(throttle, AWAY, None, f"user{n}")
    assert await refused(throttle.begin(AWAY, NOW, ALICE)) == 60
    await throttle.begin(HOME, NOW, ALICE)


async def test_unknown_logins_count_by_name_whatever_its_case(db: Database) -> None:
    throttle = PasswordThrottle(db, 2, 10, WINDOW)
    for login in ("nobody", "NoBody"):
        await fail(throttle, AWAY, None, login)
    await refused(throttle.begin(AWAY, NOW, None, "NOBODY"))
    await throttle.begin(AWAY, NOW, None, "somebody")


async def test_the_window_slides(db: Database) -> None:
    throttle = PasswordThrottle(db, 2, 10, WINDOW)
    await fail(throttle, AWAY, ALICE)
    await fail(throttle, AWAY, ALICE, at=NOW + timedelta(seconds=20.5))
    # The first failure leaves the window 60 s after it was made; Retry-After rounds up.
    assert await refused(throttle.begin(AWAY, NOW + timedelta(seconds=30.2), ALICE)) == 30
    await fail(throttle, AWAY, ALICE, at=NOW + timedelta(seconds=60))
    assert await refused(throttle.begin(AWAY, NOW + timedelta(seconds=61), ALICE)) == 20


async def test_limits_are_shared_by_throttles_on_one_database(db: Database) -> None:
    """As by the processes of one pod, each with a throttle of its own."""
    one, other = PasswordThrottle(db, 3, 10, WINDOW), PasswordThrottle(db, 3, 10, WINDOW)
    await fail(one, AWAY, ALICE)
    pending = [await other.begin(AWAY, NOW, ALICE), await one.begin(AWAY, NOW, ALICE)]
    assert await refused(other.begin(AWAY, NOW, ALICE)) == 60
    for attempt in pending:
        await one.end(attempt, ok=True)
    await other.begin(AWAY, NOW, ALICE)


async def stored(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM login_failures"))


async def test_failures_that_have_left_the_window_are_forgotten(db: Database) -> None:
    throttle = PasswordThrottle(db, 3, 100, WINDOW)
    for n in range(100):  # a spray of distinct logins, each failing once
        await fail(throttle, AWAY, None, f"user{n}")
    assert await stored(db) == 200  # each pair's failure, and the address's
    assert await refused(throttle.begin(AWAY, NOW + timedelta(seconds=1), None, "late")) == 59
    await fail(throttle, HOME, None, "late", at=NOW + timedelta(seconds=30))
    assert await stored(db) == 202  # nothing has expired yet
    await fail(throttle, HOME, None, "later", at=NOW + timedelta(seconds=61))
    assert await stored(db) == 4  # only those of the last two attempts remain
    await throttle.begin(AWAY, NOW + timedelta(seconds=61), None, "again")
    # Expired failures are deleted once a window, not at every attempt: those of 30 s stay
    # until a window has passed since the last deletion.
    await fail(throttle, AWAY, None, "soon", at=NOW + timedelta(seconds=95))
    assert await stored(db) == 8
    await fail(throttle, AWAY, None, "next", at=NOW + timedelta(seconds=121))
    assert await stored(db) == 4
