"""Post bodies become sanitised HTML: an XSS corpus through local Markdown posts (create, edit,
comments, streams, tag pages) and through remote HTML (a signed Create and Update from a hostile
pod) never reaches the API's `html` with anything that runs, embeds or navigates to a script.

`html` is checked as markup, with an HTML parser: escaped text such as `&lt;script&gt;` is inert
and may stay, but no element outside the allowlist, no attribute outside it, no event handler
and no URL with a scheme other than http, https or mailto may appear.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import AS_PUBLIC, HostilePod, new_key
from tests.social.helpers import API, comment, get_post, items, post
from tests.support import Pod, Trio, User, wait_for

CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="https://ok.example/" onclick="alert(1)" style="x:expression(alert(1))">ok</a>',
    '<a href="https://ok.example/" onmouseover=alert(1)>ok</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "<iframe src=//evil.example></iframe>",
    '<IFRAME SRC="javascript:alert(1)"></IFRAME>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<object data=javascript:alert(1)></object>",
    '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<form action=javascript:alert(1)><input type=submit></form>",
    '<button formaction="javascript:alert(1)">x</button>',
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<!--<script>alert(1)//-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "[a](https://ok.example/ 'x\" onclick=\"alert(1)')",
    '[a](https://ok.example/" onclick="alert(1))',
    '<a title="x" onclick="alert(1)" href="https://ok.example">q</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<p>&lt;img src=x onerror=alert(1)&gt;</p>",
    "<template><script>alert(1)</script></template>",
    "<textarea><script>alert(1)</script></textarea>",
    "<xmp><script>alert(1)</script></xmp>",
    "**bold <img src=x onerror=alert(1)>**",
    "- item <script>alert(1)</script>\n- [l](javascript:alert(1))",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "#tag<img src=x onerror=alert(1)> @nobody<script>alert(1)</script>",
    "[#tag](javascript:alert(1)) [@bob](javascript:alert(1))",
    # Entities and whitespace in schemes, srcset, namespace confusion, styles, comments,
    # unclosed and malformed tags, and Markdown links nested in links and images.
    '<a href="java&NewLine;script:alert(1)">x</a>',
    '<a href="java&Tab;script:alert(1)">x</a>',
    '<a href="javascript&#x3A;alert(1)">x</a>',
    '<a href="&#X6A;avascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="data:image/svg+xml,<svg onload=alert(1)>">x</a>',
    '<a href="  DATA:text/html,x">x</a>',
    '<img srcset="x 1x, javascript:alert(1) 2x">',
    '<picture><source srcset="javascript:alert(1)"><img src=x></picture>',
    "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    '<math href="javascript:alert(1)">x</math>',
    "<svg><animate attributeName=href values=javascript:alert(1) /><a><text>x</text></a></svg>",
    "<form><button formaction=javascript:alert(1)>x</button></form>",
    '<base href="//evil.example/">',
    '<a href="https://ok.example/" style="position:fixed;inset:0">x</a>',
    '<span style="position:fixed;top:0;left:0;width:100%;height:100%">x</span>',
    '<style>@import "//evil.example/x.css";</style>',
    "<!--><img src=x onerror=alert(1)>-->",
    "<!-- --!><img src=x onerror=alert(1)> -->",
    '<?xml version="1.0"?><img src=x onerror=alert(1)>',
    '<p>unclosed <a href="https://ok.example/" title="x',
    '<a href="https://ok.example/"<img src=x onerror=alert(1)>>x</a>',
    '<a/href="javascript:alert(1)">x</a>',
    "<a href=javascript:alert(1)//https://ok.example>x</a>",
    "[[x](javascript:alert(1))](https://ok.example/)",
    "[x](https://ok.example/)<javascript:alert(1)>",
    '[x](javascript:alert(1) "title")',
    '[x][y]\n\n[y]: <javascript:alert(1)> "t"',
    "[x](java%73cript:alert(1))",
    '![x](https://ok.example/i.png "onerror=alert(1)")',
    "[![x](https://ok.example/i.png)](javascript:alert(1))",
    '<https://ok.example/"onmouseover="alert(1)>',
    "[x](//evil.example/)",
]

ALLOWED = {
    "p", "br", "a", "span", "em", "strong", "b", "i", "u", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ALLOWED_ATTRS = {"a": {"href", "title", "class", "rel"}, "span": {"class"}}
# An element that runs, embeds or submits, in markup (escaped text starts with `&lt;`).
DANGEROUS_TAG = re.compile(
    r"<\s*/?\s*(script|iframe|frame|svg|math|style|object|embed|form|input|button|img|base|meta"
    r"|link|body|details|noscript|textarea|template|xmp|video|audio|source)\b",
    re.IGNORECASE,
)
EVENT_HANDLER = re.compile(r"\son\w+\s*=", re.IGNORECASE)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]")


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.raw_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))
        self.raw_tags.append(self.get_starttag_text() or "")

    handle_startendtag = handle_starttag

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"a comment survived: {data!r}")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(f"a declaration survived: {data!r}")


def assert_safe(html: str, source: str = "") -> None:
    where = f"{source!r} became {html!r}"
    assert not DANGEROUS_TAG.search(html), where
    parser = _Markup()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag in ALLOWED, where
        for name, value in attrs:
            assert not name.startswith("on"), where
            assert name in ALLOWED_ATTRS.get(tag, set()), where
            flat = _INVISIBLE.sub("", value or "").lower()
            for scheme in ("javascript:", "vbscript:", "data:"):
                assert scheme not in flat, where
            if name == "href":
                assert urlsplit(flat).scheme in ("", "http", "https", "mailto"), where
    # Attribute values are quoted with their quotes escaped: no handler hides in one.
    for raw in parser.raw_tags:
        assert not EVENT_HANDLER.search(_QUOTED.sub('""', raw)), where


def test_the_checker_catches_what_it_should() -> None:
    """The checker itself: each of these must fail it (a checker that passes all is useless)."""
    for bad in [
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        "<img src=x>",
        '<p onclick="x">y</p>',
        '<a href="https://x" onmouseover=y>z</a>',
        '<span style="x">y</span>',
        '<a href="data:text/html,x">x</a>',
        "<!-- x -->",
    ]:
        with pytest.raises(AssertionError):
            assert_safe(bad)
    assert_safe(
        '<p>&lt;script&gt; <a href="https://ok.example" title="a&quot; onclick=&quot;">x</a></p>'
    )


# --- local posts: Markdown ------------------------------------------------------------------


async def test_markdown_features_render(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    body = (
        "# Title\n\n"
        "Some *emphasis*, **strong** and ~~not struck~~ text with `inline code`.\n\n"
        "- one\n- two\n\n"
        "1. first\n2. second\n\n"
        "> quoted\n\n"
        "```\n#include <stdio.h>\nint a = b < c;\n```\n\n"
        "[a link](https://example.org/page?q=1&r=@bob#frag) and <https://example.org/x?#y>\n\n"
        "Hi @bob, see #Gardening and `#notatag`.\n\n"
        "---"
    )
    out = await post(pod, alice, body)
    html = out["html"]
    assert_safe(html, body)
    assert "<h1>Title</h1>" in html
    assert "<em>emphasis</em>" in html and "<strong>strong</strong>" in html
    assert "<code>inline code</code>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html
    # Code is verbatim: nothing inside it becomes a link or a tag.
    assert "<pre><code>#include &lt;stdio.h&gt;\nint a = b &lt; c;\n</code></pre>" in html
    assert "<code>#notatag</code>" in html
    assert '<a href="https://example.org/page?q=1&amp;r=@bob#frag"' in html
    assert '<a href="https://example.org/x?#y"' in html
    assert "<hr>" in html
    # The mention and the hashtag are links; the link target is left alone.
    assert re.search(r'<a href="[^"]*/users/bob"[^>]*>@bob</a>', html), html
    assert re.search(r'<a href="[^"]*/gardening"[^>]*>#Gardening</a>', html), html
    assert out["tags"] == ["gardening"]
    assert 'rel="nofollow noopener noreferrer"' in html
    assert out["body"] == body


async def test_local_corpus_never_reaches_the_api_unsanitised(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    created = []
    for payload in CORPUS:
        out = await post(pod, alice, payload)
        assert_safe(out["html"], payload)
        assert out["body"] == payload  # the source stays as written (plain text)
        created.append(out)
    # The same through every read path: the post, the author's list, bob's view of them.
    for out in created[:5]:
        assert_safe((await get_post(pod, bob, out["id"]))["html"])
    listed = await items(pod, alice, "/identities/current/posts", per_page="100")
    main = await items(pod, alice, "/streams/main", per_page="100")
    by_bob = await items(pod, bob, f"/identities/{alice.identity_id}/posts", per_page="100")
    for page in (listed, main, by_bob):
        assert len(page) == len(CORPUS)
        for out in page:
            assert_safe(out["html"], out["body"])


async def test_local_corpus_in_comments_edits_and_tag_pages(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    parent = await post(pod, alice, "a post #safe")
    for payload in CORPUS[::3]:
        out = await comment(pod, bob, parent["id"], f"{payload} #safe")
        assert_safe(out["html"], payload)
    for out in await items(pod, alice, f"/posts/{parent['id']}/comments", per_page="100"):
        assert_safe(out["html"], out["body"])
    for out in await items(pod, alice, "/tags/safe/posts", per_page="100"):
        assert_safe(out["html"], out["body"])
    for payload in CORPUS[1::3]:
        _, out = await pod.call(
            "PATCH", f"{API}/posts/{parent['id']}", alice, json={"body": payload}, expect=200
        )
        assert_safe(out["html"], payload)
        assert_safe((await get_post(pod, bob, parent["id"]))["html"], payload)


# --- remote posts: HTML from another pod ----------------------------------------------------


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return new_key()


@pytest.fixture
async def hostile(key: RSAPrivateKey) -> AsyncIterator[HostilePod]:
    pod = await HostilePod().start()
    pod.add_actor("mallory", key)
    yield pod
    await pod.close()


async def _deliver(pod: Pod, hostile: HostilePod, activity: dict[str, Any]) -> None:
    status, data = await hostile.post(
        f"{pod.url}/inbox", activity, pod.clock.now(), signer="mallory"
    )
    assert status == 202, data


def _note_to(hostile: HostilePod, alice_uri: str, content: str, **extra: Any) -> dict[str, Any]:
    """A public Note from mallory that mentions alice (so it reaches her mentions stream)."""
    note = hostile.note(
        "mallory",
        "",
        [AS_PUBLIC],
        cc=[alice_uri],
        tag=[{"type": "Mention", "href": alice_uri, "name": "@alice"}],
        **extra,
    )
    return {**note, "content": content}


async def _guid(pod: Pod, ap_id: str) -> str | None:
    return await pod.app[DB].fetchval("SELECT guid FROM posts WHERE ap_id = ?", (ap_id,))


async def test_remote_corpus_never_reaches_the_api_unsanitised(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    pod = await make_pod()
    alice, bob = await pod.register("alice"), await pod.register("bob")
    alice_uri = f"{pod.url}/users/alice"
    notes = []
    for payload in CORPUS:
        note = _note_to(hostile, alice_uri, payload)
        await _deliver(pod, hostile, hostile.activity("mallory", "Create", note))
        notes.append(note)
    guids = [await _guid(pod, n["id"]) for n in notes]
    assert all(guids), "every note was stored"
    for guid, payload in zip(guids, CORPUS, strict=True):
        out = await get_post(pod, alice, guid)
        assert_safe(out["html"], payload)
        assert out["local"] is False
        assert_safe((await get_post(pod, bob, guid))["html"], payload)  # public: bob sees it
    mentions = await items(pod, alice, "/streams/mentions", per_page="100")
    assert len(mentions) == len(CORPUS)
    for out in mentions:
        assert_safe(out["html"])

    # An Update cannot bring anything back either.
    first = notes[0]
    for payload in CORPUS[4:8]:
        updated = {**first, "content": payload, "updated": pod.clock.now().isoformat()}
        await _deliver(pod, hostile, hostile.activity("mallory", "Update", updated))
        assert_safe((await get_post(pod, alice, guids[0]))["html"], payload)


async def test_remote_comment_and_attachment_urls_are_sanitised(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    pod = await make_pod()
    alice: User = await pod.register("alice")
    parent = await post(pod, alice, "comment on this")
    payload = '<p>hi <a href="javascript:alert(1)" onclick="x">there</a><script>x</script></p>'
    note = hostile.note(
        "mallory",
        "",
        [AS_PUBLIC],
        inReplyTo=parent["uri"],
        attachment=[
            {"type": "Image", "mediaType": "image/png", "url": "javascript:alert(1)"},
            {"type": "Image", "mediaType": "image/png", "url": "data:image/png;base64,AAAA"},
            {"type": "Image", "mediaType": "image/png", "url": f"{hostile.base}/ok.png"},
        ],
    )
    note["content"] = payload
    await _deliver(pod, hostile, hostile.activity("mallory", "Create", note))

    async def arrived() -> list[dict[str, Any]]:
        return await items(pod, alice, f"/posts/{parent['id']}/comments")

    (out,) = await wait_for(arrived)
    assert_safe(out["html"], payload)
    assert out["html"] == ('<p>hi <a rel="nofollow noopener noreferrer">there</a></p>')
    assert [a["url"] for a in out["attachments"]] == [f"{hostile.base}/ok.png"]


async def test_remote_classes_are_only_the_fediverse_ones(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """A remote post keeps Mastodon's markup classes (microformats, mention, hashtag, link
    shortening) and no other: a client's own class would let it pass itself off as the client
    (an overlay over the whole page, a fake button)."""
    pod = await make_pod()
    alice = await pod.register("alice")
    alice_uri = f"{pod.url}/users/alice"
    payload = (
        '<p><span class="h-card translate"><a href="https://x.example/@a"'
        ' class="u-url mention fixed inset-0 z-50">@<span>a</span></a></span>'
        ' <a href="https://x.example/tags/t" class="mention hashtag btn btn-primary">#t</a>'
        ' <a href="https://x.example/long"><span class="invisible">https://</span>'
        '<span class="ellipsis">x.example/lo</span><span class="invisible">ng</span></a>'
        ' <span class="modal-backdrop show">!</span></p>'
    )
    note = _note_to(hostile, alice_uri, payload)
    await _deliver(pod, hostile, hostile.activity("mallory", "Create", note))
    guid = await _guid(pod, note["id"])
    assert guid is not None
    html = (await get_post(pod, alice, guid))["html"]
    assert_safe(html, payload)
    classes = re.findall(r'class="([^"]*)"', html)
    assert classes == [
        "h-card", "u-url mention", "mention hashtag", "invisible", "ellipsis", "invisible",
    ], html  # fmt: skip
    assert "<span>!</span>" in html
