-- Spaces: groups with members, roles, invites and applications; posts in a space.

-- A space of this pod (domain NULL) or a remote Group one of ours joined (actor_guid: the Group
-- as an identity here). `name` is the Group actor's preferredUsername, fixed at creation.
CREATE TABLE spaces (
    guid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT,
    actor_guid TEXT UNIQUE REFERENCES identities (guid) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    join_mode TEXT NOT NULL CHECK (join_mode IN ('instant', 'application', 'invite', 'closed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX spaces_handle ON spaces (lower(name), coalesce(domain, ''));
CREATE INDEX spaces_discover ON spaces (visibility, domain, created_at, guid);

-- Members of our spaces, local and remote. A remote member joined with a Follow of the Group:
-- its id answers their Undo and is what our Accept / Reject refer to.
CREATE TABLE space_members (
    space_guid TEXT NOT NULL REFERENCES spaces (guid) ON DELETE CASCADE,
    identity_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    follow_ap_id TEXT,
    joined_at TEXT NOT NULL,
    PRIMARY KEY (space_guid, identity_guid)
);
CREATE INDEX space_members_identity ON space_members (identity_guid, joined_at, space_guid);
CREATE INDEX space_members_space ON space_members (space_guid, joined_at, identity_guid);
CREATE INDEX space_members_follow ON space_members (follow_ap_id);

-- Who belongs to a space, as every read check asks it: members of our spaces, and our
-- identities whose Follow of a remote space's Group was accepted (FEP-1b12 membership).
CREATE VIEW space_memberships (space_guid, identity_guid, role, joined_at) AS
    SELECT space_guid, identity_guid, role, joined_at FROM space_members
    UNION ALL
    SELECT s.guid, f.follower_guid, 'member', f.updated_at
    FROM spaces s JOIN follows f ON f.followee_guid = s.actor_guid AND f.state = 'accepted'
    WHERE s.actor_guid IS NOT NULL;

-- One invite per admin and space; regenerating replaces it (and its code).
CREATE TABLE space_invites (
    space_guid TEXT NOT NULL REFERENCES spaces (guid) ON DELETE CASCADE,
    admin_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,
    max_uses INTEGER,                  -- NULL: unlimited
    uses INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT,                   -- NULL: never
    join_mode_override TEXT CHECK (join_mode_override IN ('instant', 'application')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (space_guid, admin_guid)
);

-- Requests to join. follow_ap_id: the application came as a remote Follow, answered by
-- Accept or Reject of it.
CREATE TABLE space_applications (
    guid TEXT PRIMARY KEY,
    space_guid TEXT NOT NULL REFERENCES spaces (guid) ON DELETE CASCADE,
    applicant_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    message TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'withdrawn')),
    follow_ap_id TEXT,
    decided_by_guid TEXT REFERENCES identities (guid) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX space_applications_pending ON space_applications (space_guid, applicant_guid)
    WHERE state = 'pending';
CREATE INDEX space_applications_space ON space_applications (space_guid, created_at, guid);
CREATE INDEX space_applications_follow ON space_applications (follow_ap_id);

-- Posts in a space. Their visibility is 'public' in a public space and 'space' (members only)
-- in a private one. SQLite cannot alter a CHECK constraint, and rebuilding `posts` would
-- cascade-delete every row that references it (foreign keys stay on inside a migration), so
-- the constraint is widened in place, as SQLite documents for loosening constraints.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
SET sql = replace(sql, 'CHECK (visibility IN (''public'', ''followers'', ''direct''))',
                  'CHECK (visibility IN (''public'', ''followers'', ''direct'', ''space''))')
WHERE type = 'table' AND name = 'posts';
PRAGMA writable_schema = RESET;
ALTER TABLE posts ADD COLUMN space_guid TEXT REFERENCES spaces (guid) ON DELETE CASCADE;
CREATE INDEX posts_space ON posts (space_guid, created_at, guid);
