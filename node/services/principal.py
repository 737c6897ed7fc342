"""Who is calling: the account, the identity it acts as, and what its token may do."""

from __future__ import annotations

from dataclasses import dataclass

from node.errors import insufficient_scope

# diaspora*-style scopes. Login sessions are first-party and hold all of them; app tokens hold
# what was granted when they were issued. Posts that are not public (followers-only, direct,
# in a private space) and what only their owner sees (bookmarks, labels) need the private
# scopes besides the route's own: without private:read a token reads what anyone may read,
# and without private:modify it writes, changes and interacts with public posts only.
SCOPES: tuple[str, ...] = (
    "profile",
    "profile:modify",
    "public:read",
    "public:modify",
    "private:read",
    "private:modify",
    "contacts:read",
    "contacts:modify",
    "interactions",
    "notifications",
    "media",
    "drives",
)

PRIVATE_READ = "private:read"
PRIVATE_MODIFY = "private:modify"


@dataclass(frozen=True)
class Principal:
    account_guid: str
    identity_guid: str
    session_guid: str
    scopes: frozenset[str]
    first_party: bool

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def require(self, scope: str, needed_to: str | None = None) -> None:
        """403 insufficient_scope unless the token carries `scope`."""
        if scope not in self.scopes:
            raise insufficient_scope(scope, needed_to)

    @property
    def public_only(self) -> bool:
        """Whether the token reads public posts only, and none of its private data."""
        return PRIVATE_READ not in self.scopes
