"""Posts as JSON for lists. What everyone sees of a post is rendered once per revision of the
post and of its author, and kept; what only the viewer sees (what they did with it, their own
labels) is added to it on each request. A stream page thus costs two short queries and some
string joins instead of six queries and twenty validated models."""

from __future__ import annotations

import json
from functools import lru_cache

from aiohttp import web

from node.appkeys import POST_JSON
from node.services.principal import Principal
from node.store.posts import NO_MARK, PostRef, ViewerMark

from .context import post_out, services
from .http import RawJson

# PostOut's fields that depend on the viewer; they are left out of what is kept.
VIEWER_FIELDS = ("liked", "reshared", "labelIds", "myReaction", "bookmarked")


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@lru_cache(maxsize=4096)  # a pure function of a few small values, asked twenty times a page
def _viewer_part(mark: ViewerMark, labels: tuple[str, ...]) -> bytes:
    """The viewer's fields and the closing brace."""
    return (
        _dumps(
            {
                "liked": mark.liked,
                "reshared": mark.reshared,
                "labelIds": list(labels),
                "myReaction": mark.my_reaction,
                "bookmarked": mark.bookmarked,
            }
        )[1:]
    ).encode()


async def render_posts(request: web.Request, refs: list[PostRef], who: Principal) -> RawJson:
    """A JSON array of the posts, in order, as the viewer sees them."""
    if not refs:
        return RawJson(b"[]")
    svc = services(request).posts
    cache = request.app[POST_JSON]
    page = await svc.marks(refs, who)
    stamps = page.stamps
    shared: dict[str, bytes] = {}
    missing = []
    for r in refs:
        stamp = stamps.get(r.guid)
        found = cache.get((r.guid, stamp)) if stamp is not None else None
        if found is None:
            missing.append(r.guid)
        else:
            shared[r.guid] = found
    if missing:
        for view in await svc.views_of(missing, who.identity_guid):
            out = post_out(request, view).model_dump(mode="json", by_alias=True)
            for name in VIEWER_FIELDS:
                del out[name]
            text = _dumps(out)[:-1].encode()
            guid = view.post.guid
            shared[guid] = text
            if guid in stamps:
                cache.put((guid, stamps[guid]), text)
    # A post deleted since the page was read has no stamp or view: it is left out.
    marks, labels = page.marks, page.labels
    parts = [
        shared[r.guid] + b"," + _viewer_part(marks.get(r.guid, NO_MARK), labels.get(r.guid, ()))
        for r in refs
        if r.guid in stamps and r.guid in shared
    ]
    return RawJson(b"[" + b",".join(parts) + b"]")
