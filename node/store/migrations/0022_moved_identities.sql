-- A remote account that moved (a proven Move): the identity it moved to, shown with its
-- profile as Mastodon shows "moved to". Cleared if that identity is ever removed.
ALTER TABLE identities ADD COLUMN moved_to TEXT REFERENCES identities (guid) ON DELETE SET NULL;
