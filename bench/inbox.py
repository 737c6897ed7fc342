"""Inbox benchmark: N distinct signed Create(Note) from A remote actors POSTed to `/inbox`.

What is measured
    A real pod runs as an operator runs it: `hearth serve` in a process of its own on a loopback
    port, SQLite file in a temp dir, with `server.workers` = W processes (--workers; by default
    this machine's cores, so the pod uses them as it would in production; the command line and
    the figures say which). The A remote actors are served by a small aiohttp app in this
    process (actor documents with publicKey). Before timing: each actor sends one Create(Note)
    that nobody here follows yet (so the pod fetches and stores every actor and key, the steady
    state of a busy inbox, and stores nothing), then one local user is made to follow every
    actor (accepted follows seeded in SQLite) and R rounds of N distinct requests are signed
    with federation.httpsig.sign_request. Each round's N requests are POSTed to the shared inbox
    with C in flight; the clock runs from the first request to the last answer. Every answer
    must be 202, and afterwards the pod must hold exactly R x N remote posts (posts.local = 0).

Baseline, in the same run
    A no-op aiohttp app (reads the body, answers 202), also in a child process, receives the
    same N requests from the same client with the same concurrency, just before the pod in
    each round. Each round prints both rates and their ratio (pod / no-op, activities per
    second); the verdict is on the median of the rounds' ratios, with the lowest shown too.
    Pairing each pod run with a no-op run next to it in time keeps a passing disturbance on
    the machine (which slows both) from deciding the ratio; the target is 0.25. Each round
    also prints the pod's CPU per activity and the client's CPU per request in both runs: the
    client shares the machine's cores with the pod.

Run
    .venv/bin/python bench/inbox.py               # 3 rounds of 5,000 from 50 actors, 32 at once
    .venv/bin/python bench/inbox.py --quick       # 1 round of 500 from 10 actors
    .venv/bin/python bench/inbox.py --concurrency 8
    .venv/bin/python bench/inbox.py --workers 1      # the pod in one process

Only 127.0.0.1 is contacted; the run stops by itself (see --timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    LOOPBACK,
    cpu_seconds,
    listening_socket,
    port_of,
    register,
    run_until_stopped,
    serve,
    sqlite,
    start_child,
    start_served,
    stop_child,
    verdict,
)
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation import httpsig
from federation.keys import generate_pem, load_private
from federation.urls import AS_PUBLIC
from node.clock import iso

TARGET = 0.25
USERNAME = "alice"
AS_TYPE = "application/activity+json"

Request = tuple[bytes, dict[str, str]]


# --- servers in child processes -------------------------------------------------------------


async def run_noop(conn: Connection, lifetime: float) -> None:
    async def inbox(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    sock = listening_socket()
    runner = await serve(app, [sock])
    try:
        info = {"url": f"http://{LOOPBACK}:{port_of(sock)}", "pid": os.getpid()}
        await run_until_stopped(conn, info, lifetime)
    finally:
        await runner.cleanup()


def noop_process(conn: Connection, lifetime: float) -> None:
    asyncio.run(run_noop(conn, lifetime))


# --- the remote actors (this process) -------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    uri: str
    key: RSAPrivateKey
    public_pem: str

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    @property
    def name(self) -> str:
        return self.uri.rsplit("/", 1)[1]

    def document(self) -> dict[str, Any]:
        origin = self.uri.rsplit("/actors/", 1)[0]
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.uri,
            "type": "Person",
            "preferredUsername": self.name,
            "name": f"Remote {self.name}",
            "inbox": f"{self.uri}/inbox",
            "outbox": f"{self.uri}/outbox",
            "followers": f"{self.uri}/followers",
            "endpoints": {"sharedInbox": f"{origin}/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.uri, "publicKeyPem": self.public_pem},
        }


def make_actors(origin: str, count: int) -> list[Actor]:
    actors = []
    for i in range(count):
        private_pem, public_pem = generate_pem()
        actors.append(Actor(f"{origin}/actors/a{i}", load_private(private_pem), public_pem))
    return actors


def actor_app(actors: Sequence[Actor]) -> web.Application:
    docs = {a.name: a.document() for a in actors}

    async def actor(request: web.Request) -> web.Response:
        doc = docs.get(request.match_info["name"])
        if doc is None:
            raise web.HTTPNotFound()
        return web.json_response(doc, content_type=AS_TYPE)

    app = web.Application()
    app.router.add_get("/actors/{name}", actor)
    return app


def create_note(actor: Actor, tag: str, to: list[str]) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cc = [f"{actor.uri}/followers"]
    note = {
        "id": f"{actor.uri}/notes/{tag}",
        "type": "Note",
        "attributedTo": actor.uri,
        "content": f"<p>Note <b>{tag}</b> from {actor.name}, with a "
        f'<a href="https://example.org/{tag}">link</a>.</p>',
        "published": now,
        "to": to,
        "cc": cc,
    }
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.uri}/activities/{tag}",
        "type": "Create",
        "actor": actor.uri,
        "published": now,
        "to": to,
        "cc": cc,
        "object": note,
    }
    return json.dumps(activity).encode()


def request(actor: Actor, inbox: str, tag: str) -> Request:
    """A signed public Create(Note) from `actor`, its note's id ending in `tag`."""
    return signed(actor, inbox, create_note(actor, tag, [AS_PUBLIC]))


def signed(actor: Actor, inbox: str, body: bytes) -> Request:
    headers = httpsig.sign_request("POST", inbox, body, actor.key_id, actor.key, datetime.now(UTC))
    return body, headers


# --- the client -----------------------------------------------------------------------------


async def blast(
    url: str, requests: Sequence[Request], concurrency: int
) -> tuple[float, Counter[int]]:
    """POST every request to `url` with `concurrency` in flight; (seconds, status counts)."""
    statuses: Counter[int] = Counter()
    pending = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def worker() -> None:
            for body, headers in pending:
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start, statuses


def thread_cpu(pid: int) -> float:
    """CPU seconds of a process's main thread (its event loop) so far; NaN where unknown."""
    return cpu_seconds(pid, pid)


def own_cpu() -> float:
    """CPU seconds of this process (the client, and the remote actors' little server)."""
    times = os.times()
    return times.user + times.system


def count_remote_posts(db_path: str) -> int:
    with sqlite(Path(db_path)) as db:
        return int(db.execute("SELECT count(*) FROM posts WHERE local = 0").fetchone()[0])


def seed_follows(db_path: str, follower: str, actors: Sequence[Actor]) -> None:
    """The local user follows every remote actor (accepted), as after a federated follow."""
    now = iso(datetime.now(UTC))
    with sqlite(Path(db_path)) as db:
        db.execute("BEGIN IMMEDIATE")
        for i, actor in enumerate(actors):
            row = db.execute(
                "SELECT identity_guid FROM remote_actors WHERE uri = ?", (actor.uri,)
            ).fetchone()
            assert row is not None, f"the pod does not know {actor.uri}"
            db.execute(
                "INSERT INTO follows (guid, follower_guid, followee_guid, state, ap_id,"
                " created_at, updated_at) VALUES (?, ?, ?, 'accepted', ?, ?, ?)",
                (f"{i:032x}", follower, row[0], f"{actor.uri}/followed-by/{i}", now, now),
            )
        db.execute("COMMIT")


async def timed(label: str, url: str, requests: Sequence[Request], concurrency: int) -> float:
    seconds, statuses = await blast(url, requests, concurrency)
    if statuses != Counter({202: len(requests)}):
        raise SystemExit(f"{label}: answers {dict(statuses)}")
    return seconds


async def main(args: argparse.Namespace) -> int:
    n, concurrency, rounds = args.activities, args.concurrency, args.rounds
    print(
        f"inbox: {rounds} rounds of {n} signed Create(Note) from {args.actors} actors to"
        f" POST /inbox, {concurrency} in flight; pod: hearth serve, server.workers ="
        f" {args.workers}; load average {os.getloadavg()[0]:.2f}"
    )
    clock = time.perf_counter()
    async with contextlib.AsyncExitStack() as stack:
        sock = listening_socket()
        origin = f"http://{LOOPBACK}:{port_of(sock)}"
        actors = make_actors(origin, args.actors)
        runner = await serve(actor_app(actors), [sock])
        stack.push_async_callback(runner.cleanup)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hearth-bench-"))
        http = await stack.enter_async_context(aiohttp.ClientSession())

        pod = start_served(Path(tmp) / "pod", args.workers)
        stack.callback(pod.stop)
        noop = start_child(noop_process, (rounds + 2) * args.timeout + 60)
        stack.callback(stop_child, noop)
        url, db_path = pod.url, str(pod.database)
        inbox, noop_inbox = f"{url}/inbox", f"{noop.info['url']}/inbox"
        _, identity = await register(http, url, USERNAME)
        # Warm-up: each actor sends one unrelated note, so the pod fetches its document.
        warm = [request(a, inbox, "warm-up") for a in actors]
        await timed("warm-up", inbox, warm, concurrency)
        seed_follows(db_path, identity, actors)
        if count_remote_posts(db_path) != 0:
            raise SystemExit("warm-up notes were stored; the benchmark needs a clean pod")
        batches = [
            [request(actors[j % len(actors)], inbox, f"r{r}n{j}") for j in range(n)]
            for r in range(rounds)
        ]
        print(f"setup (keys, pod, warm-up, signing): {time.perf_counter() - clock:.1f} s")
        print(f"pod processes {pod.pids()} (for py-spy); timing...")
        ratios = []
        for r, requests in enumerate(batches, 1):
            client = [own_cpu()]
            noop_s = await asyncio.wait_for(
                timed("no-op", noop_inbox, requests, concurrency), args.timeout
            )
            client.append(own_cpu())
            (cpu, loop_cpu), each = pod.cpu(), pod.cpu_each()
            pod_s = await asyncio.wait_for(timed("pod", inbox, requests, concurrency), args.timeout)
            (cpu_after, loop_after), each_after = pod.cpu(), pod.cpu_each()
            client.append(own_cpu())
            cpu, loop_cpu = cpu_after - cpu, loop_after - loop_cpu
            shares = ", ".join(
                f"{100 * (b - a) / pod_s:.0f}%" for a, b in zip(each, each_after, strict=True)
            )
            ratios.append(noop_s / pod_s)
            print(
                f"  round {r}: pod {pod_s:6.3f} s {n / pod_s:8.1f} activities/s (verified and"
                f" stored); no-op {noop_s:6.3f} s {n / noop_s:8.1f}/s; ratio {ratios[-1]:.3f}"
            )
            print(
                f"           pod CPU per activity {1e6 * cpu / n:5.0f} µs"
                f" ({1e6 * loop_cpu / n:.0f} µs on the event loops' threads);"
                f" each process's CPU (of one core): {shares}"
            )
            # The client shares the machine: what it spends per request, sending the same
            # requests, is part of what the pod is measured against.
            print(
                f"           client CPU per request: {1e6 * (client[1] - client[0]) / n:.0f} µs"
                f" against the no-op, {1e6 * (client[2] - client[1]) / n:.0f} µs against the pod"
            )
        stored = count_remote_posts(db_path)
        if stored != rounds * n:
            raise SystemExit(f"pod: {stored} of {rounds * n} notes stored")

    print(f"all {rounds * n} answered 202 by the pod and the no-op; the pod stored them all")
    ratio = statistics.median(ratios)
    print(
        f"ratio pod/no-op = {ratio:.3f} (median of {rounds} rounds; lowest {min(ratios):.3f})"
        f"  (target >= {TARGET}: {verdict(ratio, TARGET)})"
    )
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 activities from 10 actors")
    parser.add_argument("--activities", type=int, help="activities to send (default 5000)")
    parser.add_argument("--actors", type=int, help="remote actors (default 50)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--rounds", type=int, help="pod and no-op runs (default 3)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server.workers of the pod (default: this machine's cores)",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per run")
    args = parser.parse_args()
    args.activities = args.activities or (500 if args.quick else 5000)
    args.actors = min(args.actors or (10 if args.quick else 50), args.activities)
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
