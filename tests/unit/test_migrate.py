"""Migrations applied by two processes at once (serve starting while a command runs)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from node.store.db import Database
from node.store.migrate import applied_versions, available, migrate


async def test_two_connections_migrating_at_once_both_succeed(tmp_path: Path) -> None:
    first = await Database(tmp_path / "pod.db").open()
    second = await Database(tmp_path / "pod.db").open()
    try:
        # Both read the applied versions before either applies anything.
        ran = await asyncio.gather(migrate(first), migrate(second))
        assert sorted(ran[0] + ran[1]) == sorted(name for _, name, _ in available())
        assert await applied_versions(second) == {v for v, _, _ in available()}
        assert await migrate(first) == []
    finally:
        await first.close()
        await second.close()
