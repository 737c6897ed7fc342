"""Whose turn it is to write, among the processes of one pod (`server.workers` above 1).

The turn is an exclusive `flock` on a file beside the database, held from BEGIN to the end of
COMMIT; a process that dies gives it back with its files. SQLite's own lock has no queue: a
process finding it taken can only try again later, and one that writes without pause (a busy
inbox) leaves the others a gap of microseconds between its commits.

So the processes share a `TurnBoard`, made before them: a process that finds the turn taken
raises its flag there and waits on its event loop for a datagram, which the holder sends when
it gives the turn back. Nothing holds the turn while the waiter's loop is still busy elsewhere
(a thread blocked in `flock` would have taken it, and kept it until the loop came round), and
a holder that finds another process waiting after its own turn lets that one go first.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import multiprocessing
import os
import socket
import sqlite3
from pathlib import Path

# How long a waiter waits for a datagram before it tries again all the same: a holder that
# died gave the turn back without a word.
RETRY_SECONDS = 0.005


class TurnBoard:
    """What the processes of one pod share to take turns: per process, a datagram socket it is
    woken on and a flag saying it waits; and which process took the turn last."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._sockets = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(count)]
        for pair in self._sockets:
            for end in pair:
                end.setblocking(False)
        self._waiting = multiprocessing.RawArray("b", count)
        self._last = multiprocessing.RawValue("i", -1)

    def seat(self, index: int) -> TurnSeat:
        return TurnSeat(self, index)

    def close(self) -> None:
        for pair in self._sockets:
            for end in pair:
                end.close()


class TurnSeat:
    """One process's place on the board."""

    def __init__(self, board: TurnBoard, index: int) -> None:
        self.board = board
        self.index = index

    @property
    def inbox(self) -> socket.socket:
        return self.board._sockets[self.index][0]

    def waiting(self, flag: bool) -> None:
        self.board._waiting[self.index] = 1 if flag else 0

    def others_waiting(self) -> bool:
        waiting = self.board._waiting
        return any(waiting[i] for i in range(self.board.count) if i != self.index)

    def took(self) -> None:
        self.board._last.value = self.index

    @property
    def took_last(self) -> bool:
        return bool(self.board._last.value == self.index)

    def wake_others(self) -> None:
        board = self.board
        for i in range(board.count):
            if i != self.index and board._waiting[i]:
                with contextlib.suppress(OSError):  # a full buffer has wakes enough
                    board._sockets[i][1].send(b"t")

    def drain(self) -> None:
        with contextlib.suppress(OSError):
            while self.inbox.recv(16):
                pass


class WriteTurn:
    """The write turn of one process: `take` before BEGIN, `give_back` after COMMIT."""

    def __init__(self, path: Path, seat: TurnSeat) -> None:
        self._path = path
        self._seat = seat
        self._fd: int | None = None
        self._held = False

    def open(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        self._seat.waiting(False)  # a flag a process that died here may have left up

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # gives the turn back, if held
            self._fd = None
            if self._held:
                self._seat.wake_others()
        self._held = False
        self._seat.waiting(False)

    async def take(self, longest: float) -> None:
        """Take the turn, waiting for up to `longest` seconds (then "database is locked")."""
        seat = self._seat
        if not (seat.took_last and seat.others_waiting()) and self._try():
            return
        loop = asyncio.get_running_loop()
        give_up = loop.time() + longest
        seat.waiting(True)
        try:
            # Let a waiting process go first after our own turn; but only once, in case the
            # flag is one left by a process that died.
            first = seat.took_last
            while True:
                seat.drain()
                if not first and self._try():
                    return
                first = False
                now = loop.time()
                if now >= give_up:
                    raise sqlite3.OperationalError("database is locked")
                await self._woken(loop, min(RETRY_SECONDS, give_up - now))
        finally:
            seat.waiting(False)

    def _try(self) -> bool:
        if self._fd is None:
            raise sqlite3.ProgrammingError("the database is closed")
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        self._seat.took()
        return True

    async def _woken(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        """A datagram on this process's socket, or `timeout`."""
        woken = loop.create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        fd = self._seat.inbox.fileno()
        loop.add_reader(fd, wake)
        timer = loop.call_later(timeout, wake)
        try:
            await woken
        finally:
            loop.remove_reader(fd)
            timer.cancel()

    def give_back(self) -> None:
        if self._held and self._fd is not None:
            self._held = False
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._seat.wake_others()
