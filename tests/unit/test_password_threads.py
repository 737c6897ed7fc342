"""Password hashing runs in threads of its own, apart from the default executor."""

from __future__ import annotations

import asyncio
import threading

from node.services.passwords import Passwords


async def test_hashing_does_not_wait_for_a_busy_default_executor() -> None:
    passwords = Passwords(time_cost=1, memory_kib=64)
    gate = threading.Event()
    loop = asyncio.get_running_loop()
    busy = [loop.run_in_executor(None, gate.wait) for _ in range(40)]
    try:
        check = asyncio.ensure_future(passwords.hash("correct horse"))
        await asyncio.wait({check}, timeout=10.0)
        assert check.done()
        assert await passwords.verify(check.result(), "correct horse")
        assert not await passwords.verify(check.result(), "wrong")
    finally:
        gate.set()
        await asyncio.gather(*busy)
