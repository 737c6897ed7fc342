"""Field rules shared by the services that accept them; each returns an error text or None."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Set

from node.config import MAX_DAYS
from node.errors import validation
from node.services.principal import SCOPES

# `\Z`, not `$`: `$` also matches before a trailing newline ("alice\n").
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}\Z")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_DISPLAY_NAME = 100
MAX_BIO = 2000
MAX_FIELDS = 4
MAX_FIELD_TEXT = 255
# Uses of one invite code: a code meant for more people than this is open registration.
MAX_INVITE_USES = 10_000
# Names a pod keeps for its own actors and paths.
RESERVED_USERNAMES = frozenset({"actor", "admin", "api", "inbox", "instance", "root", "system"})


def username_problem(username: str) -> str | None:
    if not USERNAME_RE.fullmatch(username):
        return "1 to 30 letters, digits or underscores"
    if username.lower() in RESERVED_USERNAMES:
        return "this username is reserved"
    return None


# Other pods' usernames: ours are ASCII, theirs may have dots (Friendica), dashes (PeerTube),
# other scripts and more length.
MAX_REMOTE_USERNAME = 100


def remote_username_ok(username: str) -> bool:
    """Whether another pod's `username` shows as itself in a handle (`username@host`): no `@`
    to make it read as another host's, no spaces, and no control, format (bidi overrides,
    zero-width) or unassigned characters to hide or reorder it. Mastodon refuses more:
    anything but ASCII letters, digits, `_`, `.` and `-`."""
    return (
        0 < len(username) <= MAX_REMOTE_USERNAME
        and "@" not in username
        and not any(unicodedata.category(ch)[0] in "CZ" for ch in username)
    )


def email_problem(email: str) -> str | None:
    if len(email) > 254 or not EMAIL_RE.fullmatch(email):
        return "not a valid email address"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"at most {MAX_PASSWORD} characters"
    return None


def profile_problems(
    display_name: str | None, bio: str | None, fields: list[dict[str, str]] | None
) -> dict[str, str]:
    out: dict[str, str] = {}
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        out["displayName"] = f"at most {MAX_DISPLAY_NAME} characters"
    elif display_name and not has_visible(display_name):
        # Clients show an empty name as the username; this one they would show as no one.
        out["displayName"] = "shows nothing: leave it empty to be shown by your username"
    if bio is not None and len(bio) > MAX_BIO:
        out["bio"] = f"at most {MAX_BIO} characters"
    if fields is not None:
        if len(fields) > MAX_FIELDS:
            out["fields"] = f"at most {MAX_FIELDS} fields"
        elif any(
            len(f["name"]) > MAX_FIELD_TEXT or len(f["value"]) > MAX_FIELD_TEXT for f in fields
        ):
            out["fields"] = f"names and values of at most {MAX_FIELD_TEXT} characters"
    return out


# Unicode categories that show nothing by themselves: controls (Cc, NUL among them), formats
# (Cf: zero-width space, BOM, word joiner, directional marks) and separators (Zs, Zl, Zp).
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# Characters of other categories that show nothing either: Unicode's default ignorable ones
# outside Cf (the Hangul fillers, letters drawn blank and the usual "blank name"; the
# combining grapheme joiner; variation selectors), and the blank Braille pattern.
_BLANK = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U000e0100-\U000e01ef]"
)


def has_visible(text: str) -> bool:
    """Whether `text` shows anything: a field that may not be empty is as empty when it holds
    only zero-width, control, space or blank filler characters, as a reader sees nothing."""
    return any(
        not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE and not _BLANK.match(ch)
        for ch in text
    )


def check(**problems: str | None) -> None:
    """Refuse (422) naming each field whose rule found a problem; None is no problem."""
    found = {k: v for k, v in problems.items() if v}
    if found:
        raise validation(found)


def days_problem(days: float | None) -> str | None:
    """How long an app token or an invite stays valid, in days; None: with no end."""
    if days is not None and not 0 < days <= MAX_DAYS:  # NaN fails too
        return f"more than 0 and at most {MAX_DAYS} days"
    return None


def invite_uses_problem(max_uses: int) -> str | None:
    if not 1 <= max_uses <= MAX_INVITE_USES:
        return f"a whole number from 1 to {MAX_INVITE_USES}"
    return None


def scopes_problem(scopes: Set[str]) -> str | None:
    unknown = scopes - set(SCOPES)
    if unknown:
        return f"unknown scopes: {', '.join(sorted(unknown))}"
    if not scopes:
        return "at least one scope"
    return None
