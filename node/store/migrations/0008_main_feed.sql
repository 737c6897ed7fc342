-- The main stream's posts, per identity of this pod (a home feed, as Mastodon keeps one):
-- the top-level posts of the identities it follows, of its spaces, with the hashtags it
-- follows, and its own. Reading a page is then a walk of twenty-odd entries instead of a scan
-- of every post. Triggers keep the table in step with every write, so no code path can forget
-- it. The feed says what belongs in the stream; the stream query still tests each entry for
-- visibility (a grant can be revoked or expire without any write to the feed).
CREATE TABLE main_feed (
    viewer_guid TEXT NOT NULL REFERENCES identities (guid) ON DELETE CASCADE,
    created_at TEXT NOT NULL,          -- the post's, so pages and cursors match other lists
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    PRIMARY KEY (viewer_guid, created_at, post_guid)
) WITHOUT ROWID;
CREATE INDEX main_feed_post ON main_feed (post_guid);
-- Who follows a hashtag, as a new post with it asks.
CREATE INDEX tag_followings_tag ON tag_followings (tag, identity_guid);

-- The feed replaces the walk this index served.
DROP INDEX posts_top;

-- A new top-level post: its author, the author's followers and the space's members.
CREATE TRIGGER main_feed_post AFTER INSERT ON posts WHEN NEW.in_reply_to_ap_id IS NULL
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT v.guid, NEW.created_at, NEW.guid
    FROM (
        SELECT NEW.author_guid AS guid
        UNION SELECT follower_guid FROM follows
            WHERE followee_guid = NEW.author_guid AND state = 'accepted'
        UNION SELECT identity_guid FROM space_memberships WHERE space_guid = NEW.space_guid
    ) v JOIN identities i ON i.guid = v.guid AND i.domain IS NULL;
END;

-- A remote post that reaches us before the Group's Announce of it is placed in its space later.
CREATE TRIGGER main_feed_post_space AFTER UPDATE OF space_guid ON posts
WHEN NEW.in_reply_to_ap_id IS NULL AND NEW.space_guid IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT m.identity_guid, NEW.created_at, NEW.guid
    FROM space_memberships m JOIN identities i ON i.guid = m.identity_guid AND i.domain IS NULL
    WHERE m.space_guid = NEW.space_guid;
END;

-- A hashtag on a top-level post (at creation or by an edit): who follows the tag.
CREATE TRIGGER main_feed_tag AFTER INSERT ON post_tags
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT f.identity_guid, p.created_at, p.guid
    FROM posts p JOIN tag_followings f ON f.tag = NEW.tag
    WHERE p.guid = NEW.post_guid AND p.in_reply_to_ap_id IS NULL;
END;

-- A follow that is (or becomes) accepted brings in the followee's posts, and when the followee
-- is a space's Group, the space's posts.
CREATE TRIGGER main_feed_follow AFTER INSERT ON follows WHEN NEW.state = 'accepted'
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT NEW.follower_guid, p.created_at, p.guid FROM posts p
    WHERE p.author_guid = NEW.followee_guid AND p.in_reply_to_ap_id IS NULL
      AND EXISTS (SELECT 1 FROM identities WHERE guid = NEW.follower_guid AND domain IS NULL);
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT NEW.follower_guid, p.created_at, p.guid
    FROM spaces s JOIN posts p ON p.space_guid = s.guid
    WHERE s.actor_guid = NEW.followee_guid AND p.in_reply_to_ap_id IS NULL
      AND EXISTS (SELECT 1 FROM identities WHERE guid = NEW.follower_guid AND domain IS NULL);
END;

CREATE TRIGGER main_feed_follow_accepted AFTER UPDATE OF state ON follows
WHEN NEW.state = 'accepted' AND OLD.state IS NOT 'accepted'
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT NEW.follower_guid, p.created_at, p.guid FROM posts p
    WHERE p.author_guid = NEW.followee_guid AND p.in_reply_to_ap_id IS NULL
      AND EXISTS (SELECT 1 FROM identities WHERE guid = NEW.follower_guid AND domain IS NULL);
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT NEW.follower_guid, p.created_at, p.guid
    FROM spaces s JOIN posts p ON p.space_guid = s.guid
    WHERE s.actor_guid = NEW.followee_guid AND p.in_reply_to_ap_id IS NULL
      AND EXISTS (SELECT 1 FROM identities WHERE guid = NEW.follower_guid AND domain IS NULL);
END;

-- Joining one of our spaces brings in its posts.
CREATE TRIGGER main_feed_member AFTER INSERT ON space_members
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT NEW.identity_guid, p.created_at, p.guid FROM posts p
    WHERE p.space_guid = NEW.space_guid AND p.in_reply_to_ap_id IS NULL
      AND EXISTS (SELECT 1 FROM identities WHERE guid = NEW.identity_guid AND domain IS NULL);
END;

-- Following a hashtag brings in the posts that carry it.
CREATE TRIGGER main_feed_tag_following AFTER INSERT ON tag_followings
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT NEW.identity_guid, p.created_at, p.guid
    FROM post_tags t JOIN posts p ON p.guid = t.post_guid
    WHERE t.tag = NEW.tag AND p.in_reply_to_ap_id IS NULL;
END;

-- Why a post belongs in an identity's main stream: one row per reason (its own post, a follow,
-- a space, a hashtag). Used to take out what no longer has a reason.
CREATE VIEW main_feed_reasons (viewer_guid, post_guid) AS
    SELECT p.author_guid, p.guid FROM posts p
    UNION ALL
    SELECT f.follower_guid, p.guid FROM follows f JOIN posts p ON p.author_guid = f.followee_guid
    WHERE f.state = 'accepted'
    UNION ALL
    -- space_memberships spelled out: through that view SQLite would build all of it first.
    SELECT m.identity_guid, p.guid FROM space_members m JOIN posts p ON p.space_guid = m.space_guid
    UNION ALL
    SELECT f.follower_guid, p.guid FROM follows f JOIN spaces s ON s.actor_guid = f.followee_guid
    JOIN posts p ON p.space_guid = s.guid WHERE f.state = 'accepted'
    UNION ALL
    SELECT g.identity_guid, t.post_guid FROM tag_followings g JOIN post_tags t ON t.tag = g.tag;

-- Leaving a source (an unfollow, a hashtag, a space, a hashtag taken off a post) takes out the
-- entries it brought in that have no other reason to stay, so the feed holds exactly the
-- stream's posts and reading it needs no test but visibility.
CREATE TRIGGER main_feed_unfollow AFTER DELETE ON follows WHEN OLD.state = 'accepted'
BEGIN
    DELETE FROM main_feed
    WHERE viewer_guid = OLD.follower_guid
      AND post_guid IN (
          SELECT guid FROM posts WHERE author_guid = OLD.followee_guid
          UNION ALL
          SELECT p.guid FROM spaces s JOIN posts p ON p.space_guid = s.guid
          WHERE s.actor_guid = OLD.followee_guid)
      AND NOT EXISTS (SELECT 1 FROM main_feed_reasons r
          WHERE r.viewer_guid = main_feed.viewer_guid AND r.post_guid = main_feed.post_guid);
END;

CREATE TRIGGER main_feed_follow_withdrawn AFTER UPDATE OF state ON follows
WHEN OLD.state = 'accepted' AND NEW.state IS NOT 'accepted'
BEGIN
    DELETE FROM main_feed
    WHERE viewer_guid = OLD.follower_guid
      AND post_guid IN (
          SELECT guid FROM posts WHERE author_guid = OLD.followee_guid
          UNION ALL
          SELECT p.guid FROM spaces s JOIN posts p ON p.space_guid = s.guid
          WHERE s.actor_guid = OLD.followee_guid)
      AND NOT EXISTS (SELECT 1 FROM main_feed_reasons r
          WHERE r.viewer_guid = main_feed.viewer_guid AND r.post_guid = main_feed.post_guid);
END;

CREATE TRIGGER main_feed_untag AFTER DELETE ON tag_followings
BEGIN
    DELETE FROM main_feed
    WHERE viewer_guid = OLD.identity_guid
      AND post_guid IN (SELECT post_guid FROM post_tags WHERE tag = OLD.tag)
      AND NOT EXISTS (SELECT 1 FROM main_feed_reasons r
          WHERE r.viewer_guid = main_feed.viewer_guid AND r.post_guid = main_feed.post_guid);
END;

CREATE TRIGGER main_feed_leave AFTER DELETE ON space_members
BEGIN
    DELETE FROM main_feed
    WHERE viewer_guid = OLD.identity_guid
      AND post_guid IN (SELECT guid FROM posts WHERE space_guid = OLD.space_guid)
      AND NOT EXISTS (SELECT 1 FROM main_feed_reasons r
          WHERE r.viewer_guid = main_feed.viewer_guid AND r.post_guid = main_feed.post_guid);
END;

CREATE TRIGGER main_feed_tag_gone AFTER DELETE ON post_tags
BEGIN
    DELETE FROM main_feed
    WHERE post_guid = OLD.post_guid
      AND viewer_guid IN (SELECT identity_guid FROM tag_followings WHERE tag = OLD.tag)
      AND NOT EXISTS (SELECT 1 FROM main_feed_reasons r
          WHERE r.viewer_guid = main_feed.viewer_guid AND r.post_guid = main_feed.post_guid);
END;

-- What the pod already holds.
INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
SELECT p.author_guid, p.created_at, p.guid
FROM posts p JOIN identities i ON i.guid = p.author_guid AND i.domain IS NULL
WHERE p.in_reply_to_ap_id IS NULL;

INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
SELECT f.follower_guid, p.created_at, p.guid
FROM follows f JOIN identities i ON i.guid = f.follower_guid AND i.domain IS NULL
JOIN posts p ON p.author_guid = f.followee_guid AND p.in_reply_to_ap_id IS NULL
WHERE f.state = 'accepted';

INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
SELECT m.identity_guid, p.created_at, p.guid
FROM space_memberships m JOIN identities i ON i.guid = m.identity_guid AND i.domain IS NULL
JOIN posts p ON p.space_guid = m.space_guid AND p.in_reply_to_ap_id IS NULL;

INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
SELECT f.identity_guid, p.created_at, p.guid
FROM tag_followings f JOIN post_tags t ON t.tag = f.tag
JOIN posts p ON p.guid = t.post_guid AND p.in_reply_to_ap_id IS NULL;

-- A post's revision: bumped (by triggers, so no write path can forget) whenever anything a
-- post shows to everyone changes: its text, counters, reactions, hashtags or attachments.
-- Rendered posts are cached under it.
ALTER TABLE posts ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER posts_rev_self AFTER UPDATE OF body, html, updated_at, visibility, space_guid,
    in_reply_to_guid ON posts
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = NEW.guid;
END;
CREATE TRIGGER posts_rev_reply AFTER INSERT ON posts WHEN NEW.in_reply_to_guid IS NOT NULL
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = NEW.in_reply_to_guid;
END;
CREATE TRIGGER posts_rev_reply_gone AFTER DELETE ON posts WHEN OLD.in_reply_to_guid IS NOT NULL
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = OLD.in_reply_to_guid;
END;
CREATE TRIGGER posts_rev_reply_moved AFTER UPDATE OF in_reply_to_guid ON posts
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid IN (OLD.in_reply_to_guid, NEW.in_reply_to_guid);
END;
CREATE TRIGGER posts_rev_interaction AFTER INSERT ON interactions
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = NEW.post_guid;
END;
CREATE TRIGGER posts_rev_interaction_gone AFTER DELETE ON interactions
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = OLD.post_guid;
END;
CREATE TRIGGER posts_rev_reaction AFTER INSERT ON reactions
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = NEW.post_guid;
END;
CREATE TRIGGER posts_rev_reaction_changed AFTER UPDATE ON reactions
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid IN (OLD.post_guid, NEW.post_guid);
END;
CREATE TRIGGER posts_rev_reaction_gone AFTER DELETE ON reactions
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = OLD.post_guid;
END;
CREATE TRIGGER posts_rev_tag AFTER INSERT ON post_tags
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = NEW.post_guid;
END;
CREATE TRIGGER posts_rev_tag_gone AFTER DELETE ON post_tags
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = OLD.post_guid;
END;
CREATE TRIGGER posts_rev_attachment AFTER INSERT ON post_attachments
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = NEW.post_guid;
END;
CREATE TRIGGER posts_rev_attachment_changed AFTER UPDATE ON post_attachments
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid IN (OLD.post_guid, NEW.post_guid);
END;
CREATE TRIGGER posts_rev_attachment_gone AFTER DELETE ON post_attachments
BEGIN
    UPDATE posts SET rev = rev + 1 WHERE guid = OLD.post_guid;
END;
-- A local attachment shows its media row as it is now (processed, described, replaced).
CREATE TRIGGER posts_rev_media AFTER UPDATE ON media
BEGIN
    UPDATE posts SET rev = rev + 1
    WHERE guid IN (SELECT post_guid FROM post_attachments WHERE media_guid = NEW.guid);
END;

-- An identity's revision, for the same reason: anything shown of it as a post's author
-- (its row, its avatar and the avatar's media).
ALTER TABLE identities ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER identities_rev AFTER UPDATE OF username, domain, display_name, bio, fields,
    locked, discoverable, created_at, updated_at ON identities
BEGIN
    UPDATE identities SET rev = rev + 1 WHERE guid = NEW.guid;
END;
CREATE TRIGGER identities_rev_avatar AFTER INSERT ON identity_avatars
BEGIN
    UPDATE identities SET rev = rev + 1 WHERE guid = NEW.identity_guid;
END;
CREATE TRIGGER identities_rev_avatar_changed AFTER UPDATE ON identity_avatars
BEGIN
    UPDATE identities SET rev = rev + 1 WHERE guid IN (OLD.identity_guid, NEW.identity_guid);
END;
CREATE TRIGGER identities_rev_avatar_gone AFTER DELETE ON identity_avatars
BEGIN
    UPDATE identities SET rev = rev + 1 WHERE guid = OLD.identity_guid;
END;
CREATE TRIGGER identities_rev_avatar_media AFTER UPDATE ON media
BEGIN
    UPDATE identities SET rev = rev + 1
    WHERE guid IN (SELECT identity_guid FROM identity_avatars WHERE media_guid = NEW.guid);
END;

-- What an identity of this pod did with posts (liked, reshared, reacted, bookmarked) is kept
-- for the posts it was shown, under this revision.
ALTER TABLE identities ADD COLUMN marks_rev INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER marks_rev_interaction AFTER INSERT ON interactions
BEGIN
    UPDATE identities SET marks_rev = marks_rev + 1
    WHERE guid = NEW.identity_guid AND domain IS NULL;
END;
CREATE TRIGGER marks_rev_interaction_gone AFTER DELETE ON interactions
BEGIN
    UPDATE identities SET marks_rev = marks_rev + 1
    WHERE guid = OLD.identity_guid AND domain IS NULL;
END;
CREATE TRIGGER marks_rev_reaction AFTER INSERT ON reactions
BEGIN
    UPDATE identities SET marks_rev = marks_rev + 1
    WHERE guid = NEW.identity_guid AND domain IS NULL;
END;
CREATE TRIGGER marks_rev_reaction_changed AFTER UPDATE ON reactions
BEGIN
    UPDATE identities SET marks_rev = marks_rev + 1
    WHERE guid IN (OLD.identity_guid, NEW.identity_guid) AND domain IS NULL;
END;
CREATE TRIGGER marks_rev_reaction_gone AFTER DELETE ON reactions
BEGIN
    UPDATE identities SET marks_rev = marks_rev + 1
    WHERE guid = OLD.identity_guid AND domain IS NULL;
END;
CREATE TRIGGER marks_rev_bookmark AFTER INSERT ON bookmarks
BEGIN
    UPDATE identities SET marks_rev = marks_rev + 1 WHERE guid = NEW.identity_guid;
END;
CREATE TRIGGER marks_rev_bookmark_gone AFTER DELETE ON bookmarks
BEGIN
    UPDATE identities SET marks_rev = marks_rev + 1 WHERE guid = OLD.identity_guid;
END;
