"""The inbox's memory of remote authors read as followed."""

from __future__ import annotations

from datetime import timedelta

from federation.followed import REMEMBER_FOR, FollowedAuthors
from node.clock import ManualClock


def test_a_follow_read_is_taken_as_there_for_a_while() -> None:
    clock = ManualClock()
    followed = FollowedAuthors(clock)
    assert not followed.knows("a")
    followed.remember("a")
    clock.advance(REMEMBER_FOR - timedelta(seconds=1))
    assert followed.knows("a")
    clock.advance(timedelta(seconds=1))
    assert not followed.knows("a")  # asked again from then on
    followed.remember("a")
    assert followed.knows("a")


def test_the_memory_keeps_the_authors_remembered_last() -> None:
    clock = ManualClock()
    followed = FollowedAuthors(clock, size=3)
    for guid in ("a", "b", "c"):
        followed.remember(guid)
    followed.remember("a")  # again: now the latest
    followed.remember("d")
    assert [g for g in "abcd" if followed.knows(g)] == ["a", "c", "d"]
