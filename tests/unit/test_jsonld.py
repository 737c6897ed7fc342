"""Unit tests for federation.jsonld: contexts we do not ship, and inline ones to process."""

from __future__ import annotations

from typing import Any

import pytest

from federation.convert import actor_from_as, ref
from federation.jsonld import normalize
from tests.unit import dialects
from tests.unit.dialects import LEMMY_CONTEXT, PEM, litepub_context

DOCUMENTS = {
    "pleroma person": dialects.pleroma_person,
    "akkoma note": dialects.akkoma_note,
    "lemmy person": dialects.lemmy_person,
    "lemmy page": dialects.lemmy_page,
    "gotosocial note": dialects.gotosocial_note,
}


@pytest.mark.parametrize("make", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_contexts_we_do_not_ship_keep_the_plain_json_reading(make: Any) -> None:
    # Their remote contexts define nothing we rely on, and `@language` only tags strings:
    # the document is read as it is, not rewritten by a JSON-LD processor missing a context.
    doc = make()
    assert normalize(doc) is doc


@pytest.mark.parametrize(
    ("make", "username"),
    [(dialects.pleroma_person, "lain"), (dialects.lemmy_person, "picard")],
    ids=["pleroma", "lemmy"],
)
def test_pleroma_and_lemmy_actors_are_usable(make: Any, username: str) -> None:
    doc = make()
    actor = actor_from_as(normalize(doc))
    assert actor.username == username
    assert actor.display_name == doc["name"]
    assert actor.key_id == doc["publicKey"]["id"]
    assert actor.public_key_pem == PEM
    assert actor.shared_inbox == doc["endpoints"]["sharedInbox"]


def test_inline_aliases_are_still_processed_next_to_unknown_contexts() -> None:
    # A second `actor` under another name, next to the contexts Pleroma and Lemmy name; the
    # Follow's message (a join request's, for a space) stays a plain string through it all.
    alias = {"by": {"@id": "as:actor", "@type": "@id"}}
    for context in (litepub_context("pleroma.example"), LEMMY_CONTEXT):
        follow = {
            "@context": [*context, alias],
            "id": "https://pleroma.example/activities/1",
            "type": "Follow",
            "actor": "https://pleroma.example/users/lain",
            "by": "https://elsewhere.example/users/lain",
            "object": "https://hearth.example/groups/1",
            "content": "let me in",
        }
        out = normalize(follow)
        assert "by" not in out
        assert sorted(out["actor"]) == [follow["by"], follow["actor"]]
        assert ref(out["actor"]) is None  # two actors: refused by the inbox
        assert out["content"] == "let me in"


def test_processed_documents_keep_security_terms_and_plain_strings() -> None:
    # An inline definition forces processing of a Pleroma actor: the security terms its
    # unknown context would define stand in, and `und` does not make language maps.
    doc = dialects.pleroma_person()
    doc["@context"] = [*doc["@context"], {"handle": "as:preferredUsername"}]
    out = normalize(doc)
    assert out is not doc
    assert out["publicKey"] == doc["publicKey"]
    assert out["preferredUsername"] == "lain"
    assert (out["name"], out["summary"]) == (doc["name"], doc["summary"])
    assert actor_from_as(out).username == "lain"
