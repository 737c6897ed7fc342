"""Labels: an identity's private tags for its own items."""

from __future__ import annotations

import re
import unicodedata

from node.clock import Clock, iso
from node.errors import conflict, not_found, validation
from node.ids import new_guid
from node.services.principal import Principal
from node.services.rules import has_visible
from node.store import labels as label_store
from node.store.db import Database, Queryable
from node.store.labels import Label
from node.store.paging import Page, PageRequest

MAX_NAME = 50
COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{6})?\Z")


def _problems(name: str | None, color: str | None) -> dict[str, str]:
    out = {}
    if name is not None and (not has_visible(name) or len(name.strip()) > MAX_NAME):
        out["name"] = f"1 to {MAX_NAME} characters"
    if color is not None and not COLOR_RE.match(color):
        out["color"] = "a colour like #2a9d8f, or empty"
    return out


def _folded(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


async def _name_taken(q: Queryable, owner_guid: str, name: str, except_guid: str = "") -> bool:
    """Whether the owner has another label of this name, ignoring case in every script (SQL's
    lower() folds ASCII only) and the ways Unicode spells one letter (é composed or not)."""
    folded = _folded(name)
    names = await label_store.names_of(q, owner_guid)
    return any(_folded(other) == folded for g, other in names.items() if g != except_guid)


class LabelService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def create(self, who: Principal, name: str, color: str = "") -> Label:
        if problems := _problems(name, color):
            raise validation(problems)
        now = iso(self._clock.now())
        label = Label(new_guid(), who.identity_guid, name.strip(), color, now, now)
        async with self._db.transaction() as tx:
            if await _name_taken(tx, who.identity_guid, label.name):
                raise conflict("You have a label with this name.", "label_exists")
            await label_store.insert(tx, label)
        return label

    async def get(self, who: Principal, guid: str) -> Label:
        label = await label_store.get(self._db, who.identity_guid, guid)
        if label is None:
            raise not_found("Label")
        return label

    async def list(self, who: Principal, page: PageRequest) -> tuple[list[Label], Page]:
        return await label_store.list_for(self._db, who.identity_guid, page)

    async def update(self, who: Principal, guid: str, name: str | None, color: str | None) -> Label:
        if problems := _problems(name, color):
            raise validation(problems)
        label = await self.get(who, guid)
        new_name = name.strip() if name is not None else label.name
        new_color = color if color is not None else label.color
        async with self._db.transaction() as tx:
            if await _name_taken(tx, who.identity_guid, new_name, guid):
                raise conflict("You have a label with this name.", "label_exists")
            await label_store.update(tx, guid, new_name, new_color, iso(self._clock.now()))
        return await self.get(who, guid)

    async def delete(self, who: Principal, guid: str) -> None:
        await self.get(who, guid)
        async with self._db.transaction() as tx:
            await label_store.delete(tx, guid)
