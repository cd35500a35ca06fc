-- Sessions that can be ended. Every token carries the user's token_version at issue: changing the
-- password bumps it, so every older token is refused at once. One token is ended by listing its
-- jti here until it would have expired anyway.

ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE revoked_tokens (
    jti        UUID PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);
