-- Cheaper post inserts (every remote post arrives through the inbox): an index that no query
-- uses goes, and indexes that only some posts can match hold only those posts, so a post that
-- is not local, not in a space or not a comment no longer pays for them. Every query that
-- used them still can: each names the column with `=` (or `local = 1`), which implies the
-- index's WHERE, and the foreign keys' own lookups (ON DELETE of a post or a space) likewise.

-- The activity streams sort by coalesce(last_activity_at, created_at), which it cannot serve.
DROP INDEX posts_activity;

DROP INDEX posts_local;
CREATE INDEX posts_local ON posts (local, in_reply_to_ap_id) WHERE local = 1;

DROP INDEX posts_space;
CREATE INDEX posts_space ON posts (space_guid, created_at, guid) WHERE space_guid IS NOT NULL;

DROP INDEX posts_reply;
CREATE INDEX posts_reply ON posts (in_reply_to_guid, created_at, guid)
    WHERE in_reply_to_guid IS NOT NULL;
