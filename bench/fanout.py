"""Fan-out benchmark: one public post delivered to N followers on N distinct remote inboxes.

What is measured
    A real pod (node.app.create_app on a real loopback port, SQLite file in a temp dir; it runs
    in this process) whose local user has N remote followers, seeded straight into SQLite
    (identities, remote_actors without a shared inbox, accepted follows). The followers'
    inboxes `/u{i}/inbox` live on S sink servers: S loopback ports served by one child process.
    Every sink checks each request's HTTP signature with federation.httpsig.check_request and
    verifies it against the pod's public key, fetched once from the keyId's actor document.
    The clock starts just before POST /api/v1/posts and stops at the N-th verified arrival at
    the sinks; then every delivery row of the post must reach state 'delivered' and every inbox
    must have been hit exactly once.

Baseline, in the same run
    A plain loop with one aiohttp ClientSession that signs (federation.httpsig.sign_request,
    same key, same body) and POSTs the same N requests to the same sinks, with at most
    `delivery_workers` requests in flight overall and `delivery_per_host` per host (a host is
    127.0.0.1:<port>, one per sink). Each round runs the pod, then the baseline; the medians
    of the rounds give the ratio pod / baseline, whose target is 0.7.

    The sinks also report the most requests they were handling at once. With --latency (each
    sink waits that long before answering, like a distant server) this shows how many
    requests each sender really keeps in flight.

Run
    .venv/bin/python bench/fanout.py              # 2,000 followers, 40 sinks, 16 workers x 4
    .venv/bin/python bench/fanout.py --quick      # 200 followers, 10 sinks, one round
    .venv/bin/python bench/fanout.py --workers 32 --per-host 8 --latency 50

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
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    LOOPBACK,
    Child,
    cpu_seconds,
    listening_socket,
    port_of,
    register,
    run_until_stopped,
    serve,
    sqlite,
    start_child,
    start_pod,
    stop_child,
    verdict,
)
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation import httpsig
from federation.keys import generate_pem, load_private
from node.appkeys import DB
from node.clock import iso
from node.ids import new_guid
from node.version import SOFTWARE, VERSION

TARGET = 0.7
USERNAME = "alice"
SIGNATURE_WINDOW = timedelta(hours=1)


# --- the sinks (child process) --------------------------------------------------------------


@dataclass
class Tally:
    """What the sinks saw since the last reset."""

    expected: int
    ok: int = 0
    bad: int = 0
    errors: list[str] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    inflight: Counter[int] = field(default_factory=Counter)  # port -> requests being handled
    inflight_total: int = 0
    max_inflight_host: int = 0
    max_inflight_total: int = 0
    done_at: float | None = None  # time.monotonic() of the `expected`-th verified request
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def stats(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "bad": self.bad,
            "errors": self.errors[:5],
            "distinct": len(self.hits),
            "repeated": sum(n - 1 for n in self.hits.values() if n > 1),
            "max_inflight_host": self.max_inflight_host,
            "max_inflight_total": self.max_inflight_total,
            "done_at": self.done_at,
        }


class KeyCache:
    """Public keys by keyId, each fetched once from its actor document on 127.0.0.1."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self._http = http
        self._keys: dict[str, asyncio.Future[httpsig.PublicKey]] = {}

    async def get(self, key_id: str) -> httpsig.PublicKey:
        if key_id not in self._keys:
            self._keys[key_id] = asyncio.ensure_future(self._fetch(key_id))
        return await asyncio.shield(self._keys[key_id])

    async def _fetch(self, key_id: str) -> httpsig.PublicKey:
        actor = key_id.split("#", 1)[0]
        if not actor.startswith(f"http://{LOOPBACK}:"):
            raise ValueError(f"refusing to fetch {actor}")
        headers = {"Accept": "application/activity+json"}
        async with self._http.get(actor, headers=headers) as resp:
            doc = await resp.json(content_type=None)
        key = doc["publicKey"]
        if key["id"] != key_id:
            raise ValueError("keyId is not the actor's key")
        return httpsig.load_public_key(key["publicKeyPem"])


class Sinks:
    """Remote inboxes that verify every signature, on many ports; plus a control app."""

    def __init__(self, keys: KeyCache, latency: float) -> None:
        self.keys = keys
        self.latency = latency
        self.tally = Tally(expected=0)

    async def inbox(self, request: web.Request) -> web.Response:
        tally = self.tally
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
        tally.inflight[port] += 1
        tally.inflight_total += 1
        tally.max_inflight_total = max(tally.max_inflight_total, tally.inflight_total)
        tally.max_inflight_host = max(tally.max_inflight_host, tally.inflight[port])
        try:
            body = await request.read()
            pending = httpsig.check_request(
                request.method, request.raw_path, request.headers, body,
                f"{LOOPBACK}:{port}", datetime.now(UTC), SIGNATURE_WINDOW,
            )  # fmt: skip
            if not pending.verify(await self.keys.get(pending.key_id)):
                raise httpsig.SignatureError("signature_invalid", "does not verify")
            if json.loads(body).get("type") != "Create":
                raise httpsig.SignatureError("unexpected", "not a Create")
            if self.latency:
                await asyncio.sleep(self.latency)  # a remote that takes its time to answer
        except (httpsig.SignatureError, ValueError, KeyError, aiohttp.ClientError) as exc:
            tally.bad += 1
            tally.errors.append(f"{request.path}: {exc}")
            return web.Response(status=401)
        finally:
            tally.inflight[port] -= 1
            tally.inflight_total -= 1
        tally.ok += 1
        tally.hits[request.path] += 1
        if tally.ok >= tally.expected and tally.done_at is None:
            tally.done_at = time.monotonic()
            tally.done.set()
        return web.Response(status=202)

    async def reset(self, request: web.Request) -> web.Response:
        self.tally = Tally(expected=int(request.query["expected"]))
        return web.json_response({})

    async def wait(self, request: web.Request) -> web.Response:
        """Answer once `expected` requests were verified, or after `timeout` seconds."""
        tally = self.tally
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), float(request.query["timeout"]))
        return web.json_response(tally.stats())

    def apps(self) -> tuple[web.Application, web.Application]:
        sink, control = web.Application(), web.Application()
        sink.router.add_post("/{user}/inbox", self.inbox)
        control.router.add_post("/reset", self.reset)
        control.router.add_get("/wait", self.wait)
        return sink, control


async def run_sinks(conn: Connection, count: int, latency: float, lifetime: float) -> None:
    async with aiohttp.ClientSession() as http:
        sink_app, control_app = Sinks(KeyCache(http), latency).apps()
        socks = [listening_socket() for _ in range(count)]
        control_sock = listening_socket()
        sinks = await serve(sink_app, socks)
        control = await serve(control_app, [control_sock])
        info = {"ports": [port_of(s) for s in socks], "control": port_of(control_sock)}
        try:
            await run_until_stopped(conn, info, lifetime)
        finally:
            await sinks.cleanup()
            await control.cleanup()


def sink_process(conn: Connection, count: int, latency: float, lifetime: float) -> None:
    asyncio.run(run_sinks(conn, count, latency, lifetime))


# --- driving the run (parent) ---------------------------------------------------------------


@dataclass
class Result:
    label: str
    seconds: float
    stats: dict[str, Any]
    extra: dict[str, float] = field(default_factory=dict)

    def rate(self, n: int) -> float:
        return n / self.seconds


class SinkControl:
    def __init__(self, child: Child, http: aiohttp.ClientSession) -> None:
        self.ports: list[int] = child.info["ports"]
        self._control = f"http://{LOOPBACK}:{child.info['control']}"
        self._http = http

    async def reset(self, expected: int) -> None:
        async with self._http.post(f"{self._control}/reset?expected={expected}") as resp:
            assert resp.status == 200

    async def wait(self, timeout: float) -> dict[str, Any]:
        url = f"{self._control}/wait?timeout={timeout}"
        async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=timeout + 10)) as resp:
            return await resp.json()


def seed_followers(db_path: Path, followee: str, ports: list[int], n: int) -> None:
    """N remote actors (no shared inbox) spread over the sink ports, all following `followee`."""
    _, pem = generate_pem()  # the followers never sign anything here; any valid PEM will do
    now = iso(datetime.now(UTC))
    identities, actors, follows = [], [], []
    for i in range(n):
        host = f"{LOOPBACK}:{ports[i % len(ports)]}"
        uri = f"http://{host}/u{i}"
        guid = new_guid()
        identities.append((guid, f"u{i}", host, f"Follower {i}", now, now))
        actors.append(
            (guid, uri, f"{uri}/inbox", f"{uri}/outbox", f"{uri}/followers", f"{uri}#main-key",
             pem, now)
        )  # fmt: skip
        follows.append((new_guid(), guid, followee, f"{uri}/follows/1", now, now))
    with sqlite(db_path) as db:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO identities (guid, account_guid, username, domain, display_name,"
            " created_at, updated_at) VALUES (?, NULL, ?, ?, ?, ?, ?)",
            identities,
        )
        db.executemany(
            "INSERT INTO remote_actors (identity_guid, uri, actor_type, inbox, shared_inbox,"
            " outbox, followers, key_id, public_key_pem, fetched_at)"
            " VALUES (?, ?, 'Person', ?, NULL, ?, ?, ?, ?, ?)",
            actors,
        )
        db.executemany(
            "INSERT INTO follows (guid, follower_guid, followee_guid, state, ap_id, created_at,"
            " updated_at) VALUES (?, ?, ?, 'accepted', ?, ?, ?)",
            follows,
        )
        db.execute("COMMIT")


async def warm_sinks(
    http: aiohttp.ClientSession, port: int, key: RSAPrivateKey, key_id: str, actor: str
) -> None:
    """One signed request before timing, so the sinks' key cache is warm for both runs."""
    body = json.dumps({"type": "Create", "actor": actor}).encode()
    url = f"http://{LOOPBACK}:{port}/warmup/inbox"
    headers = httpsig.sign_request("POST", url, body, key_id, key, datetime.now(UTC))
    async with http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 202, f"warm-up delivery answered {resp.status}"


async def run_pod(
    http: aiohttp.ClientSession,
    sinks: SinkControl,
    pod: web.AppRunner,
    base: str,
    token: str,
    n: int,
    timeout: float,
) -> tuple[Result, str]:
    """Post once and wait for the N deliveries; returns the result and the outbox row's guid."""
    await sinks.reset(n)
    db = pod.app[DB]
    start = time.monotonic()
    async with http.post(
        f"{base}/api/v1/posts",
        json={"body": "Hello, all of you!", "visibility": "public"},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        assert resp.status == 201, f"POST /posts: {resp.status} {await resp.text()}"
    posted = time.monotonic() - start
    stats = await sinks.wait(timeout)
    if stats["done_at"] is None:
        raise SystemExit(f"pod: only {stats['ok']} of {n} deliveries arrived in {timeout}s")
    outbox = await db.fetchval("SELECT guid FROM outbox ORDER BY rowid DESC LIMIT 1")
    sql = "SELECT state, count(*) FROM deliveries WHERE outbox_guid = ? GROUP BY state"
    deadline = time.monotonic() + 30
    while (states := dict(await db.fetchall(sql, (outbox,)))) != {"delivered": n}:
        if time.monotonic() > deadline:
            raise SystemExit(f"pod: delivery rows are not all delivered: {states}")
        await asyncio.sleep(0.01)
    recorded = time.monotonic() - start
    extra = {"POST /api/v1/posts answered after": posted, "all rows 'delivered' after": recorded}
    return Result("pod", stats["done_at"] - start, stats, extra), outbox


async def run_baseline(
    sinks: SinkControl,
    targets: list[tuple[str, str]],
    body: bytes,
    key: RSAPrivateKey,
    key_id: str,
    workers: int,
    per_host: int,
    timeout: float,
) -> Result:
    await sinks.reset(len(targets))
    overall = asyncio.Semaphore(workers)
    hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(per_host))
    statuses: Counter[int] = Counter()
    user_agent = f"{SOFTWARE}/{VERSION} (bench baseline)"
    connector = aiohttp.TCPConnector(limit=max(workers * 2, 32))  # as FederationClient
    request_timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(connector=connector, headers={"User-Agent": user_agent}) as s:

        async def one(inbox: str, host: str) -> None:
            async with hosts[host], overall:
                headers = httpsig.sign_request("POST", inbox, body, key_id, key, datetime.now(UTC))
                async with s.post(
                    inbox, data=body, headers=headers, allow_redirects=False,
                    timeout=request_timeout,
                ) as resp:  # fmt: skip
                    await resp.content.read(4096)
                    statuses[resp.status] += 1

        start = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(one(i, h) for i, h in targets)), timeout)
    stats = await sinks.wait(5)
    if statuses != Counter({202: len(targets)}) or stats["done_at"] is None:
        raise SystemExit(f"baseline: statuses {dict(statuses)}, sinks {stats}")
    return Result("baseline", stats["done_at"] - start, stats)


def check_sinks(result: Result, n: int) -> None:
    s = result.stats
    if s["ok"] != n or s["bad"] or s["distinct"] != n or s["repeated"]:
        raise SystemExit(f"{result.label}: sinks saw {s}")


@dataclass(frozen=True)
class Cpu:
    """CPU seconds so far: this process's event loop thread, its other threads (signing),
    and the sinks' process."""

    loop: float
    threads: float
    sinks: float

    @classmethod
    def now(cls, sinks: Child) -> Cpu:
        loop = cpu_seconds(os.getpid(), threading.get_native_id())
        times = os.times()
        return cls(loop, times.user + times.system - loop, cpu_seconds(sinks.process.pid))

    def since(self, sinks: Child) -> Cpu:
        now = Cpu.now(sinks)
        return Cpu(now.loop - self.loop, now.threads - self.threads, now.sinks - self.sinks)


def report(result: Result, n: int, cpu: Cpu) -> None:
    s = result.stats
    print(
        f"  {result.label:<9} {result.seconds:7.3f} s  {result.rate(n):8.1f} deliveries/s"
        f"   (most requests in flight at the sinks: {s['max_inflight_total']} overall,"
        f" {s['max_inflight_host']} per host)"
    )
    # Sender and sinks share the machine's cores: where the CPU went, per delivery.
    print(
        f"            CPU per delivery: {1e6 * cpu.loop / n:.0f} µs on the event loop,"
        f" {1e6 * cpu.threads / n:.0f} µs on other threads, {1e6 * cpu.sinks / n:.0f} µs"
        " in the sinks"
    )
    for name, value in result.extra.items():
        print(f"            {name} {value:.3f} s")


async def main(args: argparse.Namespace) -> int:
    n, workers, per_host = args.followers, args.workers, args.per_host
    print(
        f"fan-out: 1 post -> {n} followers, {n} distinct inboxes on {args.sinks} sink ports"
        f" (sinks answer after {args.latency:g} ms); {args.rounds} round(s);"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    federation = {"delivery_workers": workers, "delivery_per_host": per_host}
    pod_results: list[Result] = []
    base_results: list[Result] = []
    async with contextlib.AsyncExitStack() as stack:
        lifetime = 2 * args.rounds * args.timeout + 60
        sink_child = start_child(sink_process, args.sinks, args.latency / 1000, lifetime)
        stack.push_async_callback(asyncio.to_thread, stop_child, sink_child)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="hearth-bench-"))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        sinks = SinkControl(sink_child, http)

        pod, config = await start_pod(Path(tmp), federation=federation)
        stack.push_async_callback(pod.cleanup)
        fed = config.federation
        print(
            f"config: delivery_workers={fed.delivery_workers}"
            f" delivery_per_host={fed.delivery_per_host}"
            f" delivery_timeout_seconds={fed.delivery_timeout_seconds}"
            " (baseline: the same limits, one ClientSession)"
        )
        base = config.server.public_url
        token, identity = await register(http, base, USERNAME)
        actor = f"{base}/users/{USERNAME}"
        async with http.get(actor) as resp:  # makes the actor's key pair
            assert resp.status == 200
        seed_followers(config.database_path, identity, sinks.ports, n)
        db = pod.app[DB]
        pem = await db.fetchval("SELECT private_pem FROM actor_keys WHERE actor_uri = ?", (actor,))
        key, key_id = load_private(pem), f"{actor}#main-key"
        await warm_sinks(http, sinks.ports[0], key, key_id, actor)

        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}:")
            cpu = Cpu.now(sink_child)
            result, outbox = await run_pod(http, sinks, pod, base, token, n, args.timeout)
            check_sinks(result, n)
            report(result, n, cpu.since(sink_child))
            pod_results.append(result)
            # The baseline sends the very requests the pod just sent: same body, same inboxes.
            body = (await db.fetchval("SELECT body FROM outbox WHERE guid = ?", (outbox,))).encode()
            rows = await db.fetchall(
                "SELECT inbox, host FROM deliveries WHERE outbox_guid = ? ORDER BY rowid",
                (outbox,),
            )
            targets = [(r[0], r[1]) for r in rows]
            cpu = Cpu.now(sink_child)
            result = await run_baseline(
                sinks, targets, body, key, key_id, workers, per_host, args.timeout
            )
            check_sinks(result, n)
            report(result, n, cpu.since(sink_child))
            base_results.append(result)

    print(
        f"every round: all {n} deliveries verified by the sinks (each inbox once),"
        f" all {n} rows 'delivered' in the pod"
    )
    pod_rate = statistics.median(r.rate(n) for r in pod_results)
    base_rate = statistics.median(r.rate(n) for r in base_results)
    ratio = pod_rate / base_rate
    print(f"pod       {pod_rate:8.1f} deliveries/s (median of {args.rounds})")
    print(f"baseline  {base_rate:8.1f} deliveries/s (median of {args.rounds})")
    pairs = zip(pod_results, base_results, strict=True)
    per_round = ", ".join(f"{p.rate(n) / b.rate(n):.2f}" for p, b in pairs)
    print(f"ratio pod/baseline = {ratio:.2f}  (rounds: {per_round})")
    print(f"target >= {TARGET}: {verdict(ratio, TARGET)}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 followers on 10 sinks")
    parser.add_argument("--followers", type=int, help="followers / inboxes (default 2000)")
    parser.add_argument("--sinks", type=int, help="sink server ports (default 40)")
    parser.add_argument("--workers", type=int, default=16, help="federation.delivery_workers")
    parser.add_argument("--per-host", type=int, default=4, help="federation.delivery_per_host")
    parser.add_argument(
        "--latency", type=float, default=0, help="ms each sink waits before answering"
    )
    parser.add_argument("--rounds", type=int, help="pod + baseline rounds (default 3, quick 1)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per phase")
    args = parser.parse_args()
    args.followers = args.followers or (200 if args.quick else 2000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.sinks = min(args.sinks or (10 if args.quick else 40), args.followers)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
