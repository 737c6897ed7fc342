-- The avatar a remote actor's document names (its `icon`). It is shown by its URL, as remote
-- attachments are, and clients load it from the remote pod; identity_avatars names our own
-- media instead.
CREATE TABLE remote_avatars (
    identity_guid TEXT PRIMARY KEY REFERENCES identities (guid) ON DELETE CASCADE,
    url TEXT NOT NULL,
    media_type TEXT NOT NULL
);

-- What an author shows changed, so lists render its posts again (see identities.rev).
CREATE TRIGGER remote_avatars_rev AFTER INSERT ON remote_avatars
BEGIN
    UPDATE identities SET rev = rev + 1 WHERE guid = NEW.identity_guid;
END;
CREATE TRIGGER remote_avatars_rev_changed AFTER UPDATE ON remote_avatars
BEGIN
    UPDATE identities SET rev = rev + 1 WHERE guid = NEW.identity_guid;
END;
CREATE TRIGGER remote_avatars_rev_gone AFTER DELETE ON remote_avatars
BEGIN
    UPDATE identities SET rev = rev + 1 WHERE guid = OLD.identity_guid;
END;
