-- A new top-level post enters the main feed with a cheaper trigger. The one it replaces read
-- its readers from one UNION over the space_memberships view, which SQLite deduplicated in a
-- temporary table on every insert; here each source is an INSERT OR IGNORE of its own (the
-- feed's key does the deduplicating), and the space sources run only for posts in a space.
-- Who enters is unchanged: the author, the author's followers and the space's members,
-- each only when local.
DROP TRIGGER main_feed_post;

CREATE TRIGGER main_feed_post AFTER INSERT ON posts WHEN NEW.in_reply_to_ap_id IS NULL
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT i.guid, NEW.created_at, NEW.guid FROM identities i
    WHERE i.guid = NEW.author_guid AND i.domain IS NULL;
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT f.follower_guid, NEW.created_at, NEW.guid
    FROM follows f JOIN identities i ON i.guid = f.follower_guid AND i.domain IS NULL
    WHERE f.followee_guid = NEW.author_guid AND f.state = 'accepted';
END;

-- space_memberships spelled out: its members, and our identities following its remote Group.
CREATE TRIGGER main_feed_post_in_space AFTER INSERT ON posts
WHEN NEW.in_reply_to_ap_id IS NULL AND NEW.space_guid IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT m.identity_guid, NEW.created_at, NEW.guid
    FROM space_members m JOIN identities i ON i.guid = m.identity_guid AND i.domain IS NULL
    WHERE m.space_guid = NEW.space_guid;
    INSERT OR IGNORE INTO main_feed (viewer_guid, created_at, post_guid)
    SELECT f.follower_guid, NEW.created_at, NEW.guid
    FROM spaces s JOIN follows f ON f.followee_guid = s.actor_guid AND f.state = 'accepted'
    JOIN identities i ON i.guid = f.follower_guid AND i.domain IS NULL
    WHERE s.guid = NEW.space_guid;
END;
