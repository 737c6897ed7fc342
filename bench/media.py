"""Media benchmark: upload throughput of 5 MB images, and transformed variants cold vs cached.

What is measured
    A real pod (node.app.create_app, real port, SQLite file and media folder in a temp dir)
    runs in a child process. One user announces N uploads (POST /api/v1/media, not timed), then
    the N PUTs of the same 5 MB PNG go to the signed upload URLs with C requests in flight; the
    clock runs from the first PUT to the last answer, and every answer must be 200. The pod's
    worker processes the uploads in the background meanwhile (strip, decode, hash, blurhash),
    as it would in production; the time until all N are `ready` is printed too.
    Then a JPEG of a few megapixels is uploaded and M distinct variants (`?w=...&q=...`) are asked
    for, C at a time: first cold (each one decoded, resized and encoded), then again (served
    from the variant cache). Every answer must be 200 with the same ETag both times.

Baseline, in the same run
    A plain aiohttp app in another child process whose PUT handler streams the body
    (request.content.iter_any) to a file and answers 200 receives the same N PUTs (same
    bytes, same headers, same concurrency) from the same client. Printed: MB/s of both and
    the ratio pod / baseline; requests/s of cold and cached variants and their ratio.

Run
    .venv/bin/python bench/media.py              # 24 uploads, 4 at once; 40 variants; 2 rounds
    .venv/bin/python bench/media.py --quick      # 6 uploads, 2 at once; 12 variants; 1 round
    .venv/bin/python bench/media.py --uploads 40 --concurrency 8

Only 127.0.0.1 is contacted; the run stops by itself (see --timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    LOOPBACK,
    listening_socket,
    port_of,
    register,
    run_until_stopped,
    serve,
    start_child,
    start_pod,
    stop_child,
)
from aiohttp import web
from PIL import Image, ImageFilter

MB = 1_000_000
USERNAME = "alice"


# --- servers in child processes -------------------------------------------------------------


async def run_pod(conn: Connection, data_dir: Path, lifetime: float) -> None:
    runner, config = await start_pod(data_dir)
    try:
        await run_until_stopped(conn, {"url": config.server.public_url}, lifetime)
    finally:
        await runner.cleanup()


def pod_process(conn: Connection, data_dir: Path, lifetime: float) -> None:
    asyncio.run(run_pod(conn, data_dir, lifetime))


async def run_plain(conn: Connection, folder: Path, lifetime: float) -> None:
    async def put(request: web.Request) -> web.Response:
        path = folder / request.match_info["name"]
        with path.open("wb") as f:
            async for chunk in request.content.iter_any():
                f.write(chunk)
        return web.json_response({"stored": path.stat().st_size})

    app = web.Application()
    app.router.add_put("/upload/{name}", put)
    sock = listening_socket()
    runner = await serve(app, [sock])
    try:
        await run_until_stopped(conn, {"url": f"http://{LOOPBACK}:{port_of(sock)}"}, lifetime)
    finally:
        await runner.cleanup()


def plain_process(conn: Connection, folder: Path, lifetime: float) -> None:
    asyncio.run(run_plain(conn, folder, lifetime))


# --- test images ----------------------------------------------------------------------------


def noise_png(target_bytes: int) -> bytes:
    """A PNG of random pixels (incompressible) of about `target_bytes`."""
    side = int((target_bytes / 3) ** 0.5) + 1
    im = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=1)
    return out.getvalue()


def photo_jpeg(width: int, height: int) -> bytes:
    """Something photo-like: blurred noise over a gradient, as JPEG quality 90."""
    noise = Image.frombytes("RGB", (width // 8, height // 8), os.urandom(width * height * 3 // 64))
    im = noise.resize((width, height), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


# --- the client (parent) --------------------------------------------------------------------


async def bounded(n: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run one(0..n-1) with `concurrency` in flight; returns the seconds it took."""
    gate = asyncio.Semaphore(concurrency)

    async def run(i: int) -> None:
        async with gate:
            await one(i)

    start = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(n)))
    return time.perf_counter() - start


async def announce(http: aiohttp.ClientSession, base: str, auth: dict[str, str]) -> dict[str, Any]:
    body = {"filename": "noise.png", "contentType": "image/png"}
    async with http.post(f"{base}/api/v1/media", json=body, headers=auth) as resp:
        assert resp.status == 201, f"POST /media: {resp.status} {await resp.text()}"
        return await resp.json()


async def put(http: aiohttp.ClientSession, url: str, data: bytes, disposition: str) -> None:
    headers = {"Content-Type": "image/png", "Content-Disposition": disposition}
    async with http.put(url, data=data, headers=headers) as resp:
        body = await resp.read()
        if resp.status != 200:
            raise SystemExit(f"PUT {url}: {resp.status} {body[:300]!r}")


async def wait_ready(
    http: aiohttp.ClientSession, base: str, auth: dict[str, str], ids: set[str], timeout: float
) -> float:
    start = time.perf_counter()
    while True:
        async with http.get(f"{base}/api/v1/media?per_page=100", headers=auth) as resp:
            items = await resp.json()
        states = {m["id"]: m["status"] for m in items if m["id"] in ids}
        if any(s == "failed" for s in states.values()):
            raise SystemExit(f"processing failed: {[m for m in items if m['status'] == 'failed']}")
        if len(states) == len(ids) and all(s == "ready" for s in states.values()):
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"uploads not ready after {timeout}s: {states}")
        await asyncio.sleep(0.05)


async def uploads_round(
    http: aiohttp.ClientSession,
    pod: str,
    plain: str,
    auth: dict[str, str],
    data: bytes,
    n: int,
    concurrency: int,
    timeout: float,
) -> tuple[float, float, float]:
    """(pod seconds, baseline seconds, seconds after the last PUT until all were ready)."""
    tickets = [await announce(http, pod, auth) for _ in range(n)]

    async def pod_put(i: int) -> None:
        await put(http, tickets[i]["uploadUrl"], data, tickets[i]["contentDispositionHeader"])

    pod_s = await asyncio.wait_for(bounded(n, concurrency, pod_put), timeout)
    ids = {t["media"]["id"] for t in tickets}
    ready_s = await wait_ready(http, pod, auth, ids, timeout)

    async def plain_put(i: int) -> None:
        disposition = 'attachment; filename="noise.png"'
        await put(http, f"{plain}/upload/{i}", data, disposition)

    plain_s = await asyncio.wait_for(bounded(n, concurrency, plain_put), timeout)
    return pod_s, plain_s, ready_s


async def variants(
    http: aiohttp.ClientSession, url: str, m: int, concurrency: int, timeout: float
) -> tuple[float, float]:
    """(cold seconds, cached seconds) for M distinct variants."""
    etags: dict[int, str] = {}

    def target(i: int) -> str:
        # Widths are rounded up to steps, so neighbours share one: the quality tells them apart.
        return f"{url}?w={160 + 8 * i}&q={30 + i % 70}"

    async def cold(i: int) -> None:
        async with http.get(target(i)) as resp:
            await resp.read()
            if resp.status != 200:
                raise SystemExit(f"GET {target(i)}: {resp.status}")
            etags[i] = resp.headers["ETag"]

    async def cached(i: int) -> None:
        async with http.get(target(i)) as resp:
            await resp.read()
            if resp.status != 200 or resp.headers["ETag"] != etags[i]:
                raise SystemExit(f"GET {target(i)} (cached): {resp.status}")

    cold_s = await asyncio.wait_for(bounded(m, concurrency, cold), timeout)
    cached_s = await asyncio.wait_for(bounded(m, concurrency, cached), timeout)
    return cold_s, cached_s


async def upload_photo(
    http: aiohttp.ClientSession, base: str, auth: dict[str, str], data: bytes, timeout: float
) -> str:
    body = {"filename": "photo.jpg", "contentType": "image/jpeg"}
    async with http.post(f"{base}/api/v1/media", json=body, headers=auth) as resp:
        ticket = await resp.json()
    headers = {
        "Content-Type": "image/jpeg",
        "Content-Disposition": ticket["contentDispositionHeader"],
    }
    async with http.put(ticket["uploadUrl"], data=data, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    await wait_ready(http, base, auth, {ticket["media"]["id"]}, timeout)
    async with http.get(f"{base}/api/v1/media/{ticket['media']['id']}", headers=auth) as resp:
        return str((await resp.json())["publicDownloadUrl"])


async def main(args: argparse.Namespace) -> int:
    n, c, m = args.uploads, args.concurrency, args.variants
    data = noise_png(5 * MB)
    photo = photo_jpeg(3000, 2000)
    size_mb = len(data) / MB
    print(
        f"media: {n} uploads of a {size_mb:.2f} MB PNG, {c} at once, {args.rounds} round(s);"
        f" {m} variants of a 3000x2000 JPEG ({len(photo) / MB:.2f} MB); load average"
        f" {os.getloadavg()[0]:.2f}"
    )
    pod_rates: list[float] = []
    plain_rates: list[float] = []
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hearth-bench-")))
        (tmp / "pod").mkdir()
        (tmp / "plain").mkdir()
        lifetime = 4 * args.rounds * args.timeout + 120
        pod_child = start_child(pod_process, tmp / "pod", lifetime)
        stack.push_async_callback(asyncio.to_thread, stop_child, pod_child)
        plain_child = start_child(plain_process, tmp / "plain", lifetime)
        stack.push_async_callback(asyncio.to_thread, stop_child, plain_child)
        pod, plain = pod_child.info["url"], plain_child.info["url"]
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=args.timeout))
        )
        token, _ = await register(http, pod, USERNAME)
        auth = {"Authorization": f"Bearer {token}"}

        print("uploads (PUT to the signed URL vs a plain streaming handler):")
        for round_no in range(1, args.rounds + 1):
            pod_s, plain_s, ready_s = await uploads_round(
                http, pod, plain, auth, data, n, c, args.timeout
            )
            pod_rates.append(n * size_mb / pod_s)
            plain_rates.append(n * size_mb / plain_s)
            print(
                f"  round {round_no}: pod {pod_rates[-1]:7.1f} MB/s ({pod_s:.2f} s),"
                f" baseline {plain_rates[-1]:7.1f} MB/s ({plain_s:.2f} s),"
                f" ratio {pod_rates[-1] / plain_rates[-1]:.2f};"
                f" all {n} ready {ready_s:.2f} s after the last PUT"
            )
        pod_rate, plain_rate = statistics.median(pod_rates), statistics.median(plain_rates)
        print(f"  pod       {pod_rate:7.1f} MB/s (median)")
        print(f"  baseline  {plain_rate:7.1f} MB/s (median)")
        print(f"  ratio pod/baseline = {pod_rate / plain_rate:.2f}")

        url = await upload_photo(http, pod, auth, photo, args.timeout)
        cold_s, cached_s = await variants(http, url, m, c, args.timeout)
        print(f"variants ({m} distinct, {c} at once):")
        print(f"  cold    {m / cold_s:8.1f} requests/s ({cold_s:.2f} s)")
        print(f"  cached  {m / cached_s:8.1f} requests/s ({cached_s:.2f} s)")
        print(f"  ratio cached/cold = {cold_s / cached_s:.1f}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="6 uploads, 12 variants, 1 round")
    parser.add_argument("--uploads", type=int, help="5 MB uploads per round (default 24)")
    parser.add_argument("--concurrency", type=int, help="requests in flight (default 4)")
    parser.add_argument("--variants", type=int, help="distinct variants (default 40)")
    parser.add_argument("--rounds", type=int, help="upload rounds (default 2, quick 1)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per phase")
    args = parser.parse_args()
    args.uploads = args.uploads or (6 if args.quick else 24)
    args.concurrency = args.concurrency or (2 if args.quick else 4)
    args.variants = args.variants or (12 if args.quick else 40)
    args.rounds = args.rounds or (1 if args.quick else 2)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
