"""Media housekeeping: work survives a restart; `hearth media gc` removes unfinished uploads."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from node.cli import main
from tests.api.test_media_flow import announce, image_bytes, leftovers, wait_ready
from tests.support import User


def set_status(db: Path, guid: str, status: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE media SET status = ? WHERE guid = ?", (status, guid))


async def test_processing_is_redone_after_a_restart(make_pod: Any, tmp_path: Path) -> None:
    data = tmp_path / "pod"
    pod = await make_pod(data_dir=data)
    alice = await pod.register("alice")
    received = await announce(pod, alice)
    arriving = await announce(pod, alice)
    port = pod.server.port
    await pod.stop()

    # As a crash would leave them: one upload received but not processed, one half-received.
    tmp = pod.config.media_path / "tmp"
    (tmp / f"{received['media']['id']}.upload").write_bytes(image_bytes(size=(12, 34)))
    set_status(pod.config.database_path, received["media"]["id"], "processing")
    (tmp / f"{arriving['media']['id']}.part").write_bytes(b"\x89PNG\r\n")
    set_status(pod.config.database_path, arriving["media"]["id"], "uploading")

    again = await make_pod(data_dir=data, port=port)
    user = User(alice.username, alice.token, alice.account_id, alice.identity_id, alice.password)
    item = await wait_ready(again, user, received["media"]["id"])
    assert (item["status"], item["width"], item["height"]) == ("ready", 12, 34)
    await again.call("GET", f"/api/v1/media/{arriving['media']['id']}", user, expect=404)
    files = leftovers(again)
    assert [p.parts[-3] for p in files] == ["blobs"]  # the stored blob, and nothing temporary


async def test_cli_media_gc(make_pod: Any, tmp_path: Path, capsys: Any) -> None:
    folder = tmp_path / "pod"
    pod = await make_pod(data_dir=folder / "data")
    alice = await pod.register("alice")
    pod.clock.advance(timedelta(hours=-2))  # announced two hours ago, never uploaded
    stale = await announce(pod, alice)
    pod.clock.advance(timedelta(hours=2))
    fresh = await announce(pod, alice)
    config = folder / "config.toml"
    config.write_text(
        f'[server]\npublic_url = "{pod.url}"\n[storage]\ndata_dir = "data"\n'
        "[auth]\nargon2_time_cost = 1\nargon2_memory_kib = 64\n[media]\npending_hours = 1.0\n",
        encoding="utf-8",
    )
    assert await asyncio.to_thread(main, ["media", "gc", "--config", str(config)]) == 0
    assert "removed 1 unfinished uploads" in capsys.readouterr().out
    await pod.call("GET", f"/api/v1/media/{stale['media']['id']}", alice, expect=404)
    await pod.call("GET", f"/api/v1/media/{fresh['media']['id']}", alice, expect=200)
