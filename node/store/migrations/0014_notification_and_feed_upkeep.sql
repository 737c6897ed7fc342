-- A withdrawn application, or one that is gone, takes the notifications it caused (to the
-- space's admins) with it; so does a space that is gone (joins, approvals).
CREATE TRIGGER notifications_application_withdrawn AFTER UPDATE OF state ON space_applications
WHEN NEW.state = 'withdrawn' AND OLD.state IS NOT 'withdrawn'
BEGIN
    DELETE FROM notifications WHERE subject_guid = NEW.guid;
END;

CREATE TRIGGER notifications_application_gone AFTER DELETE ON space_applications
BEGIN
    DELETE FROM notifications WHERE subject_guid = OLD.guid;
END;

CREATE TRIGGER notifications_space_gone AFTER DELETE ON spaces
BEGIN
    DELETE FROM notifications WHERE subject_guid = OLD.guid;
END;

-- A post that leaves its space (the space's Group was deleted, our public post stays) leaves
-- the main feeds it was in only for the space.
CREATE TRIGGER main_feed_post_left_space AFTER UPDATE OF space_guid ON posts
WHEN OLD.space_guid IS NOT NULL AND NEW.space_guid IS NOT OLD.space_guid
BEGIN
    DELETE FROM main_feed
    WHERE post_guid = NEW.guid
      AND NOT EXISTS (SELECT 1 FROM main_feed_reasons r
          WHERE r.viewer_guid = main_feed.viewer_guid AND r.post_guid = main_feed.post_guid);
END;
