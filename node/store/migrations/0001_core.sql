-- Accounts, identities (local and remote), sessions and tokens, account events, posts.
CREATE TABLE accounts (
    guid TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    primary_identity_guid TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_active_at TEXT
);
CREATE UNIQUE INDEX accounts_email ON accounts (lower(email));

CREATE TABLE identities (
    guid TEXT PRIMARY KEY,
    account_guid TEXT REFERENCES accounts (guid) ON DELETE CASCADE,
    username TEXT NOT NULL,
    domain TEXT,                       -- NULL for identities of this pod
    display_name TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    fields TEXT NOT NULL DEFAULT '[]',
    locked INTEGER NOT NULL DEFAULT 0,
    discoverable INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX identities_handle ON identities (lower(username), coalesce(domain, ''));
CREATE INDEX identities_account ON identities (account_guid, created_at, guid);

CREATE TABLE sessions (
    guid TEXT PRIMARY KEY,
    account_guid TEXT NOT NULL REFERENCES accounts (guid) ON DELETE CASCADE,
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('login', 'app')),
    name TEXT NOT NULL DEFAULT '',
    scopes TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT
);
CREATE INDEX sessions_account ON sessions (account_guid, created_at, guid);

CREATE TABLE account_events (
    guid TEXT PRIMARY KEY,
    account_guid TEXT NOT NULL REFERENCES accounts (guid) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX account_events_account ON account_events (account_guid, created_at, guid);

CREATE TABLE posts (
    guid TEXT PRIMARY KEY,
    author_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    ap_id TEXT NOT NULL UNIQUE,
    local INTEGER NOT NULL,
    body TEXT NOT NULL,
    html TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'followers', 'direct')),
    in_reply_to_guid TEXT REFERENCES posts (guid) ON DELETE SET NULL,
    in_reply_to_ap_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX posts_author ON posts (author_guid, created_at, guid);
CREATE INDEX posts_created ON posts (created_at, guid);
CREATE INDEX posts_local ON posts (local, in_reply_to_ap_id);

CREATE TABLE registration_invites (
    code TEXT PRIMARY KEY,
    max_uses INTEGER NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT,
    created_at TEXT NOT NULL
);
