"""The web pages a browser gets at a local actor's or public post's id (a link someone followed
from another server), instead of its ActivityStreams document: pure rendering, everything
escaped but a post's HTML, which this pod rendered itself from the author's text."""

from __future__ import annotations

from html import escape

from federation.urls import Urls
from node.services.text import render_plain
from node.store.identities import Identity
from node.store.posts import Post

AS_TYPE = "application/activity+json"
# Nothing on these pages runs or loads from elsewhere: inline style only.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em;"
    "line-height:1.5}dt{font-weight:bold}.handle,time{color:#555}"
)


def _page(title: str, document_url: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style>"
        f'<link rel="alternate" type="{AS_TYPE}" href="{escape(document_url)}">'
        f"</head><body>{body}</body></html>"
    )


def handle_of(ident: Identity, urls: Urls) -> str:
    return f"@{ident.username}@{urls.host}"


def profile_page(ident: Identity, urls: Urls) -> str:
    name = ident.display_name or ident.username
    fields = "".join(
        f"<dt>{escape(f['name'])}</dt><dd>{escape(f['value'])}</dd>" for f in ident.fields
    )
    body = (
        f'<main><h1>{escape(name)}</h1><p class="handle">{escape(handle_of(ident, urls))}</p>'
        f"{render_plain(ident.bio)}{f'<dl>{fields}</dl>' if fields else ''}</main>"
    )
    return _page(f"{name} ({handle_of(ident, urls)})", urls.actor(ident.username), body)


def post_page(post: Post, author: Identity, urls: Urls) -> str:
    name = author.display_name or author.username
    profile = urls.actor(author.username)
    content = post.html
    if post.content_warning:
        content = f"<details><summary>{escape(post.content_warning)}</summary>{content}</details>"
    body = (
        f'<main><article><header><a href="{escape(profile)}">{escape(name)}</a> '
        f'<span class="handle">{escape(handle_of(author, urls))}</span></header>'
        f"{content}"
        f'<footer><time datetime="{escape(post.created_at)}">{escape(post.created_at)}</time>'
        "</footer></article></main>"
    )
    # The title shows where nothing folds a warning's text away (tabs, link previews).
    summary = post.content_warning or post.body
    return _page(f"{name}: {summary[:80]}", urls.post(post.guid), body)
