-- The social layer: hashtags and mentions on posts, emoji reactions, bookmarks, followed tags,
-- and when a post last saw activity (for the activity stream).
ALTER TABLE posts ADD COLUMN last_activity_at TEXT;
UPDATE posts SET last_activity_at = created_at;
CREATE INDEX posts_activity ON posts (last_activity_at, guid);
CREATE INDEX posts_reply ON posts (in_reply_to_guid, created_at, guid);

CREATE TABLE post_tags (
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    tag TEXT NOT NULL,  -- lower case, without '#'
    PRIMARY KEY (post_guid, tag)
);
CREATE INDEX post_tags_tag ON post_tags (tag, post_guid);

CREATE TABLE post_mentions (
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    PRIMARY KEY (post_guid, identity_guid)
);
CREATE INDEX post_mentions_identity ON post_mentions (identity_guid, post_guid);

-- One emoji reaction per identity and post (a like is separate, in interactions).
CREATE TABLE reactions (
    guid TEXT PRIMARY KEY,
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    ap_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    UNIQUE (post_guid, identity_guid)
);
CREATE INDEX reactions_identity ON reactions (identity_guid, created_at, guid);

CREATE TABLE bookmarks (
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (identity_guid, post_guid)
);
CREATE INDEX bookmarks_time ON bookmarks (identity_guid, created_at, post_guid);

CREATE TABLE tag_followings (
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (identity_guid, tag)
);

CREATE INDEX interactions_identity ON interactions (identity_guid, kind, created_at, guid);
