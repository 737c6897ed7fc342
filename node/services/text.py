"""Turning post bodies into safe HTML: local plain text is escaped, remote HTML is sanitised."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from node.urls import handle_domain

# What remote HTML may keep: text structure and links, nothing that runs or embeds.
_TAGS = {"p", "br", "a", "span", "em", "strong", "b", "i", "u", "s", "del", "code", "pre",
         "blockquote", "ul", "ol", "li"}  # fmt: skip
_TAGS = _TAGS | {"h1", "h2", "h3", "h4", "h5", "h6", "hr"}
_ATTRIBUTES = {"a": {"href", "title", "class"}, "span": {"class"}}

# @name or @name@host (host may carry a port); not inside words, e-mail addresses or URLs.
# Names as Mastodon reads them: other pods' may hold dots and dashes, though not at either end
# ("@alice." ends a sentence). Hosts in any script (IDN), made ASCII when read. Nothing may
# follow a name or host that would have continued it: `@bob@日本.example` is never cut to
# `@bob`, one of ours, nor `@bob@bücher.example` to `@bob@b`.
MENTION_RE = re.compile(
    r"(?<![\w@/.])@([A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,98}[A-Za-z0-9_])?)"
    r"(?:@([^\W_](?:[\w.-]*[^\W_])?(?::\d{1,5})?))?(?![\w@])"
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


# The classes remote HTML may keep, as Mastodon has them: microformats (h-card, u-url, ...),
# mention and hashtag, and its link shortening. Any other could take on a client's own styles
# (a full-screen overlay, a fake button) and dress a remote post up as the client itself.
_CLASS_RE = re.compile(r"(?:h|p|u|dt|e)-[\w-]+|mention|hashtag|ellipsis|invisible")


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    if name != "class":
        return value
    kept = [c for c in value.split() if _CLASS_RE.fullmatch(c)]
    return " ".join(kept) if kept else None


# Configured once: building the sanitiser's rules costs several times what cleaning a
# typical note does. It holds no state between calls.
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    url_schemes=_SCHEMES,
    link_rel="nofollow noopener noreferrer",
)


def sanitize_html(markup: str) -> str:
    return _CLEANER.clean(markup)


# Control characters, and the directional overrides, embeddings and isolates that reorder the
# text after them until their end: in another pod's name left open, they would reverse or hide
# whatever a client shows next to it (a notification's words, the handle). Marks (LRM, RLM)
# apply to no more than themselves and stay, as do joiners (emoji sequences use them).
_DIRECTIONAL = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_HIDDEN = {c: None for c in [*range(0x20), *range(0x7F, 0xA0), *map(ord, _DIRECTIONAL)]}
_TEXT = {**_HIDDEN, ord("\t"): "\t", ord("\n"): "\n", 0x2028: "\n", 0x2029: "\n"}
_LINE = {**_HIDDEN, **{c: " " for c in [*b"\t\n\v\f\r", *range(0x1C, 0x20), 0x85]},
         0x2028: " ", 0x2029: " "}  # fmt: skip


def profile_text(text: str) -> str:
    """Another pod's profile text (a bio) as kept: without control characters but line
    breaks and tabs, nor directional overrides, embeddings or isolates (see _DIRECTIONAL)."""
    return text.translate(_TEXT).strip()


def profile_line(text: str) -> str:
    """Another pod's one-line profile text (a name, a field): `profile_text`'s rule, with line
    breaks and tabs as spaces."""
    return text.translate(_LINE).strip()


def html_to_text(markup: str) -> str:
    """A plain-text rendering of HTML that `sanitize_html` already cleaned, for the `body` of
    remote posts (well-formed tags only, so dropping them is enough)."""
    # Whitespace between block elements is layout, not text.
    markup = _BETWEEN_BLOCKS.sub("><", markup)
    # Blocks end in a blank line and list items in a line break, so that list items, headings
    # and quotes (Lemmy's and Misskey's Markdown, a poll's options) do not run together.
    markup = _BLOCK_END.sub("\n\n", markup.replace("</li>", "\n").replace("<br>", "\n"))
    text = _BLANK_LINES.sub("\n\n", _TAG.sub("", markup))
    return html.unescape(text).strip()


_BETWEEN_BLOCKS = re.compile(r">\s*\n\s*<")
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|pre|blockquote|ul|ol)>|<hr>")
_BLANK_LINES = re.compile(r"\n{3,}")
_TAG = re.compile(r"<[^>]*>")


def _mark_up(state: StateCore) -> None:
    """Find mentions and hashtags in the text of a parsed body (not in code, link targets or
    link texts, not made of escapes or entities) and, when rendering, make them links.

    Runs before `text_join`, so `\\#x` and `&#35;x` stay plain text."""
    scan: _Scan | None = state.env.get("hearth")
    if scan is None:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        out: list[Token] = []
        in_link = 0
        for tok in block.children:
            if tok.type == "link_open":
                in_link += 1
            elif tok.type == "link_close":
                in_link -= 1
            if tok.type != "text" or in_link:
                out.append(tok)
            else:
                out.extend(scan.split(tok))
        block.children = out


class _Scan:
    """What one pass over a body found (and, with `mention_urls`, the links it made)."""

    def __init__(
        self, mention_urls: Mapping[tuple[str, str | None], str] | None, tag_url: str | None
    ) -> None:
        self.mention_urls = mention_urls
        self.tag_url = tag_url
        self.mentions: dict[tuple[str, str | None], None] = {}
        self.tags: dict[str, None] = {}

    def split(self, tok: Token) -> list[Token]:
        out: list[Token] = []
        pos = 0
        # A bare URL is not scanned: `/wiki/A_(b)#History` or `?via=@bob` names neither a
        # hashtag nor a person (a mention would address a private post to them).
        urls = [m.span() for m in _BARE_URL_RE.finditer(tok.content)]
        for m in _INLINE_RE.finditer(tok.content):
            if any(start < m.start() < end for start, end in urls):
                continue
            url = self._found(m)
            if url is None:
                continue
            if m.start() > pos:
                out.append(_text(tok.content[pos : m.start()]))
            link = Token("link_open", "a", 1)
            link.attrSet("href", url)
            out += [link, _text(m.group(0)), Token("link_close", "a", -1)]
            pos = m.end()
        if not out:
            return [tok]
        if pos < len(tok.content):
            out.append(_text(tok.content[pos:]))
        return out

    def _found(self, m: re.Match[str]) -> str | None:
        """Record a match; the URL it links to, if it becomes a link."""
        if m.group(3) is not None:
            tag = m.group(3).lower()
            self.tags.setdefault(tag, None)
            return self.tag_url.format(tag=tag) if self.tag_url else None
        domain = handle_domain(m.group(2)) if m.group(2) else None
        if m.group(2) and domain is None:
            return None  # no host anyone could be on: text, not a mention
        key = (m.group(1).lower(), domain)
        self.mentions.setdefault(key, None)
        return self.mention_urls.get(key) if self.mention_urls else None


def _text(content: str) -> Token:
    tok = Token("text", "", 0)
    tok.content = content
    return tok


_INLINE_RE = re.compile(f"{MENTION_RE.pattern}|{HASHTAG_RE.pattern}")
_BARE_URL_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s<>]+")
# Raw HTML off: a body can only produce what Markdown produces, then it is sanitised too.
_MD = MarkdownIt("commonmark", {"html": False}).disable("image")
_MD.core.ruler.before("text_join", "hearth_mentions_tags", _mark_up)


def _scan(body: str) -> _Scan:
    scan = _Scan(None, None)
    _MD.parse(body, {"hearth": scan})
    return scan


def extract_mentions(body: str) -> list[tuple[str, str | None]]:
    """(username, domain or None) of each distinct mention, in order."""
    return list(_scan(body).mentions)[:MAX_MENTIONS]


def extract_tags(body: str) -> list[str]:
    return list(_scan(body).tags)[:MAX_TAGS]


def render_markdown(
    body: str, mention_urls: Mapping[tuple[str, str | None], str], tag_url: str
) -> str:
    """Markdown to safe HTML; known mentions and hashtags become links.

    `mention_urls` maps extract_mentions() keys to profile URLs; `tag_url` has a `{tag}` slot.
    """
    html_out = _MD.render(body, {"hearth": _Scan(mention_urls, tag_url)})
    return sanitize_html(html_out).strip()
