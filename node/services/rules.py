"""Field rules shared by the services that accept them; each returns an error text or None."""

from __future__ import annotations

import re

# `\Z`, not `$`: `$` also matches before a trailing newline ("alice\n").
USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}\Z")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_DISPLAY_NAME = 100
MAX_BIO = 2000
MAX_FIELDS = 4
MAX_FIELD_TEXT = 255
# Names a pod keeps for its own actors and paths.
RESERVED_USERNAMES = frozenset({"actor", "admin", "api", "inbox", "instance", "root", "system"})


def username_problem(username: str) -> str | None:
    if not USERNAME_RE.fullmatch(username):
        return "1 to 30 letters, digits or underscores"
    if username.lower() in RESERVED_USERNAMES:
        return "this username is reserved"
    return None


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
