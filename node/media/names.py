"""Supported content types, their magic bytes, and the names media are stored and served under.

Pure functions: no I/O.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from urllib.parse import quote

# Content type -> file extension of the four formats we accept.
EXTENSIONS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_BY_EXTENSION = {**{ext: ct for ct, ext in EXTENSIONS.items()}, "jpeg": "image/jpeg"}

HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")
PUBLIC_PREFIX = "/media"
UPLOAD_PREFIX = "/media/uploads"
MAX_FILENAME = 255


def normalize_type(value: str) -> str | None:
    """The supported content type `value` names (parameters and case ignored), else None."""
    base = value.split(";", 1)[0].strip().lower()
    base = _ALIASES.get(base, base)
    return base if base in EXTENSIONS else None


def type_of_extension(ext: str) -> str | None:
    return _BY_EXTENSION.get(ext.lower())


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file announce (at least 12 bytes are needed)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


SNIFF_BYTES = 12


def public_path(blob_hash: str, content_type: str) -> str:
    """Where the bytes of a blob are served: /media/<sha-256 hex>.<ext>."""
    return f"{PUBLIC_PREFIX}/{blob_hash}.{EXTENSIONS.get(content_type, 'bin')}"


def ni_uri(blob_hash: str) -> str:
    """RFC 6920 named information URI of a SHA-256 given in hex."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(blob_hash)).rstrip(b"=").decode()
    return f"ni:///sha-256;{digest}"


def clean_filename(name: str) -> str:
    """The last path component, without control characters, trimmed to MAX_FILENAME."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:MAX_FILENAME]


def content_disposition(filename: str) -> str:
    """An RFC 6266 attachment header: an ASCII fallback plus the UTF-8 name when they differ."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_" for c in filename)
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
