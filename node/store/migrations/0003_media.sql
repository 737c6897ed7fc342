-- Media: uploads, content-addressed blobs, post attachments (local and remote), avatars.

-- The signing secret of upload URLs, made on first start.
CREATE TABLE media_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Stored files by content address; identical uploads share one row and one file.
CREATE TABLE media_blobs (
    hash TEXT PRIMARY KEY,             -- hex SHA-256 of the stored (metadata-stripped) bytes
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    blurhash TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One upload of one identity. pending: URL issued; uploading: bytes arriving; processing:
-- received and waiting for the worker; ready; failed (with a reason).
CREATE TABLE media (
    guid TEXT PRIMARY KEY,
    owner_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    declared_size INTEGER,
    received_size INTEGER,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'uploading', 'processing', 'ready', 'failed')),
    failure TEXT,
    blob_hash TEXT,                    -- media_blobs.hash once processed
    upload_expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX media_owner ON media (owner_guid, created_at, guid);
CREATE INDEX media_status ON media (status, updated_at);
CREATE INDEX media_blob ON media (blob_hash);

-- Attachments of posts, in order. Local ones point at a media row (its metadata is read live);
-- remote ones keep what the remote pod said, and their bytes are never fetched.
CREATE TABLE post_attachments (
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    media_guid TEXT REFERENCES media (guid) ON DELETE CASCADE,
    kind TEXT NOT NULL,                -- ActivityStreams type: Image, Document, ...
    media_type TEXT NOT NULL,
    url TEXT,                          -- remote attachments only
    width INTEGER,
    height INTEGER,
    blurhash TEXT,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (post_guid, position)
);
CREATE INDEX post_attachments_media ON post_attachments (media_guid);

-- The avatar of a local identity (one of its own ready media).
CREATE TABLE identity_avatars (
    identity_guid TEXT PRIMARY KEY REFERENCES identities (guid) ON DELETE CASCADE,
    media_guid TEXT NOT NULL REFERENCES media (guid) ON DELETE CASCADE
);
CREATE INDEX identity_avatars_media ON identity_avatars (media_guid);
