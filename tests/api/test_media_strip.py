"""Metadata stripping, format by format: metadata gone, pixels and animation untouched."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from node.media.strip import MAX_ICC_BYTES, MAX_SCANS, InvalidImage, strip
from tests.api.test_media_flow import gps_exif


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def photo() -> Image.Image:
    im = Image.new("RGB", (48, 32), (10, 120, 200))
    for x in range(48):
        im.putpixel((x, x % 32), (x * 5, 255 - x * 5, 0))
    return im


@pytest.mark.parametrize(
    ("fmt", "ctype", "options"),
    [
        ("JPEG", "image/jpeg", {"quality": 90}),
        ("JPEG", "image/jpeg", {"quality": 90, "progressive": True}),
        ("PNG", "image/png", {}),
        ("WEBP", "image/webp", {"lossless": True}),
    ],
)
def test_exif_goes_orientation_stays_pixels_same(
    fmt: str, ctype: str, options: dict[str, object]
) -> None:
    original = encode(photo(), fmt, exif=gps_exif(), **options)
    stripped, orientation, _ = strip(original, ctype)
    assert orientation == 6
    assert b"PhoneMaker" not in stripped
    im = Image.open(io.BytesIO(stripped))
    exif = im.getexif()
    assert dict(exif) == {0x0112: 6} and exif.get_ifd(0x8825) == {}
    assert im.tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_jpeg_comments_xmp_and_trailing_data_go() -> None:
    original = encode(photo(), "JPEG", comment=b"secret comment", xmp=b"<x:xmpmeta>GPS</x:xmpmeta>")
    stripped, orientation, _ = strip(original + b"TRAILING-SECRET", "image/jpeg")
    assert orientation == 1
    for secret in (b"secret comment", b"xmpmeta", b"TRAILING-SECRET", b"Exif"):
        assert secret not in stripped
    assert stripped.endswith(b"\xff\xd9")
    assert Image.open(io.BytesIO(stripped)).tobytes() == Image.open(io.BytesIO(original)).tobytes()


def test_icc_profile_is_kept() -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for fmt, ctype in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")):
        stripped = strip(encode(photo(), fmt, icc_profile=icc), ctype).data
        assert Image.open(io.BytesIO(stripped)).info.get("icc_profile") == icc, fmt


def test_large_icc_profiles_go() -> None:
    large = os.urandom(MAX_ICC_BYTES + 1)
    for fmt, ctype, profile in (
        ("JPEG", "image/jpeg", os.urandom(3 * 1024 * 1024)),  # in 48 segments
        ("JPEG", "image/jpeg", large),
        ("PNG", "image/png", bytes(1024 * 1024)),  # a few KiB compressed
        ("PNG", "image/png", large),
        ("WEBP", "image/webp", large),
    ):
        original = encode(photo(), fmt, icc_profile=profile)
        assert Image.open(io.BytesIO(original)).info.get("icc_profile") == profile
        stripped = strip(original, ctype).data
        assert len(stripped) < 10_000, fmt
        im = Image.open(io.BytesIO(stripped))
        assert im.info.get("icc_profile") is None, fmt
        assert im.tobytes() == Image.open(io.BytesIO(original)).tobytes()
    profile = os.urandom(MAX_ICC_BYTES)  # at the limit: kept
    for fmt, ctype in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")):
        stripped = strip(encode(photo(), fmt, icc_profile=profile), ctype).data
        assert Image.open(io.BytesIO(stripped)).info.get("icc_profile") == profile, fmt


def test_gif_comments_go_and_animation_stays() -> None:
    frames = [Image.new("RGB", (16, 16), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(
        out, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=40, comment=b"where"
    )
    stripped, _, frames = strip(out.getvalue() + b"junk", "image/gif")
    assert b"where" not in stripped and b"junk" not in stripped and frames == 3
    im = Image.open(io.BytesIO(stripped))
    assert im.n_frames == 3 and im.info["loop"] == 0


def test_animated_webp_stays_animated() -> None:
    frames = [Image.new("RGBA", (16, 16), (0, i * 80, 0, 255)) for i in range(3)]
    original = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=gps_exif())
    stripped, _, frames = strip(original, "image/webp")
    im = Image.open(io.BytesIO(stripped))
    assert im.n_frames == frames == 3 and im.getexif().get_ifd(0x8825) == {}


def test_animated_png_frames_are_counted() -> None:
    frames = [Image.new("RGB", (16, 16), (0, 0, i * 80)) for i in range(4)]
    original = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    stripped = strip(original, "image/png")
    assert stripped.frames == Image.open(io.BytesIO(stripped.data)).n_frames == 4
    for fmt, ctype in (("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")):
        assert strip(encode(photo(), fmt), ctype).frames == 1, fmt


@pytest.mark.parametrize(
    ("fmt", "ctype"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_truncated_or_foreign_data_is_invalid(fmt: str, ctype: str) -> None:
    whole = encode(photo().convert("P") if fmt == "GIF" else photo(), fmt)
    with pytest.raises(InvalidImage):
        strip(whole[: len(whole) // 2], ctype)
    with pytest.raises(InvalidImage):
        strip(b"not an image at all", ctype)


def progressive_jpeg(extra_scans: int) -> bytes:
    """A progressive JPEG whose last (empty) scan is repeated `extra_scans` more times."""
    data = encode(photo(), "JPEG", progressive=True)
    last, end = data.rindex(b"\xff\xda"), data.rindex(b"\xff\xd9")
    return data[:end] + data[last:end] * extra_scans + data[end:]


def test_a_jpeg_of_too_many_scans_is_refused() -> None:
    scans = encode(photo(), "JPEG", progressive=True).count(b"\xff\xda")
    assert scans < 20
    allowed = progressive_jpeg(MAX_SCANS - scans)
    assert strip(allowed, "image/jpeg")[0] == allowed
    with pytest.raises(InvalidImage, match="scans"):
        strip(progressive_jpeg(MAX_SCANS - scans + 1), "image/jpeg")
