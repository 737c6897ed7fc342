"""Content warnings in Notes: written as Mastodon writes them (`summary` as HTML text and
`sensitive`), and read only as far as they are what they should be."""

from __future__ import annotations

from typing import Any

from federation.convert import note_from_as, note_to_as
from federation.jsonld import normalize
from node.store.posts import Post

AS = "https://www.w3.org/ns/activitystreams"


def _post(**fields: Any) -> Post:
    return Post(
        guid="a" * 32,
        author_guid="b" * 32,
        ap_id="https://pod.example/posts/" + "a" * 32,
        local=True,
        body="the twist",
        html="<p>the twist</p>",
        visibility="public",
        in_reply_to_guid=None,
        in_reply_to_ap_id=None,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
        **fields,
    )


def _note(**fields: Any) -> dict[str, Any]:
    return {
        "id": "https://remote.example/notes/1",
        "type": "Note",
        "attributedTo": "https://remote.example/users/m",
        "content": "<p>the twist</p>",
        **fields,
    }


def test_notes_carry_the_warning_as_html_text_and_the_flag() -> None:
    note = note_to_as(_post(content_warning="a <b> & 'c'", sensitive=True), "actor", [], [])
    assert (note["summary"], note["sensitive"]) == ("a &lt;b&gt; &amp; &#x27;c&#x27;", True)
    note = note_to_as(_post(sensitive=True), "actor", [], [])
    assert "summary" not in note and note["sensitive"] is True
    note = note_to_as(_post(), "actor", [], [])
    assert "summary" not in note and note["sensitive"] is False


def test_summary_and_sensitive_are_read_only_when_of_their_type() -> None:
    doc = note_from_as(_note(summary="<p>spoilers</p>", sensitive=True))
    assert (doc.summary_html, doc.sensitive) == ("<p>spoilers</p>", True)
    for odd in ("true", 1, None, [True]):
        assert note_from_as(_note(sensitive=odd)).sensitive is False
    for odd in (5, None, {"en": "x"}, ["x"]):
        assert note_from_as(_note(summary=odd)).summary_html == ""
    assert len(note_from_as(_note(summary="x" * 100_000)).summary_html) == 5000


def test_sensitive_survives_a_document_compacted_into_our_context() -> None:
    activity = {
        # Redefining a term we rely on sends the document through JSON-LD compaction.
        "@context": [AS, {"sensitive": "as:sensitive", "by": {"@id": "as:actor", "@type": "@id"}}],
        "id": "https://remote.example/create/1",
        "type": "Create",
        "by": "https://remote.example/users/m",
        "object": _note(summary="<p>spoilers</p>", sensitive=True),
    }
    doc = note_from_as(normalize(activity)["object"])
    assert (doc.summary_html, doc.sensitive) == ("<p>spoilers</p>", True)


def test_an_articles_or_pages_summary_is_an_excerpt_not_a_warning() -> None:
    for kind in ("Article", "Page"):
        doc = note_from_as(_note(type=kind, name="Title", summary="<p>A short excerpt</p>"))
        assert (doc.summary_html, doc.sensitive) == ("", False)
    # A Note's summary in a language map is its warning all the same.
    doc = note_from_as(_note(summaryMap={"en": "spoilers"}))
    assert doc.summary_html == "spoilers"
