-- Our posts in a space that went private while they were public: the pods of their authors'
-- followers got them then, so their Delete goes there too (federation/outbox.py), or those
-- pods keep them for ever.
CREATE TABLE posts_once_public (
    post_guid TEXT PRIMARY KEY REFERENCES posts (guid) ON DELETE CASCADE
) WITHOUT ROWID;
