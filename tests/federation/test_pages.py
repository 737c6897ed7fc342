"""A browser following a link to a local actor or post (from another server's web page) gets a
page; servers asking for ActivityStreams still get the document at the same URL."""

from __future__ import annotations

from typing import Any

from tests.support import Pod

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
AS_ACCEPT = "application/activity+json, application/ld+json"


async def fetch(pod: Pod, url: str, accept: str) -> tuple[int, dict[str, str], str]:
    async with pod.http.get(url, headers={"Accept": accept}) as resp:
        return resp.status, dict(resp.headers), await resp.text()


async def make_post(pod: Pod, user: Any, **fields: Any) -> str:
    _, post = await pod.call("POST", "/api/v1/posts", user, json=fields, expect=201)
    return str(post["id"])


async def test_a_browser_gets_a_profile_page_and_a_server_the_actor(pod: Pod) -> None:
    alice = await pod.register("alice")
    profile = {
        "displayName": "Alice <b>A</b>",
        "bio": "Potter <script>alert(1)</script>\n\nsecond",
        "fields": [{"name": "site", "value": '<a href="javascript:alert(1)">me</a>'}],
    }
    await pod.call("PATCH", "/api/v1/identity/current", alice, json=profile, expect=200)
    url = f"{pod.url}/users/alice"
    status, headers, page = await fetch(pod, url, BROWSER)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Vary"] == "Accept"
    assert "script-src" not in headers["Content-Security-Policy"]
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    # Everything the user wrote is text on the page, never markup.
    assert "<h1>Alice &lt;b&gt;A&lt;/b&gt;</h1>" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="javascript' not in page
    assert f"@alice@{pod.host}" in page
    assert f'<link rel="alternate" type="application/activity+json" href="{url}">' in page
    status, headers, text = await fetch(pod, url, AS_ACCEPT)
    assert status == 200 and headers["Content-Type"].startswith("application/activity+json")
    assert headers["Vary"] == "Accept" and '"type": "Person"' in text.replace('":"', '": "')


async def test_a_browser_gets_a_public_post_and_nothing_else(pod: Pod) -> None:
    alice = await pod.register("alice")
    public = await make_post(pod, alice, body="Kiln day **today**", contentWarning="pottery")
    private = await make_post(pod, alice, body="only for followers", visibility="followers")
    _, shown = await pod.call("GET", f"/api/v1/posts/{public}", alice, expect=200)
    status, headers, page = await fetch(pod, shown["uri"], BROWSER)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "<summary>pottery</summary>" in page and "Kiln day" in page
    assert f'href="{pod.url}/users/alice"' in page
    # A followers-only post is no page for an unsigned browser; a deleted one is gone.
    _, hidden = await pod.call("GET", f"/api/v1/posts/{private}", alice, expect=200)
    status, _, page = await fetch(pod, hidden["uri"], BROWSER)
    assert status == 404 and "only for followers" not in page
    await pod.call("DELETE", f"/api/v1/posts/{public}", alice, expect=204)
    status, _, _ = await fetch(pod, shown["uri"], BROWSER)
    assert status == 410
    status, _, _ = await fetch(pod, f"{pod.url}/users/nobody", BROWSER)
    assert status == 404


async def test_a_post_behind_a_content_warning_keeps_its_text_out_of_the_title(pod: Pod) -> None:
    """The title shows in tabs, bookmarks and link previews, where nothing folds it away."""
    alice = await pod.register("alice")
    guid = await make_post(pod, alice, body="the spoiler: Rosebud", contentWarning="film ending")
    _, shown = await pod.call("GET", f"/api/v1/posts/{guid}", alice, expect=200)
    status, _, page = await fetch(pod, shown["uri"], BROWSER)
    assert status == 200
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "Rosebud" not in title and "film ending" in title
    assert "<details><summary>film ending</summary>" in page and "Rosebud" in page
