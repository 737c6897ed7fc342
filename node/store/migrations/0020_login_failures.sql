-- Failed password checks, counted by the password throttle. In the database rather than in a
-- process's memory, so every process serving the pod counts against the same limits.
-- An attempt is a row from the moment it starts; a success takes its row back. Rows older
-- than the throttle's window are deleted now and then.
CREATE TABLE login_failures (
    -- 'account:<guid> from <address>', 'login:<name typed> from <address>' or 'addr:<address>'
    key TEXT NOT NULL,
    -- Microseconds since 1970 UTC: Retry-After is reckoned from it exactly.
    at INTEGER NOT NULL
);

CREATE INDEX login_failures_key ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);
