-- The actor URI of a remote identity, beside its handle: the API gives it as the identity's
-- `url` (a remote person is not at this pod's /users/{name}, where a local namesake may be).
ALTER TABLE identities ADD COLUMN uri TEXT;
UPDATE identities SET uri = (SELECT a.uri FROM remote_actors a WHERE a.identity_guid = identities.guid)
    WHERE domain IS NOT NULL;
