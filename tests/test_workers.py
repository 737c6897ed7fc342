"""A pod of several processes (`server.workers`): each is an app of its own on the one database,
as `hearth serve` runs them; here two apps in this process, each on a port of its own, stand
for two processes behind the one socket. The first alone sends deliveries and processes
uploads; what the others queue reaches it through the wake channel."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from PIL import Image

from node.api import spread
from node.api.spread import ConnectionCounts
from node.api.traffic import CLASSES, Traffic
from node.appkeys import DB
from node.clock import iso
from node.store.turn import TurnBoard
from node.workers import Changes, Wakes, WorkerRole
from tests.api.test_media_flow import announce, image_bytes, upload
from tests.conftest import PodFactory
from tests.federation.test_flows import follow_accepted, stream
from tests.remote import RemoteServer
from tests.support import Pod, User, free_port, wait_for

# The primary looks at the queue at least this often on its own (federation/delivery.py
# IDLE_POLL is 5 s): work announced through the channel must start well before.
PROMPTLY = 2.0


@dataclass
class Process(Pod):
    """A process of the pod, reached at its own port (its `public_url` is the pod's)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@dataclass
class TwoProcesses:
    primary: Pod
    other: Process
    connections: ConnectionCounts


async def start_processes(
    make_pod: PodFactory,
    folder: Path,
    wakes: Wakes,
    turns: TurnBoard,
    before_other: Any = None,
    **settings: Any,
) -> TwoProcesses:
    """`settings`: config sections for both (as `hearth serve` runs them, with workers = 2)."""
    counts = multiprocessing.RawArray("q", 2 * len(CLASSES))
    actor_keys, paused_hosts, connections = Changes(), Changes(), ConnectionCounts(2)
    port = free_port()
    server = {**settings.pop("server", {}), "workers": 2}
    primary = await make_pod(
        data_dir=folder,
        port=port,
        role=WorkerRole(0, 2, wakes, actor_keys, paused_hosts, turns, connections),
        traffic=Traffic(counts, 0),
        server=server,
        **settings,
    )
    if before_other is not None:
        await before_other(primary)
    other = await make_pod(
        data_dir=folder,
        role=WorkerRole(1, 2, wakes, actor_keys, paused_hosts, turns, connections),
        traffic=Traffic(counts, 1),
        server={**server, "public_url": primary.url},
        **settings,
    )
    other_process = Process(other.config, other.server, other.clock, other.http)
    return TwoProcesses(primary, other_process, connections)


@pytest.fixture
async def pod(make_pod: PodFactory, tmp_path: Path, wakes: Wakes, turns: TurnBoard) -> TwoProcesses:
    return await start_processes(make_pod, tmp_path / "pod", wakes, turns)


async def test_a_post_made_in_another_process_is_delivered_at_once(
    make_pod: PodFactory, pod: TwoProcesses
) -> None:
    remote = await make_pod()
    alice = await pod.other.register("alice")
    carol = await remote.register("carol")
    await follow_accepted(remote, carol, f"alice@{pod.primary.host}")
    for n in range(3):
        _, post = await pod.other.call(
            "POST", "/api/v1/posts", alice, json={"body": f"post {n}"}, expect=201
        )

        async def arrived(uri: str = post["uri"]) -> bool:
            return any(p["uri"] == uri for p in await stream(remote, carol))

        await wait_for(arrived, timeout=PROMPTLY)


async def test_an_upload_received_by_another_process_is_processed_at_once(
    pod: TwoProcesses,
) -> None:
    alice = await pod.other.register("alice")
    ticket = await announce(pod.other, alice)
    # The upload URL names the pod; its bytes go to the other process.
    url = ticket["uploadUrl"].replace(pod.primary.url, pod.other.url)
    headers = {
        "Content-Type": "image/png",
        "Content-Disposition": ticket["contentDispositionHeader"],
    }
    async with pod.other.http.put(url, data=image_bytes(), headers=headers) as resp:
        assert resp.status == 200, await resp.text()

    async def ready() -> bool:
        _, item = await pod.primary.call(
            "GET", f"/api/v1/media/{ticket['media']['id']}", alice, expect=200
        )
        return bool(item["status"] == "ready")

    await wait_for(ready, timeout=PROMPTLY)


async def test_requests_are_counted_for_the_whole_pod(pod: TwoProcesses) -> None:
    for process in (pod.primary, pod.other, pod.other):
        await process.call("GET", "/api/v1/system/health", expect=200)
        await process.call("GET", "/api/v1/nope", expect=404)
    _, seen_by_primary = await pod.primary.call("GET", "/api/v1/system/metrics", expect=200)
    _, seen_by_other = await pod.other.call("GET", "/api/v1/system/metrics", expect=200)
    assert seen_by_primary["requests"]["2xx"] == 3
    assert seen_by_primary["requests"]["4xx"] == 3
    # The other counts the primary's answer to the first metrics request too.
    assert seen_by_other["requests"] == seen_by_primary["requests"] | {"2xx": 4}


async def test_what_one_process_changes_the_other_shows(pod: TwoProcesses) -> None:
    alice = await pod.primary.register("alice")
    bob = await pod.other.login("bob", expect=401)  # no such account yet, anywhere
    assert bob[0].status == 401
    bob_user = await pod.other.register("bob")
    _, post = await pod.primary.call(
        "POST", "/api/v1/posts", alice, json={"body": "first"}, expect=201
    )
    path = f"/api/v1/posts/{post['id']}"
    # Read (and so cached) by the primary, then changed through the other process.
    _, seen = await pod.primary.call("GET", path, bob_user, expect=200)
    assert seen["body"] == "first" and seen["liked"] is False
    await pod.other.call("PATCH", path, alice, json={"body": "second"}, expect=200)
    await pod.other.call("POST", f"{path}/like", bob_user, expect=200)
    _, seen = await pod.primary.call("GET", path, bob_user, expect=200)
    assert seen["body"] == "second" and seen["liked"] is True
    # A session made in one process is known to the other; a logout in one ends it in both.
    _, me = await pod.primary.call("GET", "/api/v1/identity/current", bob_user, expect=200)
    assert me["id"] == bob_user.identity_id
    await pod.other.call("DELETE", "/api/v1/sessions/current", bob_user, expect=204)
    await pod.primary.call("GET", "/api/v1/identity/current", bob_user, expect=401)


@pytest.fixture(scope="module")
def remote_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def test_a_paused_host_resumes_when_it_speaks_to_another_process(
    make_pod: PodFactory,
    tmp_path: Path,
    wakes: Wakes,
    turns: TurnBoard,
    remote_key: rsa.RSAPrivateKey,
) -> None:
    remote = await RemoteServer(remote_key).start()
    host = remote.base.split("//")[1]
    try:

        async def pause(primary: Pod) -> None:
            now = iso(primary.clock.now())
            async with primary.app[DB].transaction() as tx:
                await tx.execute(
                    "INSERT INTO domains (host, failing_since, paused, updated_at)"
                    " VALUES (?, ?, 1, ?)",
                    (host, now, now),
                )

        pod = await start_processes(make_pod, tmp_path / "pod", wakes, turns, before_other=pause)
        like = remote.like_of_nothing(pod.primary.url)
        body, headers = remote.signed(f"{pod.primary.url}/inbox", like, pod.primary.clock)
        async with pod.other.http.post(
            f"{pod.other.url}/inbox", data=body, headers=headers
        ) as resp:
            assert resp.status == 202
        db = pod.primary.app[DB]
        assert await db.fetchval("SELECT paused FROM domains WHERE host = ?", (host,)) == 0
    finally:
        await remote.close()


async def test_a_process_started_beside_others_leaves_their_work_alone(
    make_pod: PodFactory, tmp_path: Path, wakes: Wakes, turns: TurnBoard
) -> None:
    """Start-up recovery is the primary's: an upload under way (its bytes arriving at the
    primary) survives the start of another process."""
    uploading: dict[str, Any] = {}

    async def begin_upload(primary: Pod) -> None:
        alice = await primary.register("alice")
        ticket = await announce(primary, alice)
        async with primary.app[DB].transaction() as tx:
            await tx.execute(
                "UPDATE media SET status = 'uploading' WHERE guid = ?", (ticket["media"]["id"],)
            )
        uploading.update(user=alice, id=ticket["media"]["id"])

    pod = await start_processes(make_pod, tmp_path / "pod", wakes, turns, before_other=begin_upload)
    alice: User = uploading["user"]
    await pod.primary.call("GET", f"/api/v1/media/{uploading['id']}", alice, expect=200)
    status = await pod.primary.app[DB].fetchval(
        "SELECT status FROM media WHERE guid = ?", (uploading["id"],)
    )
    assert status == "uploading"


async def test_the_variants_of_all_processes_stay_within_their_bound(
    make_pod: PodFactory, tmp_path: Path, wakes: Wakes, turns: TurnBoard
) -> None:
    """`media.variant_cache_bytes` bounds the variants on disk, whichever process rendered
    them: each knows only its own renders."""
    bound = 20_000
    pod = await start_processes(
        make_pod, tmp_path / "pod", wakes, turns, media={"variant_cache_bytes": bound}
    )
    alice = await pod.primary.register("alice")
    picture = await upload(pod.primary, alice, noise((300, 300)), "image/jpeg", "noise.jpg")
    url = picture["publicDownloadUrl"]
    variants = pod.primary.config.media_path / "variants"
    largest = 0
    for q in range(20, 100):  # a variant each: the processes render different ones
        process = (pod.primary, pod.other)[q % 2]
        variant = f"{url.replace(pod.primary.url, process.url)}?w=64&q={q}"
        async with process.http.get(variant) as resp:
            assert resp.status == 200
            largest = max(largest, len(await resp.read()))
        on_disk = sum(p.stat().st_size for p in variants.rglob("*") if p.is_file())
        # Each process keeps its newest, as a process alone does, however large.
        assert on_disk <= bound + 2 * largest, (q, on_disk, largest)


def noise(size: tuple[int, int]) -> bytes:
    """A JPEG of random pixels: its variants are not tiny."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "JPEG")
    return out.getvalue()


def test_a_change_marked_in_one_process_is_seen_in_the_others() -> None:
    """`Changes` lives in memory the processes `hearth serve` forks share."""
    changes = Changes()
    before = changes.mark
    child = os.fork()
    if child == 0:  # the other process: mark, and leave at once
        changes.changed()
        os._exit(0)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert changes.mark != before


async def _answers_on(url: str, clients: int, seconds: float) -> tuple[int, int, float]:
    """`clients` keep-alive connections asking `url` one request after another for `seconds`:
    (answers, answers that closed their connection, seconds it took)."""
    answers = closed = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds

        async def client() -> None:
            nonlocal answers, closed
            while loop.time() < end:
                async with http.get(url) as resp:
                    assert resp.status == 200
                    await resp.read()
                    answers += 1
                    closed += resp.headers.get("Connection", "").lower() == "close"

        start = loop.time()
        await asyncio.gather(*(client() for _ in range(clients)))
        return answers, closed, loop.time() - start


async def test_a_process_with_more_than_its_share_of_connections_closes_some(
    pod: TwoProcesses,
) -> None:
    """Six connections all on the first process, none on the other: the first closes some
    after their answers (each client reconnects), a few at a time; with its share, none."""
    url = f"{pod.primary.url}/.well-known/nodeinfo"
    answers, closed, took = await _answers_on(url, clients=6, seconds=0.6)
    assert answers > 30
    assert 3 <= closed <= took / spread.SHED_SECONDS + 1, (answers, closed)
    # The other process has more, counted now (it answers nothing here, so the count lapses
    # after spread.LAPSE_SECONDS: this run is shorter).
    pod.connections.set(1, 12)
    answers, closed, _ = await _answers_on(url, clients=6, seconds=0.25)
    assert answers > 10 and closed == 0, (answers, closed)


async def test_connections_another_process_no_longer_answers_on_count_no_more(
    pod: TwoProcesses,
) -> None:
    """The other process answered on six connections (its share: the first had as many), which
    are gone since; six connections then all on the first process are more than its share, and
    it closes some."""
    pod.connections.set(0, 6)
    answers, closed, _ = await _answers_on(
        f"{pod.other.url}/.well-known/nodeinfo", clients=6, seconds=0.3
    )
    assert answers > 20 and closed == 0 and pod.connections.get(1) == 6, (answers, closed)
    await asyncio.sleep(spread.WINDOW_SECONDS + spread.PUBLISH_SECONDS)
    url = f"{pod.primary.url}/.well-known/nodeinfo"
    answers, closed, _ = await _answers_on(url, clients=6, seconds=0.6)
    assert answers > 30 and closed >= 3, (answers, closed)
