-- Replies that reached us before the post they answer (deliveries between pods keep no
-- order): each post stored from elsewhere looks for those waiting for it, through this small
-- index of only the unlinked ones.
CREATE INDEX posts_waiting_reply ON posts (in_reply_to_ap_id)
    WHERE in_reply_to_guid IS NULL AND in_reply_to_ap_id IS NOT NULL;
