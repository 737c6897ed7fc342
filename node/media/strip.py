"""Lossless metadata stripping for PNG, JPEG, GIF and WebP, by walking the container format.

Pixels are never re-encoded: only segments and chunks that carry metadata (EXIF with GPS,
XMP, IPTC, comments, text, timestamps, embedded thumbnails, trailing data) are dropped. The one
piece of EXIF kept is the orientation, rewritten as a minimal EXIF block of its own, so that a
phone photo still displays upright. Pure functions: bytes in, bytes out.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import NamedTuple

from PIL import Image

ORIENTATION_TAG = 0x0112
# Colour profiles are kept up to this size: sRGB, Display P3 or a camera's are a few KiB, while
# a large one would be copied into the stored file and every variant made of it.
MAX_ICC_BYTES = 64 * 1024


class InvalidImage(ValueError):
    """The container is malformed or truncated; the message is safe to show."""


class Stripped(NamedTuple):
    data: bytes  # the image without metadata
    orientation: int  # the EXIF orientation found, 1 when none
    frames: int  # the frames of an animation (GIF, APNG, WebP), 1 for a still


def strip(data: bytes, content_type: str) -> Stripped:
    strippers: dict[str, Callable[[bytes], Stripped]] = {
        "image/jpeg": _jpeg,
        "image/png": _png,
        "image/gif": _gif,
        "image/webp": _webp,
    }
    try:
        return strippers[content_type](data)
    except (IndexError, struct.error):
        raise InvalidImage("the image data is truncated") from None


def _orientation(exif: bytes) -> int:
    try:
        parsed = Image.Exif()
        parsed.load(exif)  # accepts the "Exif\0\0" prefix or a bare TIFF block
        value = parsed.get(ORIENTATION_TAG, 1)
    except Exception:  # malformed EXIF: it is dropped anyway, and so is its orientation
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _orientation_exif(orientation: int) -> bytes:
    """A TIFF block holding only the orientation tag."""
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    return exif.tobytes().removeprefix(b"Exif\x00\x00")


# --- JPEG -----------------------------------------------------------------------------------

_JFIF = b"JFIF\x00"
# Every scan of a progressive JPEG makes the decoder pass over all the image's coefficients
# again, even an empty scan: a file repeating one thousands of times takes hours to decode.
# Encoders write about 10 (libjpeg's standard progression: 10 for colour, 6 for grey), rarely
# more than a few dozen; libjpeg-turbo leaves the limit to the application (TJPARAM_SCANLIMIT,
# off by default), so it is checked here.
MAX_SCANS = 100
_ICC = b"ICC_PROFILE\x00"
_ADOBE = b"Adobe"


def _jpeg(data: bytes) -> Stripped:
    if not data.startswith(b"\xff\xd8"):
        raise InvalidImage("not a JPEG file")
    out = io.BytesIO()
    out.write(b"\xff\xd8")
    orientation = 1
    scans = 0
    icc: list[bytes] = []  # the profile's segments, written where the first was if small
    icc_at: int | None = None
    icc_bytes = 0
    pos = 2
    size = len(data)
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise InvalidImage("the JPEG data is truncated or malformed")
        while pos < size and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # end of image: anything after it (a second image, junk) is dropped
            out.write(b"\xff\xd9")
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out.write(bytes((0xFF, marker)))
            continue
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > size:
            raise InvalidImage("the JPEG data is truncated or malformed")
        payload = data[pos + 2 : pos + length]
        segment = data[pos - 2 : pos + length]
        pos += length
        if marker == 0xE1:  # EXIF or XMP
            if payload.startswith(b"Exif\x00\x00"):
                orientation = _orientation(payload)
            continue
        if marker == 0xE2 and payload.startswith(_ICC):  # colour profile, maybe in parts
            icc_at = out.tell() if icc_at is None else icc_at
            icc.append(segment)
            icc_bytes += len(payload) - len(_ICC) - 2  # after the part number and count
            continue
        if 0xE0 <= marker <= 0xEF:  # APPn: keep only what decoding needs
            if (marker == 0xE0 and payload.startswith(_JFIF)) or (
                marker == 0xEE and payload.startswith(_ADOBE)
            ):
                out.write(segment)
            continue
        if marker == 0xFE:  # comment
            continue
        out.write(segment)
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            scans += 1
            if scans > MAX_SCANS:
                raise InvalidImage(f"the JPEG has more than {MAX_SCANS} scans")
            end = _scan_end(data, pos)
            out.write(data[pos:end])
            pos = end
    body = out.getvalue()
    if icc_at is not None and icc_bytes <= MAX_ICC_BYTES:
        body = body[:icc_at] + b"".join(icc) + body[icc_at:]
    if orientation != 1:
        exif = b"Exif\x00\x00" + _orientation_exif(orientation)
        app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
        body = body[:2] + app1 + body[2:]
    return Stripped(body, orientation, 1)


def _scan_end(data: bytes, pos: int) -> int:
    """Index of the first marker after entropy-coded data starting at `pos`."""
    size = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= size:
            raise InvalidImage("the JPEG data is truncated")
        nxt = data[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:  # stuffed byte or restart marker: still data
            pos += 2
        elif nxt == 0xFF:  # fill byte; the marker follows
            pos += 1
        else:
            return pos


# --- PNG ------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that affect how pixels look (colour, transparency, animation); the rest of
# the ancillary chunks (tEXt, zTXt, iTXt, eXIf, tIME, private ones) are dropped.
_PNG_KEEP = frozenset(
    {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"bKGD", b"acTL", b"fcTL",
     b"fdAT", b"cICP", b"mDCv", b"cLLi"}
)  # fmt: skip


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(data: bytes) -> Stripped:
    if not data.startswith(PNG_SIGNATURE):
        raise InvalidImage("not a PNG file")
    chunks: list[tuple[bytes, bytes]] = []
    orientation = 1
    declared = found = 0  # APNG: the frames acTL announces, and those (fcTL) found
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise InvalidImage("the PNG data is truncated")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise InvalidImage("the PNG data is truncated")
        chunk = data[pos:end]
        pos = end
        if kind == b"eXIf":
            orientation = _orientation(chunk[8:-4])
            continue
        if kind == b"iCCP" and not _small_iccp(chunk[8:-4]):
            continue
        if kind == b"acTL" and length >= 4:
            declared = int.from_bytes(chunk[8:12], "big")
        found += kind == b"fcTL"
        critical = not kind[0] & 0x20
        if critical or kind in _PNG_KEEP:
            chunks.append((kind, chunk))
        if kind == b"IEND":
            break
    out = io.BytesIO()
    out.write(PNG_SIGNATURE)
    exif_pending = orientation != 1
    for kind, chunk in chunks:
        if kind == b"IDAT" and exif_pending:  # eXIf must come before the image data
            out.write(_png_chunk(b"eXIf", _orientation_exif(orientation)))
            exif_pending = False
        out.write(chunk)
    return Stripped(out.getvalue(), orientation, max(declared, found, 1))


def _small_iccp(body: bytes) -> bool:
    """Whether an iCCP chunk (name, NUL, method, zlib data) holds a profile we keep."""
    name_end = body.find(b"\x00")
    if name_end < 0:
        return False
    try:  # inflated no further than the limit: a small chunk can hold a huge profile
        profile = zlib.decompressobj().decompress(body[name_end + 2 :], MAX_ICC_BYTES + 1)
    except zlib.error:
        return False  # unreadable: of no use to anyone
    return len(profile) <= MAX_ICC_BYTES


# --- GIF ------------------------------------------------------------------------------------

_GIF_APPS_KEPT = frozenset({b"NETSCAPE2.0", b"ANIMEXTS1.0"})  # loop counts


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while True:
        n = data[pos]
        pos += 1 + n
        if n == 0:
            return pos
        if pos > len(data):
            raise InvalidImage("the GIF data is truncated")


def _gif(data: bytes) -> Stripped:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise InvalidImage("not a GIF file")
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    out = io.BytesIO()
    out.write(data[:pos])
    frames = 0
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer: what follows is dropped
            break
        start = pos
        if block == 0x2C:  # image descriptor, local colour table, LZW data: a frame
            frames += 1
            flags = data[pos + 9]
            pos += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _skip_sub_blocks(data, pos + 1)
            out.write(data[start:pos])
        elif block == 0x21:  # extension: keep graphic control, plain text and loop counts
            label = data[pos + 1]
            app_id = data[pos + 3 : pos + 14] if label == 0xFF and data[pos + 2] == 11 else b""
            pos = _skip_sub_blocks(data, pos + 2)
            if label in (0xF9, 0x01) or app_id in _GIF_APPS_KEPT:
                out.write(data[start:pos])
        else:
            raise InvalidImage("the GIF data is malformed")
    if pos > len(data):
        raise InvalidImage("the GIF data is truncated")
    out.write(b"\x3b")
    return Stripped(out.getvalue(), 1, max(frames, 1))


# --- WebP -----------------------------------------------------------------------------------

_WEBP_KEEP = frozenset({b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_ICC = 0x20
_VP8X_EXIF = 0x08
_VP8X_XMP = 0x04


def _webp(data: bytes) -> Stripped:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise InvalidImage("not a WebP file")
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise InvalidImage("the WebP data is truncated")
    chunks: list[tuple[bytes, bytes]] = []
    orientation = 1
    pos = 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body_end = pos + 8 + length
        if body_end > end:
            raise InvalidImage("the WebP data is truncated")
        body = data[pos + 8 : body_end]
        pos = body_end + (length & 1)
        if kind == b"EXIF":
            orientation = _orientation(body)
        elif kind in _WEBP_KEEP and not (kind == b"ICCP" and len(body) > MAX_ICC_BYTES):
            chunks.append((kind, body))
    if not chunks:
        raise InvalidImage("the WebP file holds no image")
    extended = chunks[0][0] == b"VP8X"
    if not extended:
        orientation = 1  # the simple format cannot carry EXIF; nothing to rewrite
    out = io.BytesIO()
    for kind, body in chunks:
        if kind == b"VP8X":
            flags = body[0] & ~(_VP8X_ICC | _VP8X_EXIF | _VP8X_XMP)
            if any(k == b"ICCP" for k, _ in chunks):
                flags |= _VP8X_ICC
            if orientation != 1:
                flags |= _VP8X_EXIF
            body = bytes((flags,)) + body[1:]
        out.write(_riff_chunk(kind, body))
    if orientation != 1:
        out.write(_riff_chunk(b"EXIF", _orientation_exif(orientation)))
    riff = b"WEBP" + out.getvalue()
    frames = max(1, sum(kind == b"ANMF" for kind, _ in chunks))
    return Stripped(b"RIFF" + len(riff).to_bytes(4, "little") + riff, orientation, frames)


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "little") + body + b"\x00" * (len(body) & 1)
