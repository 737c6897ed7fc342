"""One module per activity type; each exposes `handle(incoming)`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from federation.handlers import (
    accept,
    announce,
    block,
    create,
    delete,
    follow,
    like,
    move,
    reject,
    spaces,
    undo,
    update,
)
from federation.handlers.base import Incoming

Handler = Callable[[Incoming], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "Follow": follow.handle,
    "Accept": accept.handle,
    "Reject": reject.handle,
    "Undo": spaces.with_leaving(undo.handle),
    "Create": create.handle,
    "Update": spaces.with_relay(update.handle),
    "Delete": spaces.with_relay(delete.handle),
    "Announce": announce.handle,
    "Like": like.handle,
    "EmojiReact": like.handle_emoji,
    "Block": block.handle,
    "Move": move.handle,
}

__all__ = ["HANDLERS", "Incoming"]
