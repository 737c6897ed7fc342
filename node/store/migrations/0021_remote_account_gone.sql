-- A remote account that deletes itself takes the notifications it caused: found by who
-- caused them, without reading every row.
CREATE INDEX notifications_actor ON notifications (actor_guid);
