-- When WebFinger last gave the actor for its handle (username@domain). A handle never checked
-- is the actor's own word, which any file its origin serves could give: a lookup of the
-- handle asks WebFinger rather than answer with it.
ALTER TABLE remote_actors ADD COLUMN handle_checked_at TEXT;
