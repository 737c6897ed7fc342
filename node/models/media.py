"""Media uploads and attachments on the wire."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from node.media.names import ni_uri, public_path
from node.models.base import ApiInput, ApiModel
from node.store.media import Attachment, Media

MAX_DESCRIPTION = 1500  # Mastodon's limit for alt text


class MediaIn(ApiInput):
    filename: str = Field(max_length=1000)
    content_type: str = Field(max_length=200)
    size: int | None = Field(None, description="The size in bytes, if known (413 when too big)")


class MediaPatch(ApiInput):
    description: str = Field(max_length=MAX_DESCRIPTION, description="Alt text")


class MediaOut(ApiModel):
    id: str
    filename: str
    content_type: str
    status: Literal["pending", "processing", "ready", "failed"]
    failure_reason: str | None = None
    description: str
    size: int | None = None
    width: int | None = None
    height: int | None = None
    blur_hash: str | None = None
    canonical_uri: str | None = Field(None, description="RFC 6920 ni: URI of the stored bytes")
    public_download_url: str | None = None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, m: Media, base_url: str) -> MediaOut:
        ready = m.status == "ready" and m.blob_hash is not None
        return cls(
            id=m.guid,
            filename=m.filename,
            content_type=m.content_type,
            # Bytes arriving right now still count as pending for the client.
            status="pending" if m.status == "uploading" else m.status,  # type: ignore[arg-type]
            failure_reason=m.failure,
            description=m.description,
            size=m.size if ready else m.received_size,
            width=m.width if ready else None,
            height=m.height if ready else None,
            blur_hash=m.blurhash if ready else None,
            canonical_uri=ni_uri(m.blob_hash) if ready and m.blob_hash else None,
            public_download_url=(
                base_url + public_path(m.blob_hash, m.content_type)
                if ready and m.blob_hash
                else None
            ),
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


class UploadOut(ApiModel):
    upload_url: str = Field(description="PUT the bytes here; no bearer token; single use")
    content_disposition_header: str = Field(description="Send as the PUT's Content-Disposition")
    expires_at: str
    media: MediaOut


class AttachmentOut(ApiModel):
    id: str | None = Field(description="The media id, for attachments uploaded here")
    type: str = Field(description="ActivityStreams type: Image or Document")
    content_type: str
    url: str
    width: int | None
    height: int | None
    blur_hash: str | None
    description: str

    @classmethod
    def of(cls, a: Attachment, base_url: str) -> AttachmentOut:
        return cls(
            id=a.media_guid,
            type=a.kind,
            content_type=a.media_type,
            url=a.url_on(base_url),
            width=a.width,
            height=a.height,
            blur_hash=a.blurhash,
            description=a.description,
        )
