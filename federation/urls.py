"""Where this pod's actors and objects live: pure URL building and parsing from the public URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from node.urls import host_of, odd_authority, origin, same_origin

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({AS_PUBLIC, "as:Public", "Public"})
INSTANCE_ACTOR = "actor"

_USER = re.compile(r"^/users/([A-Za-z0-9_]{1,30})$")
_POST = re.compile(r"^/posts/([0-9a-f]{32})$")
_GROUP = re.compile(r"^/groups/([0-9a-f]{32})$")


@dataclass(frozen=True)
class Urls:
    base: str  # e.g. http://127.0.0.1:8080, no trailing slash

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def key_id(self, actor_uri: str) -> str:
        return f"{actor_uri}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/{INSTANCE_ACTOR}"

    def post(self, guid: str) -> str:
        return f"{self.base}/posts/{guid}"

    # A space's Group actor lives at its GUID, so a later rename never moves it.
    def group(self, space_guid: str) -> str:
        return f"{self.base}/groups/{space_guid}"

    def group_inbox(self, space_guid: str) -> str:
        return f"{self.group(space_guid)}/inbox"

    def group_outbox(self, space_guid: str) -> str:
        return f"{self.group(space_guid)}/outbox"

    def group_members(self, space_guid: str) -> str:
        """The Group's followers collection: its members."""
        return f"{self.group(space_guid)}/followers"

    def tag(self, tag: str) -> str:
        return f"{self.base}/tags/{tag}"

    def share(self, guid: str) -> str:
        return f"{self.base}/shares/{guid}"

    def activity(self, guid: str) -> str:
        return f"{self.base}/activities/{guid}"

    def is_local(self, uri: str) -> bool:
        return same_origin(uri, self.base)

    def local_username(self, uri: str) -> str | None:
        """The username of a local actor URI, or None."""
        return self._local_part(uri, "/users/", _USER)

    def local_group_guid(self, uri: str) -> str | None:
        """The space GUID of a local Group actor URI, or None."""
        return self._local_part(uri, "/groups/", _GROUP)

    def local_post_guid(self, uri: str) -> str | None:
        return self._local_part(uri, "/posts/", _POST)

    def _local_part(self, uri: str, marker: str, path: re.Pattern[str]) -> str | None:
        # Most URIs an activity names are neither ours nor of the kind asked: the marker, which
        # every such path holds, turns them away before any parsing.
        if marker not in uri or not self.is_local(uri):
            return None
        match = path.match(urlsplit(uri).path)
        return match.group(1) if match else None


__all__ = [
    "AS_PUBLIC",
    "PUBLIC_ALIASES",
    "Urls",
    "host_of",
    "odd_authority",
    "origin",
    "same_origin",
]
