-- Every remote inbox a local post was sent to (its Create or an Update). Its later Update
-- and its Delete go there too, besides its current audience: a pod whose person an edit
-- no longer names (or addresses) would otherwise keep its old copy for ever.
CREATE TABLE post_inboxes (
    post_guid TEXT NOT NULL REFERENCES posts (guid) ON DELETE CASCADE,
    inbox TEXT NOT NULL,
    PRIMARY KEY (post_guid, inbox)
) WITHOUT ROWID;
