-- Names of deleted local identities. Other pods still know `/users/{name}` as the actor they
-- followed (and its key): the name is never given to an account, identity or space again, and
-- the actor answers 410 Gone.
CREATE TABLE retired_names (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    retired_at TEXT NOT NULL
);
