"""Turning post bodies into safe HTML: local plain text is escaped, remote HTML is sanitised."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import nh3
from markdown_it import MarkdownIt

# What remote HTML may keep: text structure and links, nothing that runs or embeds.
_TAGS = {"p", "br", "a", "span", "em", "strong", "b", "i", "u", "s", "del", "code", "pre",
         "blockquote", "ul", "ol", "li"}  # fmt: skip
_TAGS = _TAGS | {"h1", "h2", "h3", "h4", "h5", "h6", "hr"}
_ATTRIBUTES = {"a": {"href", "title", "class"}, "span": {"class"}}

# @name or @name@host (host may carry a port); not inside words, e-mail addresses or URLs.
MENTION_RE = re.compile(
    r"(?<![\w@/.])@([A-Za-z0-9_]{1,30})(?:@([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?))?"
)
HASHTAG_RE = re.compile(r"(?<![\w&#/])#([^\W_][\w]{0,99})")
MAX_MENTIONS = 20
MAX_TAGS = 30
_SCHEMES = {"http", "https", "mailto"}


def render_plain(body: str) -> str:
    """Paragraphs from blank lines, line breaks kept, everything escaped."""
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.strip("\n").split("\n")) + "</p>"
        for p in paragraphs
    )


def sanitize_html(markup: str) -> str:
    return nh3.clean(
        markup,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


def html_to_text(markup: str) -> str:
    """A plain-text rendering of (sanitised) HTML, for the `body` of remote posts."""
    # Whitespace between block elements is layout, not text.
    markup = re.sub(r">\s*\n\s*<", "><", markup)
    text = nh3.clean(markup.replace("</p>", "\n\n").replace("<br>", "\n"), tags=set())
    return html.unescape(text).strip()


def _markdown() -> MarkdownIt:
    # Raw HTML off: a body can only produce what Markdown produces, then it is sanitised too.
    return MarkdownIt("commonmark", {"html": False}).disable("image")


def extract_mentions(body: str) -> list[tuple[str, str | None]]:
    """(username, domain or None) of each distinct mention, in order."""
    seen: dict[tuple[str, str | None], None] = {}
    for m in MENTION_RE.finditer(body):
        seen.setdefault((m.group(1).lower(), m.group(2).lower() if m.group(2) else None), None)
    return list(seen)[:MAX_MENTIONS]


def extract_tags(body: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).lower() for m in HASHTAG_RE.finditer(body)))[:MAX_TAGS]


def render_markdown(
    body: str, mention_urls: Mapping[tuple[str, str | None], str], tag_url: str
) -> str:
    """Markdown to safe HTML; known mentions and hashtags become links.

    `mention_urls` maps extract_mentions() keys to profile URLs; `tag_url` has a `{tag}` slot.
    """

    def mention(m: re.Match[str]) -> str:
        key = (m.group(1).lower(), m.group(2).lower() if m.group(2) else None)
        url = mention_urls.get(key)
        return f"[{m.group(0)}]({url})" if url else m.group(0)

    def hashtag(m: re.Match[str]) -> str:
        return f"[#{m.group(1)}]({tag_url.format(tag=m.group(1).lower())})"

    source = HASHTAG_RE.sub(hashtag, MENTION_RE.sub(mention, body))
    return sanitize_html(_markdown().render(source)).strip()
