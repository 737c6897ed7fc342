-- A follow that is gone takes what told of it (a follow, a request, an acceptance), however
-- it went: an unfollow, or its remote actor deleting itself (which drops its follows at once).
CREATE TRIGGER notifications_follow_gone AFTER DELETE ON follows
BEGIN
    DELETE FROM notifications WHERE subject_guid = OLD.guid;
END;
