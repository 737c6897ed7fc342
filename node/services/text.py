"""Turning post bodies into safe HTML: local plain text is escaped, remote HTML is sanitised."""

from __future__ import annotations

import html

import nh3

# What remote HTML may keep: text structure and links, nothing that runs or embeds.
_TAGS = {"p", "br", "a", "span", "em", "strong", "b", "i", "u", "s", "del", "code", "pre",
         "blockquote", "ul", "ol", "li"}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}}
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
    text = nh3.clean(markup.replace("</p>", "\n\n").replace("<br>", "\n"), tags=set())
    return html.unescape(text).strip()
