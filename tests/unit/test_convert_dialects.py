"""Unit tests for federation.convert on documents as Pleroma, Akkoma, Lemmy and GoToSocial send
them, read after federation.jsonld.normalize as the inbox reads them."""

from __future__ import annotations

from typing import Any

from federation.convert import MAX_PROFILE_FIELDS, actor_from_as, note_from_as
from federation.jsonld import normalize
from tests.unit import dialects
from tests.unit.dialects import AS, GOTOSOCIAL_CONTEXT


def note(**fields: Any) -> dict[str, Any]:
    return {
        "id": "https://remote.example/notes/1",
        "type": "Note",
        "attributedTo": "https://remote.example/users/bob",
        "to": [dialects.PUBLIC],
        **fields,
    }


def test_akkoma_note() -> None:
    doc = dialects.akkoma_note()
    parsed = note_from_as(normalize(doc))
    assert parsed.content_html == doc["content"]
    assert parsed.mentions == ("https://pleroma.example/users/lain",)
    assert parsed.hashtags == ("akkoma",)
    assert parsed.visibility(f"{doc['actor']}/followers") == "public"


def test_gotosocial_note_keeps_its_hashtag() -> None:
    parsed = note_from_as(normalize(dialects.gotosocial_note()))
    assert parsed.hashtags == ("cats",)
    assert parsed.to == [dialects.PUBLIC]


def test_tag_types_may_be_compact_or_full_iris() -> None:
    tags = [
        {"type": "as:Hashtag", "name": "#one"},
        {"type": f"{AS}#Hashtag", "name": "#two"},
        {"type": "as:Mention", "href": "https://remote.example/users/carol"},
        {"type": f"{AS}#Mention", "href": "https://remote.example/users/dave"},
        {"type": "toot:Hashtag", "name": "#not_ours"},
    ]
    parsed = note_from_as(note(content="<p>hi</p>", tag=tags))
    assert parsed.hashtags == ("one", "two")
    assert parsed.mentions == (
        "https://remote.example/users/carol",
        "https://remote.example/users/dave",
    )
    # Processing a GoToSocial note (made necessary here by an inline alias) writes the
    # Hashtag its context defines as `as:Hashtag`: it is still a hashtag.
    doc = dialects.gotosocial_note()
    doc["@context"] = [*GOTOSOCIAL_CONTEXT, {"by": "as:attributedTo"}]
    processed = normalize(doc)
    assert processed["tag"]["type"] == "as:Hashtag"
    assert note_from_as(processed).hashtags == ("cats",)


def test_language_maps_stand_in_for_missing_plain_values() -> None:
    def content(**fields: Any) -> str:
        return note_from_as(note(**fields)).content_html

    assert content(contentMap={"de": "<p>Hallo</p>", "en": "<p>Hello</p>"}) == "<p>Hello</p>"
    assert content(contentMap={"en": "<p>Hello</p>", "und": "<p>Hi</p>"}) == "<p>Hi</p>"
    assert content(contentMap={"de": "<p>Hallo</p>", "fr": "<p>Salut</p>"}) == "<p>Hallo</p>"
    assert content(content="", contentMap={"fr": "<p>Salut</p>"}) == "<p>Salut</p>"
    assert content(content="<p>plain</p>", contentMap={"en": "<p>map</p>"}) == "<p>plain</p>"
    assert content(contentMap={"en": 7}) == ""

    actor = dialects.lemmy_person()
    del actor["name"], actor["summary"]
    actor.update(nameMap={"und": "Picard"}, summaryMap={"fr": "<p>Capitaine</p>"})
    parsed = actor_from_as(actor)
    assert (parsed.display_name, parsed.summary_html) == ("Picard", "<p>Capitaine</p>")


def test_lemmy_link_post_without_text_has_its_title_and_link() -> None:
    parsed = note_from_as(normalize(dialects.lemmy_page()))
    assert parsed.content_html == (
        "<p><strong>Warp cores &amp; how they fail</strong></p>"
        '<p><a href="https://example.org/warp-cores">https://example.org/warp-cores</a></p>'
    )
    assert parsed.attachments == ()  # the Link is the post's link, not media


def test_titled_posts_keep_their_text_after_the_title() -> None:
    # A Lemmy text post: a title and a body, no link.
    text = dialects.lemmy_page(content="<p>They do not.</p>\n", mediaType="text/html")
    del text["attachment"]
    assert note_from_as(text).content_html == (
        "<p><strong>Warp cores &amp; how they fail</strong></p><p>They do not.</p>\n"
    )
    # An Article (a blog post) whose `url` is its page on the web: title, link, text.
    article = note(
        type="Article",
        name="On <b>escaping</b>",
        url={"type": "Link", "href": "https://blog.example/on-escaping?a=1&b=2"},
        content="<p>Body.</p>",
    )
    assert note_from_as(article).content_html == (
        "<p><strong>On &lt;b&gt;escaping&lt;/b&gt;</strong></p>"
        '<p><a href="https://blog.example/on-escaping?a=1&amp;b=2">'
        "https://blog.example/on-escaping?a=1&amp;b=2</a></p><p>Body.</p>"
    )
    # Links that are not http(s) are left out; a Note's name is not a title.
    odd = dialects.lemmy_page(attachment=[{"type": "Link", "href": "javascript:alert(1)"}])
    assert "javascript" not in note_from_as(odd).content_html
    assert note_from_as(note(name="x", content="<p>y</p>")).content_html == "<p>y</p>"


def test_profile_fields_keep_property_values_in_order_and_skip_the_rest() -> None:
    actor = dialects.lemmy_person()
    actor["attachment"] = [
        {"type": "PropertyValue", "name": "Site", "value": '<a href="https://a.example">a</a>'},
        {"type": "Image", "url": "https://remote.example/banner.png"},  # not a field
        "https://remote.example/not-a-field",
        {"type": "PropertyValue", "name": ["a list"], "value": "x"},
        {"type": "PropertyValue", "name": "No value"},
        {"type": "PropertyValue", "name": "  ", "value": "no name"},
        *({"type": "PropertyValue", "name": f"n{i}", "value": f"v{i}"} for i in range(30)),
    ]
    fields = actor_from_as(actor).fields
    assert fields[0] == ("Site", '<a href="https://a.example">a</a>')
    assert fields[1:3] == (("n0", "v0"), ("n1", "v1"))
    assert len(fields) == MAX_PROFILE_FIELDS
    # One field, not in a list; and none at all.
    actor["attachment"] = {"type": "PropertyValue", "name": "Pronouns", "value": "she/her"}
    assert actor_from_as(actor).fields == (("Pronouns", "she/her"),)
    del actor["attachment"]
    assert actor_from_as(actor).fields == ()
