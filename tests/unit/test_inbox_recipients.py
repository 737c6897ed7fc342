"""Local recipients of a remote note: resolved by username, each once, in one query."""

from types import SimpleNamespace
from typing import Any

import pytest

from federation.convert import MAX_ADDRESSES, InvalidDocument, note_from_as, share_from_as
from federation.handlers.notes import local_recipients
from federation.urls import Urls

POD = "https://pod.example"


class Recording:
    """A Queryable that records each statement and finds nobody."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    async def fetchall(self, sql: str, params: Any = ()) -> list[Any]:
        self.statements.append((sql, list(params)))
        return []


def _note(**extra: Any) -> dict[str, Any]:
    return {
        "id": "https://remote.example/notes/1",
        "type": "Note",
        "attributedTo": "https://remote.example/users/mallory",
        "content": "<p>hi</p>",
        **extra,
    }


async def test_recipients_are_one_query_by_username() -> None:
    to = [f"{POD}/users/alice?{i}" for i in range(50)]
    to += [f"{POD}/users/Alice", f"{POD}/users/bob", "https://remote.example/users/eve"]
    note = note_from_as(_note(to=to, cc=[f"{POD}/users/alice", f"{POD}/users/bob/"]))
    q = Recording()
    fed = SimpleNamespace(urls=Urls(POD))
    assert await local_recipients(q, fed, note) == []  # type: ignore[arg-type]
    assert len(q.statements) == 1
    sql, params = q.statements[0]
    assert " IN (" in sql
    assert params == ["alice", "bob"]


@pytest.mark.parametrize("key", ["to", "cc", "bto", "bcc", "audience"])
def test_addressing_lists_are_bounded(key: str) -> None:
    names = [f"{POD}/users/u{i}" for i in range(MAX_ADDRESSES)]
    assert len(note_from_as(_note(**{key: names})).ap_id) > 0
    with pytest.raises(InvalidDocument):
        note_from_as(_note(**{key: [*names, f"{POD}/users/one_more"]}))


def test_mention_tags_are_bounded_but_other_tags_are_not_counted() -> None:
    mentions = [{"type": "Mention", "href": f"{POD}/users/u{i}"} for i in range(MAX_ADDRESSES)]
    hashtags = [{"type": "Hashtag", "name": f"#t{i}"} for i in range(10)]
    note_from_as(_note(tag=mentions + hashtags))
    with pytest.raises(InvalidDocument):
        note_from_as(_note(tag=[*mentions, {"type": "as:Mention", "href": f"{POD}/users/x"}]))


def test_share_recipients_are_bounded() -> None:
    share = {
        "id": "https://remote.example/shares/1",
        "type": "Share",
        "attributedTo": "https://remote.example/users/mallory",
        "scope": "all",
        "sharedItems": "https://remote.example/shares/1/items",
    }
    names = [f"{POD}/users/u{i}" for i in range(MAX_ADDRESSES)]
    assert len(share_from_as(dict(share, to=names)).recipients) == MAX_ADDRESSES
    with pytest.raises(InvalidDocument):
        share_from_as(dict(share, to=[*names, f"{POD}/users/x"]))
