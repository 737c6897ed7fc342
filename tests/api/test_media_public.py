"""Public media URLs: the bytes with their headers, ranges, conditional requests, transforms."""

from __future__ import annotations

import asyncio
import io
import json
import os
import threading
from typing import Any

import pytest
from multidict import CIMultiDict
from PIL import Image

from node.media import images
from tests.api.test_media_flow import MB, image_bytes, upload
from tests.support import Pod
from tests.unit.test_media_images import refuse_huge_resizes  # noqa: F401


async def fetch(pod: Pod, url: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
    async with pod.http.get(url, headers=headers) as resp:
        return resp.status, resp.headers.copy(), await resp.read()


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


async def public_url(pod: Pod, data: bytes, content_type: str = "image/jpeg") -> str:
    """The public URL of `data`, uploaded by a new person."""
    alice = await pod.register("alice")
    name = "picture." + content_type.split("/")[1]
    return str((await upload(pod, alice, data, content_type, name))["publicDownloadUrl"])


@pytest.fixture
async def picture(pod: Pod) -> dict[str, Any]:
    alice = await pod.register("alice")
    return await upload(pod, alice, image_bytes("JPEG", (400, 300)), "image/jpeg", "big.jpg")


async def test_ranges_and_conditional_requests(pod: Pod, picture: dict[str, Any]) -> None:
    url = picture["publicDownloadUrl"]
    status, headers, whole = await fetch(pod, url)
    assert status == 200 and headers["Accept-Ranges"] == "bytes"
    assert headers["Content-Type"] == "image/jpeg"
    assert int(headers["Content-Length"]) == len(whole) == picture["size"]
    etag = headers["ETag"]

    status, headers, part = await fetch(pod, url, Range="bytes=0-9")
    assert status == 206 and part == whole[:10]
    assert headers["Content-Range"] == f"bytes 0-9/{len(whole)}"
    status, _, part = await fetch(pod, url, Range="bytes=-5")
    assert status == 206 and part == whole[-5:]
    status, _, part = await fetch(pod, url, Range="bytes=100-")
    assert status == 206 and part == whole[100:]
    status, headers, _ = await fetch(pod, url, Range=f"bytes={len(whole)}-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(whole)}"
    status, _, part = await fetch(pod, url, Range="bytes=0-1,5-6")  # several: the whole file
    assert status == 200 and part == whole
    status, _, part = await fetch(pod, url, Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert status == 200 and part == whole

    status, headers, body = await fetch(pod, url, **{"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["ETag"] == etag
    status, _, _ = await fetch(pod, url, **{"If-None-Match": '"other"'})
    assert status == 200

    async with pod.http.head(url) as resp:
        assert resp.status == 200 and int(resp.headers["Content-Length"]) == len(whole)
        assert await resp.read() == b""


async def test_unknown_or_malformed_names_are_404(pod: Pod, picture: dict[str, Any]) -> None:
    url = picture["publicDownloadUrl"]
    stem = url.rsplit(".", 1)[0]
    for bad in (stem + ".png", stem + ".exe", stem, f"{pod.url}/media/{'0' * 64}.jpg",
                f"{pod.url}/media/..%2f..%2fetc%2fpasswd"):  # fmt: skip
        status, _, _ = await fetch(pod, bad)
        assert status == 404, bad


async def test_resizing_and_fits(pod: Pod, picture: dict[str, Any]) -> None:
    url = picture["publicDownloadUrl"]
    cases = {
        "w=96": (96, 72),
        "h=144": (192, 144),
        "w=100": (104, 78),  # rounded up to a step: 96, 104, 112, ...
        "w=96&h=96": (96, 72),  # clip (default): fits inside
        "w=96&h=96&fit=contain": (96, 72),
        "w=96&h=96&fit=crop": (96, 96),
        "w=96&h=96&fit=fill": (96, 96),
        "w=120&h=40&fit=scale": (120, 40),
        "w=4000": (400, 300),  # never enlarged
        # An exact box larger than the source shrinks, its aspect ratio kept, until it fits.
        "w=800&h=800&fit=crop": (300, 300),
        "w=800&h=800&fit=fill": (300, 300),
        "w=800&h=100&fit=scale": (400, 50),
    }
    for query, expected in cases.items():
        status, headers, body = await fetch(pod, f"{url}?{query}")
        assert status == 200, query
        assert headers["Content-Type"] == "image/jpeg", query
        assert size_of(body) == expected, query
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert headers["ETag"] != f'"{url.rsplit("/", 1)[1].split(".")[0]}"'


async def test_sizes_asked_for_share_few_variants(pod: Pod) -> None:
    url = await public_url(pod, image_bytes("JPEG", (100, 80)))
    tags = set()
    for query in [f"w={w}" for w in range(100, 240, 7)] + ["w=100&h=80", "w=900&h=81", "h=80"]:
        status, headers, body = await fetch(pod, f"{url}?{query}")
        assert status == 200 and size_of(body) == (100, 80), query  # never enlarged
        tags.add(headers["ETag"])
    for w in range(53, 57):  # one step: 56
        status, headers, body = await fetch(pod, f"{url}?w={w}")
        assert status == 200 and size_of(body) == (56, 45)
        tags.add(headers["ETag"])
    assert len(tags) == 2
    variants = [p for p in pod.config.media_path.rglob("*") if "variants" in p.parts]
    assert len([p for p in variants if p.is_file()]) == 2


async def test_variants_on_disk_stay_within_their_bound(make_pod: Any) -> None:
    pod = await make_pod(media={"variant_cache_bytes": 0})  # only the last one rendered stays
    url = await public_url(pod, image_bytes("JPEG", (300, 200)))
    for w in (32, 48, 64, 48, 32):
        status, _, body = await fetch(pod, f"{url}?w={w}")
        assert status == 200 and size_of(body)[0] == w
        cached = [
            p for p in pod.config.media_path.rglob("*") if p.is_file() and "variants" in p.parts
        ]
        assert [p.name for p in cached] == [f"w{w}-h0-clip-q80.jpeg"]


async def test_formats_quality_and_caps(pod: Pod, picture: dict[str, Any]) -> None:
    url = picture["publicDownloadUrl"]
    status, headers, body = await fetch(pod, f"{url}?w=100&auto=format", Accept="image/webp,*/*")
    assert status == 200 and headers["Content-Type"] == "image/webp"
    assert headers["Vary"] == "Accept"
    assert Image.open(io.BytesIO(body)).format == "WEBP"
    status, headers, body = await fetch(pod, f"{url}?w=100&auto=format", Accept="image/png")
    assert headers["Content-Type"] == "image/jpeg" and headers["Vary"] == "Accept"
    # auto=format alone, with WebP accepted: the same picture, smaller format.
    status, headers, body = await fetch(pod, f"{url}?auto=format", Accept="image/webp")
    assert headers["Content-Type"] == "image/webp" and size_of(body) == (400, 300)
    status, headers, _ = await fetch(pod, f"{url}?fm=png&w=10")
    assert headers["Content-Type"] == "image/png"
    _, _, low = await fetch(pod, f"{url}?w=300&q=5")
    _, _, high = await fetch(pod, f"{url}?w=300&q=95")
    assert len(low) < len(high)
    for bad in ("w=0", "w=abc", "q=101", "fit=stretch", "fm=bmp", "h=-3"):
        status, _, _ = await fetch(pod, f"{url}?{bad}")
        assert status == 400, bad


async def test_variants_are_capped_and_cached(make_pod: Any) -> None:
    pod = await make_pod(media={"max_transform_dimension": 64})
    url = await public_url(pod, image_bytes("PNG", (300, 200)), "image/png")
    status, headers, body = await fetch(pod, f"{url}?w=5000&h=5000&fit=scale")
    assert status == 200 and size_of(body) == (64, 64)
    cached = [p for p in pod.config.media_path.rglob("*") if p.is_file() and "variants" in p.parts]
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    status, again, body2 = await fetch(pod, f"{url}?w=5000&h=5000&fit=scale")
    assert body2 == body and again["ETag"] == headers["ETag"]
    assert cached[0].stat().st_mtime_ns == stamp  # served from the cache, not rendered again
    # A different q on a PNG output changes nothing: one cached file.
    await fetch(pod, f"{url}?w=5000&h=5000&fit=scale&q=10")
    assert len([p for p in cached[0].parent.iterdir()]) == 1


async def test_scale_of_one_side_stays_within_the_source_and_the_cap(
    make_pod: Any,
    refuse_huge_resizes: list[tuple[int, int]],  # noqa: F811
) -> None:
    pod = await make_pod(media={"max_transform_dimension": 1024})
    url = await public_url(pod, image_bytes("PNG", (2000, 1)), "image/png")
    # The width that follows h=2048 would be 4,096,000: the cap binds it instead.
    status, headers, body = await fetch(pod, f"{url}?h=2048&fit=scale")
    assert status == 200 and size_of(body) == (1024, 1)
    for query in ("w=5000", "w=1024&fit=scale", "h=1&fit=crop"):
        status, again, body = await fetch(pod, f"{url}?{query}")
        assert status == 200 and again["ETag"] == headers["ETag"], query
    assert max(w * h for w, h in refuse_huge_resizes) <= 2000


async def test_a_large_icc_profile_is_not_copied_into_every_file(pod: Pod) -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, "JPEG", icc_profile=os.urandom(3 * MB))
    url = await public_url(pod, out.getvalue())
    for query in ("", "?w=4&fm=webp", "?w=5&fm=png", "?w=6"):  # the upload, and variants
        status, _, body = await fetch(pod, url + query)
        assert status == 200 and len(body) < 10_000, query
        assert Image.open(io.BytesIO(body)).info.get("icc_profile") is None, query


async def test_busy_renders_answer_503_and_never_hold_up_uploads(
    make_pod: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod = await make_pod(media={"image_workers": 1, "variant_wait_seconds": 0.2})
    url = await public_url(pod, image_bytes("JPEG", (300, 200)))
    started, release = threading.Event(), threading.Event()
    render = images.render

    def slow_render(*args: Any) -> None:
        started.set()
        release.wait(10)
        render(*args)

    monkeypatch.setattr(images, "render", slow_render)
    first = asyncio.create_task(fetch(pod, f"{url}?w=64"))
    assert await asyncio.to_thread(started.wait, 10)
    try:
        status, headers, body = await fetch(pod, f"{url}?w=32")
        assert status == 503 and headers["Retry-After"] == "1"
        assert json.loads(body)["error"] == "busy"
        await upload(pod, await pod.register("bob"), image_bytes())  # processed meanwhile
    finally:
        release.set()
    status, _, body = await first
    assert status == 200 and size_of(body) == (64, 43)
    status, _, body = await fetch(pod, f"{url}?w=32")
    assert status == 200 and size_of(body) == (32, 21)


async def test_gif_stays_a_gif_unless_resized(pod: Pod) -> None:
    alice = await pod.register("alice")
    frames = [Image.new("RGB", (40, 40), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=50)
    item = await upload(pod, alice, out.getvalue(), "image/gif", "anim.gif")
    url = item["publicDownloadUrl"]
    _, headers, body = await fetch(pod, f"{url}?auto=format", Accept="image/webp")
    assert headers["Content-Type"] == "image/gif"
    assert Image.open(io.BytesIO(body)).n_frames == 3
    _, headers, body = await fetch(pod, f"{url}?w=20")
    assert headers["Content-Type"] == "image/png" and size_of(body) == (20, 20)
