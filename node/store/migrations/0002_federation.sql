-- Federation: keys, remote actors, follows, interactions, the durable delivery queue.

-- Key pairs of this pod's actors (identities and the instance actor), made on first use.
CREATE TABLE actor_keys (
    actor_uri TEXT PRIMARY KEY,
    private_pem TEXT NOT NULL,
    public_pem TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- What we know of remote actors; the profile part lives in identities.
CREATE TABLE remote_actors (
    identity_guid TEXT PRIMARY KEY REFERENCES identities (guid) ON DELETE CASCADE,
    uri TEXT NOT NULL UNIQUE,
    actor_type TEXT NOT NULL DEFAULT 'Person',
    inbox TEXT NOT NULL,
    shared_inbox TEXT,
    outbox TEXT,
    followers TEXT,
    key_id TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    gone_at TEXT
);
CREATE INDEX remote_actors_key ON remote_actors (key_id);

CREATE TABLE follows (
    guid TEXT PRIMARY KEY,
    follower_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    followee_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    ap_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (follower_guid, followee_guid)
);
CREATE INDEX follows_followee ON follows (followee_guid, state, created_at, guid);
CREATE INDEX follows_follower ON follows (follower_guid, state, created_at, guid);

-- Who a direct post is addressed to (and, later, who it mentions).
CREATE TABLE post_recipients (
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    PRIMARY KEY (post_guid, identity_guid)
);
CREATE INDEX post_recipients_identity ON post_recipients (identity_guid);

-- Likes and reshares: one of each per identity and post.
CREATE TABLE interactions (
    guid TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('like', 'reshare')),
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    ap_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    UNIQUE (kind, post_guid, identity_guid)
);
CREATE INDEX interactions_post ON interactions (post_guid, kind, created_at, guid);

-- Deleted objects stay deleted: a Create or Update of a tombstoned id is ignored.
CREATE TABLE tombstones (
    ap_id TEXT PRIMARY KEY,
    deleted_at TEXT NOT NULL
);

-- Activity ids already processed by the inbox (receivers deduplicate).
CREATE TABLE inbox_seen (
    ap_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
);

-- Outgoing activities, stored once and referenced by each delivery.
CREATE TABLE outbox (
    guid TEXT PRIMARY KEY,
    ap_id TEXT NOT NULL UNIQUE,
    actor_uri TEXT NOT NULL,
    activity_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX outbox_actor ON outbox (actor_uri, created_at, guid);

-- The durable delivery queue: one row per (activity, distinct inbox).
CREATE TABLE deliveries (
    guid TEXT PRIMARY KEY,
    outbox_guid TEXT NOT NULL REFERENCES outbox (guid) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (outbox_guid, inbox)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_host ON deliveries (host, state);

-- Per-domain delivery health (circuit breaker) and operator blocks.
CREATE TABLE domains (
    host TEXT PRIMARY KEY,
    failing_since TEXT,
    paused INTEGER NOT NULL DEFAULT 0,
    last_success_at TEXT,
    blocked INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
