"""The pure image functions behind variants: the box a request is rendered to, and rendering."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from node.media import images
from node.media.images import FITS, Variant, box, step
from node.media.strip import MAX_ICC_BYTES


@pytest.fixture
def refuse_huge_resizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record every resize; one past 50 megapixels fails at once instead of allocating it."""
    asked: list[tuple[int, int]] = []
    resize = Image.Image.resize

    def spy(self: Image.Image, size: tuple[int, int], *args: Any, **kw: Any) -> Image.Image:
        asked.append(tuple(size))  # type: ignore[arg-type]
        if size[0] * size[1] > 50_000_000:
            raise MemoryError(f"would allocate {size}")
        return resize(self, size, *args, **kw)

    monkeypatch.setattr(Image.Image, "resize", spy)
    return asked


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


def test_one_side_never_enlarges_and_the_other_side_is_capped() -> None:
    for fit in FITS:
        # h=2048 of a 2000x1 picture asked for 4,096,000x2048 pixels before.
        assert box((2000, 1), None, 2048, fit, 2048) == (2000, None, "clip")
        assert box((2000, 1), 5000, None, fit, 2048) == (2000, None, "clip")
        # When the side that follows would pass the cap, it is the side at the cap.
        assert box((4000, 1), None, 1, fit, 2048) == (2048, None, "clip")
        assert box((1, 4000), 1, None, fit, 2048) == (None, 2048, "clip")
        assert box((400, 300), 100, None, fit, 2048) == (100, None, "clip")
        assert box((400, 300), None, None, fit, 2048) == (None, None, fit)


def test_scale_of_one_side_renders_within_the_source(
    tmp_path: Path, refuse_huge_resizes: list[tuple[int, int]]
) -> None:
    source = tmp_path / "wide.png"
    source.write_bytes(png((2000, 1)))
    target = tmp_path / "out.png"
    images.render(source, target, "image/png", Variant(None, 2048, "scale", "png", 0), 10**8)
    assert Image.open(target).size == (2000, 1)
    assert all(w * h <= 2000 for w, h in refuse_huge_resizes)


def test_sides_are_rounded_up_to_eight_steps_per_doubling() -> None:
    assert [step(n) for n in (1, 15, 16, 17, 31, 32, 33, 100, 104, 105)] == [
        1, 15, 16, 18, 32, 32, 36, 104, 104, 112,
    ]  # fmt: skip
    assert [step(n) for n in (1000, 1025, 2000, 2048, 2049)] == [1024, 1152, 2048, 2048, 2304]
    assert len({step(n) for n in range(1, 2049)}) == 15 + 7 * 8 + 1  # 1-15, 16-30, ..., 2048
    assert all(n <= step(n) <= n * 9 / 8 for n in range(1, 5000))


def test_one_picture_gets_one_box() -> None:
    source = (400, 300)
    # Whatever asks for the whole picture names it by its width.
    for asked in ((4000, None), (None, 300), (None, 5000), (400, 300), (800, 9000), (400, 900)):
        assert box(source, *asked, "clip", 2048) == (400, None, "clip"), asked
    # clip of two sides is the side that binds.
    assert box(source, 100, 100, "clip", 2048) == (100, None, "clip")
    assert box(source, 800, 150, "clip", 2048) == (None, 150, "clip")
    # Exact boxes larger than the source shrink into it, keeping their own aspect ratio.
    assert box(source, 800, 800, "crop", 2048) == (300, 300, "crop")
    assert box(source, 800, 100, "scale", 2048) == (400, 50, "scale")
    assert box(source, 100, 100, "fill", 2048) == (100, 100, "fill")


def test_variants_carry_no_large_icc_profile(tmp_path: Path) -> None:
    """Files stored before uploads dropped large profiles still give variants without them."""
    small, large = os.urandom(3000), os.urandom(MAX_ICC_BYTES + 1)
    for profile, kept in ((small, small), (large, None)):
        source = tmp_path / "stored.jpg"
        Image.new("RGB", (8, 8), (10, 20, 30)).save(source, "JPEG", icc_profile=profile)
        for output in ("jpeg", "webp", "png"):
            target = tmp_path / f"out.{output}"
            images.render(source, target, "image/jpeg", Variant(4, None, "clip", output, 80), 100)
            assert Image.open(target).info.get("icc_profile") == kept, output


sides = st.one_of(st.none(), st.integers(1, 300))


@settings(max_examples=150, deadline=None)
@given(
    source=st.tuples(st.integers(1, 120), st.integers(1, 120)),
    width=sides,
    height=sides,
    fit=st.sampled_from(FITS),
    cap=st.integers(16, 200),
)
def test_rendered_sides_stay_within_the_cap_and_the_source(
    source: tuple[int, int], width: int | None, height: int | None, fit: str, cap: int
) -> None:
    assume(width is not None or height is not None)  # no box: the source as it is
    w, h, normal = box(source, None if width is None else min(width, cap),
                       None if height is None else min(height, cap), fit, cap)  # fmt: skip
    assert box(source, w, h, normal, cap) == (w, h, normal)  # one name for one picture
    out = images._fit(Image.new("RGB", source), Variant(w, h, normal, "png", 0))
    assert max(out.size) <= cap
    assert out.width <= source[0] and out.height <= source[1]  # never enlarged
