-- Content warnings, as Mastodon has them: a short plain text shown in place of the post until
-- the reader opens it ('' for none; ActivityPub's `summary`), and a flag marking the post and
-- its media sensitive (always set with a warning, and may be set alone; `sensitive`).
ALTER TABLE posts ADD COLUMN content_warning TEXT NOT NULL DEFAULT '';
ALTER TABLE posts ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0 CHECK (sensitive IN (0, 1));

-- Both are part of what a post shows to everyone: changing them bumps its revision, as
-- changing its text does (see 0008), so lists render it again.
DROP TRIGGER posts_rev_self;
CREATE TRIGGER posts_rev_self AFTER UPDATE OF body, html, updated_at, visibility, space_guid,
    in_reply_to_guid, content_warning, sensitive ON posts
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = NEW.guid;
END;
