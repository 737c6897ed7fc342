-- What a handle names: a person, or a group (a remote Group actor, a space). A Lemmy instance
-- gives one name to a user and a community, its WebFinger naming both: one handle names at
-- most one identity of each kind. Ours are persons (a space of ours is no identity).
ALTER TABLE identities ADD COLUMN kind TEXT NOT NULL DEFAULT 'person'
    CHECK (kind IN ('person', 'group'));
UPDATE identities SET kind = 'group'
    WHERE guid IN (SELECT identity_guid FROM remote_actors WHERE actor_type = 'Group');
DROP INDEX identities_handle;
CREATE UNIQUE INDEX identities_handle ON identities (lower(username), coalesce(domain, ''), kind);
