"""JSON-LD for incoming documents: packaged contexts only, a plain-JSON fast path, pyld otherwise.

Contexts are never fetched: the ActivityStreams and security contexts ship with the package. Any
other remote context a document names (Pleroma's litepub, Lemmy's, GoToSocial's namespace) is
taken to define nothing we rely on, as Mastodon and GoToSocial take it: those servers' contexts
only add their own terms, or repeat the ActivityStreams and security ones.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
_FILES = {AS_CONTEXT: "activitystreams.jsonld", SECURITY_CONTEXT: "security-v1.jsonld"}
_ALIASES = {
    "https://www.w3.org/ns/activitystreams.jsonld": AS_CONTEXT,
    "http://www.w3.org/ns/activitystreams": AS_CONTEXT,
}
OUR_CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT]

# Terms whose meaning we rely on; an inline context that redefines one forces the slow path.
_CORE_TERMS = frozenset(
    {
        "id", "type", "actor", "object", "target", "to", "cc", "bto", "bcc", "audience",
        "attributedTo", "inReplyTo", "content", "name", "summary", "published", "updated",
        "inbox", "outbox", "followers", "following", "endpoints", "sharedInbox",
        "preferredUsername", "publicKey", "publicKeyPem", "owner", "url", "attachment", "tag",
        "href", "mediaType",
    }
)  # fmt: skip


@cache
def packaged_context(url: str) -> dict[str, Any]:
    """The packaged copy of a known context (read once per process; the files never change)."""
    name = _FILES[_ALIASES.get(url, url)]
    text = resources.files("federation.contexts").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    canonical = _ALIASES.get(url.rstrip("/"), url.rstrip("/"))
    if canonical not in _FILES:
        raise jsonld.JsonLdError("unknown context", "jsonld.LoadDocumentError", {"url": url})
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(packaged_context(canonical)),
    }


def _entries(ctx: Any) -> list[Any]:
    if ctx is None:
        return []
    return ctx if isinstance(ctx, list) else [ctx]


def _is_plain(doc: dict[str, Any]) -> bool:
    """Whether reading the document as plain JSON gives our terms their usual meanings.

    Remote contexts (known or not) and inline ones that leave our terms alone do; so does a
    default `@language`, which only tags strings. Inline definitions of our terms, or of other
    names for them, need JSON-LD processing.
    """
    for entry in _entries(doc.get("@context")):
        if isinstance(entry, dict):
            if _CORE_TERMS & entry.keys() or any(_aliases_as(k, v) for k, v in entry.items()):
                return False
        elif not isinstance(entry, str):
            return False
    return True


def _aliases_as(term: str, definition: Any) -> bool:
    """True when `term` is another name for an ActivityStreams term (e.g. "who": "as:actor")."""
    iri = definition.get("@id") if isinstance(definition, dict) else definition
    if not isinstance(iri, str):
        return False
    for prefix in ("as:", AS_CONTEXT + "#"):
        if iri.startswith(prefix):
            return iri[len(prefix) :] != term
    return False


def _processable(ctx: Any) -> list[Any]:
    """The document's context as pyld reads it: the packaged contexts first, standing in for
    the remote ones we do not ship (dropped), then its own entries in order, with no default
    `@language` (it would turn strings into language-tagged values and `name` into `nameMap`).
    """
    out: list[Any] = list(OUR_CONTEXT)
    for entry in _entries(ctx):
        if isinstance(entry, str) and _ALIASES.get(entry, entry) in _FILES:
            out.append(entry)
        elif isinstance(entry, dict):
            out.append({k: v for k, v in entry.items() if k != "@language"})
    return out


# Values (objects, arrays, scalars, their contexts' too) in a document given to pyld. It takes
# about 30-100 µs a value, on the event loop: this bounds one document to a fifth of a second,
# where a 1 MiB one would hold every other request for two. A document that needs JSON-LD at
# all redefines our terms in an inline context: a few kilobytes in practice.
MAX_LD_VALUES = 5_000


def _too_costly(doc: dict[str, Any]) -> bool:
    """Whether processing `doc` could take long: more than MAX_LD_VALUES values, or a scoped
    context (a term definition with its own `@context`), which pyld applies afresh to every
    node it covers: a few hundred kilobytes of them took it minutes."""
    count = 0
    stack: list[tuple[Any, bool]] = [(doc, False)]  # (value, whether inside a context)
    while stack:
        value, in_context = stack.pop()
        count += 1
        if count > MAX_LD_VALUES:
            return True
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "@context" and in_context:
                    return True
                stack.append((item, in_context or key == "@context"))
        elif isinstance(value, list):
            stack.extend((item, in_context) for item in value)
    return False


def normalize(doc: dict[str, Any]) -> dict[str, Any]:
    """The document in our compact ActivityStreams form.

    Documents that leave our terms alone (nearly all) are returned as they are; others are
    expanded with their inline contexts over the packaged ones and compacted into ours, unless
    that could take long (ValueError then, as for a document pyld cannot process).
    """
    if _is_plain(doc):
        return doc
    if _too_costly(doc):
        raise ValueError("the document's JSON-LD is too large to process")
    source = dict(doc)
    source["@context"] = _processable(doc.get("@context"))
    try:
        out = jsonld.compact(source, {"@context": OUR_CONTEXT}, {"documentLoader": _loader})
    except Exception as exc:
        # pyld reports some malformed input (a null `@type`, a term whose `@id` is an object)
        # by failing on it: a TypeError, not a JsonLdError. Any failure is the document's.
        raise ValueError("the document's JSON-LD cannot be processed") from exc
    out.pop("@context", None)
    out = _strip_prefixes(out)
    out["@context"] = OUR_CONTEXT
    return out


def _strip_prefixes(value: Any) -> Any:
    """Compaction writes `as:Public` for the public collection; spell it out as everyone does."""
    if isinstance(value, dict):
        return {k: _strip_prefixes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_prefixes(v) for v in value]
    if value == "as:Public":
        return "https://www.w3.org/ns/activitystreams#Public"
    return value
