"""The forms one server's host takes in inbox URLs, for finding its deliveries."""

from __future__ import annotations

import pytest

from node.urls import default_port_forms


@pytest.mark.parametrize(
    ("key", "forms"),
    [
        ("example.org", ["example.org", "example.org:443", "example.org:80"]),
        ("example.org:443", ["example.org:443", "example.org"]),
        ("example.org:80", ["example.org:80", "example.org"]),
        ("example.org:8443", ["example.org:8443"]),
        ("[::1]:443", ["[::1]:443", "[::1]"]),
        ("[::1]", ["[::1]", "[::1]:443", "[::1]:80"]),
    ],
)
def test_a_default_port_is_the_same_server_as_none(key: str, forms: list[str]) -> None:
    assert default_port_forms(key) == forms
