"""JSON-LD for incoming documents: packaged contexts only, a plain-JSON fast path, pyld otherwise.

Contexts are never fetched: the ActivityStreams and security contexts ship with the package, and
a document naming any other remote context has that context dropped (its terms stay unknown).
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
    for entry in _entries(doc.get("@context")):
        if isinstance(entry, str):
            if _ALIASES.get(entry, entry) not in _FILES:
                return False
        elif isinstance(entry, dict):
            if _CORE_TERMS & entry.keys() or any(_aliases_as(k, v) for k, v in entry.items()):
                return False
        else:
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


def _known_only(ctx: Any) -> list[Any]:
    return [
        e
        for e in _entries(ctx)
        if isinstance(e, dict) or (isinstance(e, str) and _ALIASES.get(e, e) in _FILES)
    ]


def normalize(doc: dict[str, Any]) -> dict[str, Any]:
    """The document in our compact ActivityStreams form.

    Documents using the standard contexts (nearly all) are returned as they are; others are
    expanded with their own (known) contexts and compacted into ours.
    """
    if _is_plain(doc):
        return doc
    source = dict(doc)
    source["@context"] = _known_only(doc.get("@context")) or [AS_CONTEXT]
    try:
        out = jsonld.compact(source, {"@context": OUR_CONTEXT}, {"documentLoader": _loader})
    except (jsonld.JsonLdError, RecursionError) as exc:
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
