-- The main stream walks top-level posts newest first and tests each against the viewer's
-- follows, spaces, followed tags and read rights. This index holds only top-level posts and
-- the columns those tests read first, so the posts that do not qualify (most of them) are
-- skipped without reading their rows (bodies and HTML).
CREATE INDEX posts_top ON posts (created_at, guid, author_guid, visibility, space_guid)
    WHERE in_reply_to_ap_id IS NULL;
