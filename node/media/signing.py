"""Upload URLs: an HMAC over what the URL allows, with the pod's media secret. Pure."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: bytes, media_guid: str, expires: int, content_type: str, disposition: str) -> str:
    # The content type and disposition are signed too, so the URL admits only the upload that
    # was announced (as an S3 presigned PUT does).
    message = "\n".join(("PUT", media_guid, str(expires), content_type, disposition))
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def verify(
    secret: bytes,
    media_guid: str,
    expires: int,
    content_type: str,
    disposition: str,
    signature: str,
) -> bool:
    expected = sign(secret, media_guid, expires, content_type, disposition)
    return hmac.compare_digest(expected.encode(), signature.encode())
