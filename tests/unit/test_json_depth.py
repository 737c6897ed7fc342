import json
from typing import Any

from federation.convert import MAX_DEPTH, too_deep


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth - 1):
        value = {"content": [value]} if isinstance(value, str) else {"content": value}
    return value if depth > 1 else {"content": value}


def test_depth_limit_with_and_without_the_raw_text() -> None:
    for depth in (1, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 3 * MAX_DEPTH):
        doc = _nested(depth)
        raw = json.dumps(doc).encode()
        assert too_deep(doc) == too_deep(doc, raw=raw), depth
    assert not too_deep(_nested(MAX_DEPTH), raw=json.dumps(_nested(MAX_DEPTH)).encode())
    assert too_deep(_nested(MAX_DEPTH + 5), raw=json.dumps(_nested(MAX_DEPTH + 5)).encode())


def test_brackets_inside_strings_only_cost_the_walk() -> None:
    doc = {"content": "[" * 500 + "{" * 500}
    assert not too_deep(doc, raw=json.dumps(doc).encode())
