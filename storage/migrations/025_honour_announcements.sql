-- An honour's announcement in a volunteer group (issue 15.6), so that revoking the honour can
-- edit it to say so: the sender records its message id when it is sent, as it does an
-- activity's card's (outbox.honour_post_id says which announcement a call posts).
CREATE TABLE honour_posts (
    id          INTEGER PRIMARY KEY,
    honour_id   INTEGER NOT NULL REFERENCES honours(id),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER,
    created_at  REAL NOT NULL,
    -- Its message stayed in a group that became a supergroup (migration 024): not editable.
    left_behind INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX honour_posts_by_honour ON honour_posts (honour_id);

ALTER TABLE outbox ADD COLUMN honour_post_id INTEGER REFERENCES honour_posts(id);
