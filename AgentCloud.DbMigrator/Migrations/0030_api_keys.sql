-- Keys for programs (A2A and MCP clients, scripts): shown once at creation, stored only as the
-- SHA-256 of the key (a 256-bit random value, so a fast hash is enough: nothing to brute force).
-- Deleting the row revokes the key; every request looks it up, so that takes effect at once.

CREATE TABLE api_keys (
    id          SERIAL PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name        VARCHAR(100) NOT NULL,
    key_hash    CHAR(64) NOT NULL UNIQUE,
    -- The key's first characters, so an owner can tell their keys apart in a list.
    key_prefix  VARCHAR(16) NOT NULL,
    scopes      TEXT[] NOT NULL,
    -- NULL: every agent of the user; else only these.
    agent_ids   INTEGER[],
    expires_at  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE INDEX api_keys_by_user ON api_keys (user_id, id);
