"""Posts as JSON for lists. What everyone sees of a post is rendered once per revision of the
post and of its author, and kept; what only the viewer sees (what they did with it, their own
labels) is added to it on each request. A stream page thus costs two short queries and some
string joins instead of six queries and twenty validated models."""

from __future__ import annotations

import json

from aiohttp import web

from node.appkeys import POST_JSON
from node.store.posts import PostMarks, PostRef

from .context import post_out, services
from .http import RawJson

# PostOut's fields that depend on the viewer; they are left out of what is kept.
VIEWER_FIELDS = ("liked", "reshared", "labelIds", "myReaction", "bookmarked")


_BOOL = {True: "true", False: "false"}


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _viewer_part(m: PostMarks) -> bytes:
    """The viewer's fields and the closing brace (written out by hand: this runs for every
    post of every page)."""
    labels = _dumps(list(m.label_ids)) if m.label_ids else "[]"
    reaction = _dumps(m.my_reaction) if m.my_reaction is not None else "null"
    return (
        f'"liked":{_BOOL[m.liked]},"reshared":{_BOOL[m.reshared]},"labelIds":{labels},'
        f'"myReaction":{reaction},"bookmarked":{_BOOL[m.bookmarked]}}}'
    ).encode()


async def render_posts(request: web.Request, refs: list[PostRef], viewer: str | None) -> RawJson:
    """A JSON array of the posts, in order, as the viewer sees them."""
    if not refs:
        return RawJson(b"[]")
    svc = services(request).posts
    cache = request.app[POST_JSON]
    marks = await svc.marks(refs, viewer)
    shared: dict[str, bytes] = {}
    missing = []
    for r in refs:
        m = marks.get(r.guid)
        found = cache.get((r.guid, m.stamp)) if m is not None else None
        if found is None:
            missing.append(r.guid)
        else:
            shared[r.guid] = found
    if missing:
        for view in await svc.views_of(missing, viewer):
            out = post_out(request, view).model_dump(mode="json", by_alias=True)
            for name in VIEWER_FIELDS:
                del out[name]
            text = _dumps(out)[:-1].encode()
            guid = view.post.guid
            shared[guid] = text
            if guid in marks:
                cache.put((guid, marks[guid].stamp), text)
    # A post deleted since the page was read has no marks or view: it is left out.
    parts = [
        shared[r.guid] + b"," + _viewer_part(marks[r.guid])
        for r in refs
        if r.guid in marks and r.guid in shared
    ]
    return RawJson(b"[" + b",".join(parts) + b"]")
