"""The processes of one pod: which one this is, and how the others reach the first.

With `server.workers` above 1, `hearth serve` runs that many processes of one pod, serving the
same listening socket from the same database. The first (the primary) is the pod's only sender
of deliveries and its only media processor, and runs the start-up recovery and the periodic
clean-ups; the others answer requests. Work that a request queues in another process (a
delivery, an upload to process) is announced to the primary through a datagram socket, so it
starts at once rather than at the primary's next look at the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from node.api.spread import ConnectionCounts
from node.store.turn import TurnBoard, TurnSeat

# What a datagram says; one byte each.
DELIVERIES = b"d"
MEDIA = b"m"


class Wakes:
    """A datagram channel from every process to the primary (made before the processes are,
    so each inherits both ends). Sending never blocks: when the primary's buffer is full, it
    has wakes enough waiting already."""

    def __init__(self) -> None:
        self._receive, self._send = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._receive.setblocking(False)
        self._send.setblocking(False)

    def send(self, what: bytes) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._send.send(what)

    def listen(self, handlers: dict[bytes, Callable[[], None]]) -> Callable[[], None]:
        """In the primary: call the handler of each datagram that arrives; returns `stop`."""
        loop = asyncio.get_running_loop()
        fd = self._receive.fileno()

        def readable() -> None:
            seen: set[bytes] = set()
            while True:  # drain, then act once per kind
                try:
                    seen.add(self._receive.recv(16))
                except (BlockingIOError, InterruptedError):
                    break
            for what in seen:
                handler = handlers.get(what)
                if handler is not None:
                    handler()

        loop.add_reader(fd, readable)
        return lambda: loop.remove_reader(fd)

    def close(self) -> None:
        self._receive.close()
        self._send.close()


class Changes:
    """A mark in memory every process of the pod reads (made before the processes are, as
    `Wakes`): a process that changes what the others keep copies of sets it anew, and each
    drops its copies when it sees a mark other than the one it last saw. A new random mark
    rather than a count: two processes adding one at once could both write the same value."""

    def __init__(self) -> None:
        self._mark = multiprocessing.RawValue("q", 0)

    @property
    def mark(self) -> int:
        return int(self._mark.value)

    def changed(self) -> None:
        self._mark.value = secrets.randbits(63)


@dataclass(frozen=True)
class WorkerRole:
    """Which process of its pod an app is: `index` of `count` (the default: a pod of one).
    `actor_keys`: changed when a process stores a remote actor's new key (see
    federation/actors.py, which keeps keys per process); `paused_hosts`, when one pauses or
    resumes the deliveries to a host (federation/delivery.py keeps them per process). `turns`:
    how the processes take turns to write the database (node/store/turn.py); `connections`:
    how many each serves (node/api/spread.py)."""

    index: int = 0
    count: int = 1
    wakes: Wakes | None = field(default=None, compare=False)
    actor_keys: Changes = field(default_factory=Changes, compare=False)
    paused_hosts: Changes = field(default_factory=Changes, compare=False)
    turns: TurnBoard | None = field(default=None, compare=False)
    connections: ConnectionCounts | None = field(default=None, compare=False)

    @property
    def primary(self) -> bool:
        return self.index == 0

    @property
    def shared(self) -> bool:
        """Whether other processes of this pod write the same database."""
        return self.count > 1

    def turn(self) -> TurnSeat | None:
        """This process's seat on the write-turn board, with other processes to take turns with."""
        if not self.shared:
            return None
        if self.turns is None or self.turns.count != self.count:
            raise ValueError("the processes of a pod need a turn board for all of them")
        return self.turns.seat(self.index)
