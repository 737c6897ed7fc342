"""Main-stream benchmark: GET /api/v1/streams/main?per_page=20 on a pod with 100,000 posts.

What is measured
    A real pod (`hearth serve` in a process of its own on a loopback port, SQLite file in a temp
    dir, with `server.workers` = W processes: --workers, by default this machine's cores, as an
    operator would set it; the figures say which) whose database is seeded straight into SQLite
    with executemany before the pod starts: 1,000 identities with 100 posts each on average (80
    % public, 10 % followers-only, 10 % direct, one in ten a comment, some with hashtags, likes
    and emoji reactions), and one viewer, registered through the API, following 50 of them and
    two hashtags, who liked, reacted to and bookmarked some posts. C concurrent clients (one
    aiohttp ClientSession in this process) request the viewer's main stream for D seconds;
    throughput (requests/s) and latency percentiles are printed. Every answer must be 200 with
    20 posts.

    With --profile FILE, py-spy samples the pod's (first) process during its last measurement
    and the functions where the samples fell are printed (self and inclusive).

Baseline, in the same run
    The same client, concurrency and duration against an aiohttp no-op handler (another child
    process, same serving code), just before the pod in each of R rounds. Each round prints
    both and their ratio pod / no-op; the verdict is on the median of the rounds' ratios, with
    the lowest shown too, so that a passing disturbance on the machine (which slows whichever
    runs meanwhile) does not decide it. The target is 0.3, and a p99 latency under 50 ms in
    every round.

Also printed: the EXPLAIN QUERY PLAN of the main stream query, and how long SQLite alone takes
for it (first page, and a page half-way down).

Run
    .venv/bin/python bench/streams.py                 # 100,000 posts, 16 clients, 3 x 10 s
    .venv/bin/python bench/streams.py --quick         # 10,000 posts, 200 identities, 1 x 3 s
    .venv/bin/python bench/streams.py --clients 32 --seconds 20
    .venv/bin/python bench/streams.py --workers 1     # the pod in one process
    .venv/bin/python bench/streams.py --profile /tmp/streams.pyspy   # needs py-spy

Only 127.0.0.1 is contacted; the run stops by itself (children have a lifetime).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    start_pod,
    start_served,
    stop_child,
    verdict,
)
from aiohttp import web

from node.clock import iso
from node.ids import new_guid
from node.store import posts as post_store
from node.store.paging import PageRequest

TARGET = 0.3
P99_TARGET_MS = 50.0
PER_PAGE = 20
TAGS = [f"topic{i}" for i in range(20)]


# --- the servers (child processes) ----------------------------------------------------------


def run_noop(conn: Connection, lifetime: float) -> None:
    asyncio.run(_noop(conn, lifetime))


async def _noop(conn: Connection, lifetime: float) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="[]", content_type="application/json")

    app = web.Application()
    app.router.add_get("/noop", handler)
    sock = listening_socket()
    runner = await serve(app, [sock])
    try:
        await run_until_stopped(conn, port_of(sock), lifetime)
    finally:
        await runner.cleanup()


# --- seeding --------------------------------------------------------------------------------


@dataclass
class Seeded:
    posts: int
    identities: int
    followed: int
    seconds: float


def seed(db_path: Path, viewer: str, posts: int, identities: int, followed: int) -> Seeded:
    """Identities, follows (with their read grants), posts, recipients, tags, likes and
    reactions, written with executemany in one transaction."""
    started = time.perf_counter()
    rnd = random.Random(20260219)
    now = datetime.now(UTC)
    stamp = iso(now - timedelta(days=400))
    people = [new_guid() for _ in range(identities)]
    with sqlite(db_path) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO identities (guid, account_guid, username, domain, display_name,"
            " created_at, updated_at) VALUES (?, NULL, ?, NULL, ?, ?, ?)",
            [(g, f"user{i}", f"User {i}", stamp, stamp) for i, g in enumerate(people)],
        )
        follows = rnd.sample(people, followed)
        db.executemany(
            "INSERT INTO follows (guid, follower_guid, followee_guid, state, ap_id, created_at,"
            " updated_at) VALUES (?, ?, ?, 'accepted', ?, ?, ?)",
            [(g := new_guid(), viewer, f, f"http://{LOOPBACK}/f/{g}", stamp, stamp)
             for f in follows],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO shares (guid, owner_guid, grantee_guid, granted_by_guid, kind, scope,"
            " can_read, can_write, can_delete, can_share, remote, ap_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'follow', 'all', 1, 0, 0, 0, 0, ?, ?, ?)",
            [(g := new_guid(), f, viewer, f, f"http://{LOOPBACK}/s/{g}", stamp, stamp)
             for f in follows],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO tag_followings (identity_guid, tag, created_at) VALUES (?, ?, ?)",
            [(viewer, TAGS[0], stamp), (viewer, TAGS[1], stamp)],
        )
        rows, recipients, tags, guids = [], [], [], []
        start = now - timedelta(days=365)
        step = timedelta(days=365) / posts
        for k in range(posts):
            guid = new_guid()
            author = rnd.choice(people)
            created = iso(start + step * k)
            roll = rnd.random()
            visibility = "public" if roll < 0.8 else "followers" if roll < 0.9 else "direct"
            parent = rnd.choice(guids) if guids and rnd.random() < 0.1 else None
            if visibility == "direct":
                to = viewer if rnd.random() < 0.2 else rnd.choice(people)
                recipients.append((guid, to))
            if rnd.random() < 0.05:
                tags.append((guid, rnd.choice(TAGS)))
            body = f"post {k} by {author[:6]}: " + "lorem ipsum dolor sit amet " * 3
            rows.append(
                (guid, author, f"http://{LOOPBACK}/posts/{guid}", 1, body, f"<p>{body}</p>",
                 visibility, parent, f"http://{LOOPBACK}/posts/{parent}" if parent else None,
                 created, created, created)
            )  # fmt: skip
            guids.append(guid)
        db.executemany(
            "INSERT INTO posts (guid, author_guid, ap_id, local, body, html, visibility,"
            " in_reply_to_guid, in_reply_to_ap_id, created_at, updated_at, last_activity_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany("INSERT INTO post_recipients VALUES (?, ?)", recipients)
        db.executemany("INSERT INTO post_tags (post_guid, tag) VALUES (?, ?)", tags)
        # Others' likes and reactions, and the viewer's own (1 % liked, 0.5 % reacted to,
        # 0.2 % bookmarked), so the per-viewer parts of a page have rows to find.
        likes = {(rnd.choice(guids), rnd.choice(people)) for _ in range(posts // 5)}
        likes |= {(g, viewer) for g in rnd.sample(guids, posts // 100)}
        db.executemany(
            "INSERT INTO interactions (guid, kind, post_guid, identity_guid, ap_id, created_at)"
            " VALUES (?, 'like', ?, ?, ?, ?)",
            [(g := new_guid(), p, i, f"http://{LOOPBACK}/l/{g}", stamp) for p, i in likes],
        )
        reactions = {(rnd.choice(guids), rnd.choice(people)) for _ in range(posts // 10)}
        reactions |= {(g, viewer) for g in rnd.sample(guids, posts // 200)}
        db.executemany(
            "INSERT INTO reactions (guid, post_guid, identity_guid, emoji, ap_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(g := new_guid(), p, i, rnd.choice("👍🎉🔥🌱"), f"http://{LOOPBACK}/r/{g}", stamp)
             for p, i in reactions],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO bookmarks (identity_guid, post_guid, created_at) VALUES (?, ?, ?)",
            [(viewer, g, stamp) for g in rnd.sample(guids, posts // 500)],
        )
        db.execute("COMMIT")
    return Seeded(posts, identities, followed, time.perf_counter() - started)


# --- the query plan -------------------------------------------------------------------------


class Recorder:
    """A Queryable that records the SQL it is given and returns nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any]]] = []

    async def fetchall(self, sql: str, params: Any = ()) -> list[Any]:
        self.calls.append((sql, list(params)))
        return []

    async def fetchone(self, sql: str, params: Any = ()) -> Any:
        self.calls.append((sql, list(params)))
        return None

    async def fetchval(self, sql: str, params: Any = ()) -> Any:
        self.calls.append((sql, list(params)))
        return None


async def main_stream_sql(viewer: str, page: PageRequest) -> tuple[str, list[Any]]:
    recorder = Recorder()
    await post_store.main_stream(recorder, viewer, iso(datetime.now(UTC)), page)  # type: ignore[arg-type]
    return recorder.calls[0]


def explain(db_path: Path, sql: str, params: list[Any]) -> tuple[list[str], float]:
    """The plan as an indented tree, and the median time of the query itself (ms)."""
    with sqlite(db_path) as db:
        rows = db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("    " + "  " * depth[node] + detail)
        times = []
        for _ in range(20):
            t = time.perf_counter()
            db.execute(sql, params).fetchall()
            times.append((time.perf_counter() - t) * 1000)
    return lines, statistics.median(times)


# --- load -----------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: float = float("nan")  # CPU seconds the server process used meanwhile (all threads)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def hammer(
    http: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    clients: int,
    seconds: float,
    expect_items: int | None,
) -> Load:
    load = Load()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            t = time.perf_counter()
            async with http.get(url, headers=headers) as resp:
                body = await resp.read()
                ok = resp.status == 200
            load.latencies.append(time.perf_counter() - t)
            load.requests += 1
            if not ok:
                load.errors.append(f"{resp.status} {body[:200]!r}")
            elif expect_items is not None and body.count(b'"uri"') < expect_items:
                load.errors.append(f"short page: {body[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    load.seconds = time.perf_counter() - started
    return load


def report(name: str, load: Load) -> None:
    print(
        f"  {name:<12} {load.requests:>7} requests in {load.seconds:5.1f} s = "
        f"{load.rate:8.1f} req/s   p50 {load.pct(0.5):6.1f} ms   p90 {load.pct(0.9):6.1f} ms   "
        f"p99 {load.pct(0.99):6.1f} ms   max {load.pct(1.0):6.1f} ms   errors {len(load.errors)}"
    )
    if load.requests:
        print(f"  {'':<12} server CPU {1000 * load.cpu / load.requests:.2f} ms per request")
    for err in load.errors[:3]:
        print(f"    error: {err}")


# --- profiling (py-spy, optional) -----------------------------------------------------------


async def start_profile(path: str | None, pid: int | None, seconds: float) -> Any:
    """py-spy sampling the pod's process during the measurement, as collapsed stacks."""
    if not path or pid is None:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
        "--rate", "200", "--format", "raw", "--output", path, "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def summarise_profile(path: Path, top: int = 25) -> None:
    """Where the samples were: by function on top of the stack (self) and anywhere in it."""
    if not path.exists():
        print(f"no profile written to {path} (is py-spy installed and allowed to attach?)")
        return
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")]
        frames = [f for f in frames if f]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    print(f"\nprofile of the pod ({total} samples, all threads; {path}):")
    print("  self (on top of the stack):")
    for frame, n in own.most_common(top):
        print(f"    {100 * n / total:5.1f} %  {frame}")
    print("  inclusive (anywhere in the stack):")
    for frame, n in anywhere.most_common(top):
        print(f"    {100 * n / total:5.1f} %  {frame}")
    print("  inclusive, this project's code:")
    ours = [(f, n) for f, n in anywhere.most_common() if "(node/" in f or "(federation/" in f]
    for frame, n in ours[:top]:
        print(f"    {100 * n / total:5.1f} %  {frame}")


def _frame(raw: str) -> str:
    """ "function (path/to/file.py:123)" -> "function (path/to/file.py)"."""
    name, _, where = raw.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/lib/python3.11/"):
        where = where.split(marker, 1)[-1]
    return f"{name} ({where})" if where else name


# --- the run --------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    posts, identities, followed = (
        (10_000, 200, 20) if args.quick else (args.posts, args.identities, args.followed)
    )
    seconds = 3.0 if args.quick and args.seconds is None else args.seconds or 10.0
    rounds = 1 if args.quick and args.rounds is None else args.rounds or 3
    lifetime = seconds * 2 * rounds + 300
    with tempfile.TemporaryDirectory(prefix="hearth-bench-streams-") as tmp:
        data_dir = Path(tmp) / "pod"
        # 1. Migrate and register the viewer through the API, then stop that pod.
        runner, config = await start_pod(data_dir)
        async with aiohttp.ClientSession() as http:
            token, viewer = await register(http, config.server.public_url, "viewer")
        await runner.cleanup()
        db_path = config.database_path

        # 2. Seed straight into SQLite.
        seeded = seed(db_path, viewer, posts, identities, followed)
        print(
            f"seeded {seeded.posts:,} posts from {seeded.identities:,} identities; the viewer "
            f"follows {seeded.followed} of them and 2 hashtags ({seeded.seconds:.1f} s)"
        )

        # 3. The query and its plan.
        sql, params = await main_stream_sql(viewer, PageRequest(PER_PAGE))
        print("\nmain stream query, first page:")
        print("    " + sql)
        lines, ms = explain(db_path, sql, params)
        print("EXPLAIN QUERY PLAN:")
        print("\n".join(lines))
        print(f"SQLite alone: {ms:.2f} ms (median of 20)")
        with sqlite(db_path) as db:
            middle = db.execute(
                "SELECT created_at, guid FROM posts ORDER BY created_at DESC LIMIT 1 OFFSET ?",
                (posts // 2,),
            ).fetchone()
        sql2, params2 = await main_stream_sql(
            viewer, PageRequest(PER_PAGE, "after", (middle[0], middle[1]))
        )
        _, ms2 = explain(db_path, sql2, params2)
        print(f"a page half-way down (keyset 'after'): SQLite alone {ms2:.2f} ms")

        # 4. Load: the no-op baseline, then the pod; same client, concurrency and duration.
        pod = start_served(data_dir, args.workers)
        noop = start_child(run_noop, lifetime)
        try:
            pod_url = f"{pod.url}/api/v1/streams/main?per_page={PER_PAGE}"
            noop_url = f"http://{LOOPBACK}:{noop.info}/noop"
            auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            connector = aiohttp.TCPConnector(limit=args.clients)
            async with aiohttp.ClientSession(connector=connector) as http:
                # Warm up both (connections, caches, the SQLite page cache).
                await hammer(http, noop_url, auth, args.clients, 1.0, None)
                await hammer(http, pod_url, auth, args.clients, 1.0, PER_PAGE)
                print(
                    f"\n{args.clients} concurrent clients, {seconds:.0f} s each, {rounds} rounds"
                    f" (no-op, then pod); pod: hearth serve, server.workers = {args.workers}:"
                )
                ratios: list[float] = []
                loads: list[Load] = []
                failed = False
                spy = None
                for r in range(1, rounds + 1):
                    print(f"round {r}:")
                    cpu = cpu_seconds(noop.process.pid)
                    base = await hammer(http, noop_url, auth, args.clients, seconds, None)
                    base.cpu = cpu_seconds(noop.process.pid) - cpu
                    report("no-op", base)
                    if r == rounds:
                        spy = await start_profile(args.profile, pod.pids()[0], seconds)
                    cpu, each = pod.cpu()[0], pod.cpu_each()
                    load = await hammer(http, pod_url, auth, args.clients, seconds, PER_PAGE)
                    load.cpu = pod.cpu()[0] - cpu
                    each = [b - a for a, b in zip(each, pod.cpu_each(), strict=True)]
                    report("streams/main", load)
                    if len(each) > 1:
                        shares = ", ".join(f"{c / seconds:.0%}" for c in each)
                        print(f"  {'':<12} each process's CPU (of one core): {shares}")
                    ratios.append(load.rate / base.rate if base.rate else 0.0)
                    print(f"  {'':<12} ratio {ratios[-1]:.3f}")
                    loads.append(load)
                    failed = failed or bool(load.errors or base.errors)
                if spy is not None:
                    await spy.wait()
        finally:
            pod.stop()
            stop_child(noop)
        if args.profile:
            summarise_profile(Path(args.profile))

    ratio = statistics.median(ratios)
    p99 = max(one.pct(0.99) for one in loads)
    print(
        f"\nratio pod / no-op: {ratio:.3f}, median of {rounds} rounds (lowest {min(ratios):.3f};"
        f" target {TARGET}): {verdict(ratio, TARGET)}"
    )
    p99_ok = p99 < P99_TARGET_MS
    print(f"p99 {p99:.1f} ms, the highest of the rounds (target < {P99_TARGET_MS:.0f} ms): "
          f"{'target met' if p99_ok else 'TARGET MISSED'}")  # fmt: skip
    return 1 if failed else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 posts, 200 identities, 3 s")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--identities", type=int, default=1_000)
    parser.add_argument("--followed", type=int, default=50, help="identities the viewer follows")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=None, help="per measurement")
    parser.add_argument("--rounds", type=int, default=None, help="no-op and pod runs (default 3)")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server.workers of the pod (default: this machine's cores)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="sample the pod with py-spy into FILE and summarise"
    )
    args = parser.parse_args()
    if not 0 < args.followed <= args.identities or args.posts < 1000:
        parser.error("need 0 < followed <= identities and at least 1,000 posts")
    if not 0 < args.clients <= 256 or (args.seconds is not None and not 0 < args.seconds <= 120):
        parser.error("clients: 1 to 256; seconds: up to 120")
    if args.rounds is not None and not 0 < args.rounds <= 20:
        parser.error("rounds: 1 to 20")
    return args


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(asyncio.run(main(parse_args())))
