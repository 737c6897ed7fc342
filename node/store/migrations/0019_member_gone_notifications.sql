-- A member who is no longer one (left, removed, gone) takes the notification of their joining
-- with them, as an unfollow takes a follow's; joining again tells the admins once more.
CREATE TRIGGER notifications_member_gone AFTER DELETE ON space_members
BEGIN
    DELETE FROM notifications
    WHERE subject_guid = OLD.space_guid AND kind = 'space.joined'
      AND actor_guid = OLD.identity_guid;
END;
