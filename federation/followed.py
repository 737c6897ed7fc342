"""Remote authors someone here follows, as the inbox last read it."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from node.clock import Clock

# How long a follow, once read, is taken as still there without reading it again.
REMEMBER_FOR = timedelta(seconds=60)
REMEMBERED = 10_000


class FollowedAuthors:
    """Authors read as followed within REMEMBER_FOR: their notes are wanted without asking the
    database again (a busy author's every post would). Only a yes is kept: a follow accepted
    in another process must count at once, while an unfollow counted up to REMEMBER_FOR late
    keeps a post or two that nobody's feed shows."""

    def __init__(self, clock: Clock, size: int = REMEMBERED) -> None:
        self._clock = clock
        self._size = size
        self._until: OrderedDict[str, datetime] = OrderedDict()

    def knows(self, author_guid: str) -> bool:
        until = self._until.get(author_guid)
        if until is None:
            return False
        if until <= self._clock.now():
            del self._until[author_guid]
            return False
        return True

    def remember(self, author_guid: str) -> None:
        self._until[author_guid] = self._clock.now() + REMEMBER_FOR
        self._until.move_to_end(author_guid)
        if len(self._until) > self._size:
            self._until.popitem(last=False)  # the one remembered longest ago
