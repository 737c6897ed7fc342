"""The activity being handled and the one transaction its effects (and its dedupe mark) share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from federation.context import Federation
from federation.convert import ref
from node.clock import iso
from node.store import deliveries as delivery_store
from node.store.db import Tx
from node.store.identities import Identity
from node.store.remote_actors import RemoteActor


@dataclass(frozen=True)
class Incoming:
    fed: Federation
    activity: dict[str, Any]
    id: str
    actor: RemoteActor
    ident: Identity  # the actor as an identity of ours
    target_username: str | None  # set when POSTed to a personal inbox

    @property
    def object_ref(self) -> str | None:
        return ref(self.activity.get("object"))

    @property
    def object(self) -> Any:
        return self.activity.get("object")

    async def apply(
        self, effect: Callable[[Tx], Awaitable[None]], *, remember: bool = True
    ) -> bool:
        """Run `effect` once per activity id: the dedupe mark commits with the effect.

        Returns False for a duplicate (nothing is changed). `remember=False` writes no mark, for
        an effect that is its own dedupe: a Create stores its object once by the object's id
        (and never again once deleted), as Mastodon dedupes a Create by its object's URI.
        """
        if not remember:
            await self.fed.db.apply(effect)
            return True

        async def once(tx: Tx) -> bool:
            if not await delivery_store.mark_seen(tx, self.id, iso(self.fed.clock.now())):
                return False
            await effect(tx)
            return True

        return await self.fed.db.apply(once)
