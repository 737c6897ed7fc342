"""Another pod's profile text: control and reordering characters go, the rest stays."""

from __future__ import annotations

import pytest

from node.services.text import profile_line, profile_text

RLO, PDF, LRI, PDI, LRM, ZWJ = "\u202e", "\u202c", "\u2066", "\u2069", "\u200e", "\u200d"


@pytest.mark.parametrize(
    ("raw", "line", "text"),
    [
        # An override left open would reverse what a client shows after the name.
        (f"Eve{RLO}nimda", "Evenimda", "Evenimda"),
        (f"{LRI}Eve{PDI} {RLO}x{PDF}", "Eve x", "Eve x"),
        # Terminal escapes, NUL, DEL and C1 controls are never text.
        ("a\x1b[31mb\x00c\x7fd\x9be", "a[31mbcde", "a[31mbcde"),
        # Line breaks: spaces in one line, kept in a bio.
        ("one\ntwo\r\nthree\tfour\u2028five", "one two  three four five",
         "one\ntwo\nthree\tfour\nfive"),
        # Marks, joiners (an emoji family), other scripts stay.
        (f"ש{LRM}x 👩{ZWJ}👧 émoji", f"ש{LRM}x 👩{ZWJ}👧 émoji", f"ש{LRM}x 👩{ZWJ}👧 émoji"),
        (f"  {RLO} ", "", ""),
    ],
)  # fmt: skip
def test_profile_text_drops_controls_and_directional_formatting(
    raw: str, line: str, text: str
) -> None:
    assert profile_line(raw) == line
    assert profile_text(raw) == text
