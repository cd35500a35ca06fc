-- Messages a user sent per UTC day, counted as they are accepted, so the daily quota is one
-- conditional upsert in the send's own transaction (two racing sends cannot both take the last one).

CREATE TABLE usage_daily (
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    day      DATE NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);
