"""Reading and writing items on a remote owner's pod through a share, signed as the reader."""

from __future__ import annotations

import json
from typing import Any

from federation import convert
from federation.client import FederationClient, FetchError
from federation.convert import InvalidDocument, note_from_as
from federation.jsonld import normalize
from federation.urls import Urls, same_origin
from node.clock import Clock
from node.errors import ApiError, not_found
from node.ids import new_guid
from node.services.ports import RemoteItem
from node.services.text import html_to_text, render_plain, sanitize_html
from node.store import remote_actors as actor_store
from node.store.db import Database
from node.store.identities import Identity

MAX_ITEMS = 500  # a page walk stops here; the owner's pod pages its collection
# Pages a walk reads at most. An owner's pod serves 40 items a page, so MAX_ITEMS take 13 pages;
# a collection that runs on for more (an endless chain of empty pages) is broken, and each page
# is a signed GET that the grantee's API call waits for.
MAX_PAGES = 50


def _unavailable(exc: FetchError) -> ApiError:
    if exc.status in (401, 403, 404, 410):
        # The owner's pod decides: revoked, expired or never covered all look the same.
        return not_found("Item")
    return ApiError(502, "owner_unreachable", "The owner's pod cannot be reached right now.")


def _broken() -> ApiError:
    # Like an owner's pod that cannot be reached: 502, and nothing of a partial walk.
    return ApiError(
        502,
        "owner_collection_broken",
        "The owner's pod serves a collection that cannot be read to its end.",
    )


def _item(doc: Any) -> RemoteItem:
    note = note_from_as(doc)
    safe = sanitize_html(note.content_html)
    updated = doc.get("updated") if isinstance(doc, dict) else None
    return RemoteItem(
        uri=note.ap_id,
        html=safe,
        text=html_to_text(safe),
        author=note.author,
        published=note.published,
        updated=updated if isinstance(updated, str) else None,
    )


class RemoteSharedItems:
    def __init__(self, db: Database, client: FederationClient, urls: Urls, clock: Clock) -> None:
        self._db = db
        self._client = client
        self._urls = urls
        self._clock = clock

    def _signer(self, reader: Identity) -> str:
        return self._urls.actor(reader.username)

    async def list(self, items_uri: str, reader: Identity) -> list[RemoteItem]:
        out: list[RemoteItem] = []
        walked: set[str] = set()  # page URLs: one seen again means the links go round
        url: str | None = items_uri
        while url and len(out) < MAX_ITEMS:
            if not same_origin(url, items_uri):
                break
            if url in walked or len(walked) >= MAX_PAGES:
                raise _broken()
            walked.add(url)
            try:
                doc = normalize(await self._client.get_json(url, signer=self._signer(reader)))
            except FetchError as exc:
                raise _unavailable(exc) from None
            except ValueError:  # JSON-LD we cannot process
                raise _broken() from None
            first = doc.get("first")
            if doc.get("type") == "OrderedCollection" and isinstance(first, str):
                url = first
                continue
            entries = doc.get("orderedItems")
            for entry in entries if isinstance(entries, list) else []:
                try:
                    item = _item(entry)
                except InvalidDocument:
                    continue
                # The owner's pod speaks for its own people only, never for another pod's.
                if same_origin(item.uri, items_uri) and same_origin(item.author, items_uri):
                    out.append(item)
            nxt = doc.get("next")
            url = nxt if isinstance(nxt, str) else None
        return out

    async def get(self, uri: str, reader: Identity) -> RemoteItem:
        try:
            doc = normalize(await self._client.get_json(uri, signer=self._signer(reader)))
            item = _item(doc)
        except FetchError as exc:
            raise _unavailable(exc) from None
        except ValueError:  # not a note we can read (InvalidDocument), or not JSON-LD we can
            raise not_found("Item") from None
        if item.uri != uri or not same_origin(item.author, uri):
            raise not_found("Item")
        return item

    async def _post_to_owner(
        self, reader: Identity, owner: Identity, activity: dict[str, Any]
    ) -> None:
        actor = await actor_store.by_identity(self._db, owner.guid)
        if actor is None:
            raise not_found("Item")
        body = json.dumps(activity).encode()
        result = await self._client.post(
            actor.inbox, body, self._signer(reader), 15.0, delivery=False
        )
        if result.status is None or result.status >= 500:
            raise ApiError(502, "owner_unreachable", "The owner's pod cannot be reached right now.")
        if result.status == 403:
            raise ApiError(403, "forbidden", "The owner's pod does not allow this.")
        if result.status >= 400:
            raise not_found("Item")

    async def write(self, uri: str, reader: Identity, owner: Identity, body: str) -> None:
        current = await self.get(uri, reader)
        me = self._signer(reader)
        note = {
            "id": uri,
            "type": "Note",
            "attributedTo": current.author,
            "content": render_plain(body),
            "source": {"content": body, "mediaType": "text/plain"},
        }
        activity = convert.activity(self._urls.activity(new_guid()), "Update", me, note)
        await self._post_to_owner(reader, owner, activity)

    async def delete(self, uri: str, reader: Identity, owner: Identity) -> None:
        me = self._signer(reader)
        activity = convert.activity(
            self._urls.activity(new_guid()), "Delete", me, {"id": uri, "type": "Tombstone"}
        )
        await self._post_to_owner(reader, owner, activity)
