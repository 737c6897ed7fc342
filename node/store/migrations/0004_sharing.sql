-- Sharing: labels on items, grants between identities, notifications.

-- An identity's private labels, attached to its own items.
CREATE TABLE labels (
    guid TEXT PRIMARY KEY,
    owner_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX labels_owner_name ON labels (owner_guid, lower(name));
CREATE INDEX labels_owner ON labels (owner_guid, created_at, guid);

CREATE TABLE post_labels (
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    label_guid TEXT NOT NULL REFERENCES labels (guid) ON DELETE CASCADE,
    PRIMARY KEY (post_guid, label_guid)
);
CREATE INDEX post_labels_label ON post_labels (label_guid);

-- A grant from the owner of items to another identity. kind 'follow' is the read-only grant an
-- accepted follow carries (followers-visible content); kind 'grant' is an explicit share.
-- A sub-share (parent_guid set) was made by a grantee with can_share; it never exceeds its
-- parent and is deleted with it. remote = 1 marks the advisory copy of a share a remote owner
-- granted to one of ours (the owner's pod decides).
CREATE TABLE shares (
    guid TEXT PRIMARY KEY,
    owner_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    grantee_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    granted_by_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    parent_guid TEXT REFERENCES shares (guid) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('grant', 'follow')),
    scope TEXT NOT NULL CHECK (scope IN ('all', 'specific_tags', 'specific_items')),
    can_read INTEGER NOT NULL,
    can_write INTEGER NOT NULL,
    can_delete INTEGER NOT NULL,
    can_share INTEGER NOT NULL,
    expires_at TEXT,
    remote INTEGER NOT NULL DEFAULT 0,
    ap_id TEXT NOT NULL UNIQUE,
    items_uri TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX shares_owner ON shares (owner_guid, created_at, guid);
CREATE INDEX shares_grantee ON shares (grantee_guid, created_at, guid);
CREATE INDEX shares_lookup ON shares (grantee_guid, owner_guid, kind);
CREATE INDEX shares_parent ON shares (parent_guid);

CREATE TABLE share_labels (
    share_guid TEXT NOT NULL REFERENCES shares (guid) ON DELETE CASCADE,
    label_guid TEXT NOT NULL,  -- a label of the owner (remote copies keep the remote id)
    label_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (share_guid, label_guid)
);
CREATE INDEX share_labels_label ON share_labels (label_guid);

CREATE TABLE share_items (
    share_guid TEXT NOT NULL REFERENCES shares (guid) ON DELETE CASCADE,
    item_guid TEXT NOT NULL,
    PRIMARY KEY (share_guid, item_guid)
);

CREATE TABLE notifications (
    guid TEXT PRIMARY KEY,
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor_guid TEXT REFERENCES identities (guid) ON DELETE CASCADE,
    subject_guid TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_identity ON notifications (identity_guid, created_at, guid);
CREATE INDEX notifications_unread ON notifications (identity_guid, read_at);
CREATE INDEX notifications_subject ON notifications (subject_guid);

-- Follows are shares from now on: every accepted follow carries its read-only grant.
INSERT INTO shares (guid, owner_guid, grantee_guid, granted_by_guid, kind, scope, can_read,
                    can_write, can_delete, can_share, ap_id, created_at, updated_at)
SELECT lower(hex(randomblob(16))), followee_guid, follower_guid, followee_guid, 'follow', 'all',
       1, 0, 0, 0, ap_id || '#share', created_at, updated_at
FROM follows WHERE state = 'accepted';
