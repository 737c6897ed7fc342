-- The remote inboxes a local post was sent to for whom it named (addressed, mentioned,
-- answered), by its Create or an Update; followers' are not kept (a row per follower pod per
-- post). Its later Update and its Delete go there too, besides its current audience: a pod
-- whose person an edit no longer names would otherwise keep its old copy for ever.
CREATE TABLE post_inboxes (
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    PRIMARY KEY (post_guid, inbox)
) WITHOUT ROWID;
