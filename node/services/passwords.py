"""Password hashing with Argon2id (memory-hard); the work runs off the event loop, in threads
of its own.

Passwords are checked through a PasswordGate, which holds every check to the throttle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from node.clock import Clock
from node.services.throttle import PasswordThrottle
from node.store.accounts import Account

# Hashing has threads of its own: in the default executor, a burst of logins (each check takes
# a core and `memory_kib` for a while) would keep file work, image work and DNS lookups waiting.
# Two at a time bound the memory and the cores logins take; the throttle bounds how many come.
_T = TypeVar("_T")
_HASHING = ThreadPoolExecutor(2, thread_name_prefix="hearth-password")


class Passwords:
    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Verifying against this costs as much as a real hash, so unknown logins take as long
        # as wrong passwords and do not reveal which accounts exist.
        self._dummy = self._hasher.hash("not a real password")

    async def hash(self, password: str) -> str:
        return await _run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy, password) and bool(
                    password_hash
                )
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await _run(check)


async def _run(fn: Callable[..., _T], *args: object) -> _T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, fn, *args)


class PasswordGate:
    """Checks passwords under the throttle: logins, and the current password asked again."""

    def __init__(self, passwords: Passwords, throttle: PasswordThrottle, clock: Clock) -> None:
        self._passwords = passwords
        self._throttle = throttle
        self._clock = clock

    async def check(
        self, account: Account | None, password: str, remote: str, login: str = ""
    ) -> bool:
        """Whether `password` is the account's; 429, unchecked, if `remote` failed too often.

        Without an account no password matches, and the attempt counts by the `login` typed.
        """
        guid, password_hash = (account.guid, account.password_hash) if account else (None, None)
        attempt = await self._throttle.begin(remote, self._clock.now(), guid, login)
        ok = await self._passwords.verify(password_hash, password)
        await self._throttle.end(attempt, ok)
        return ok
