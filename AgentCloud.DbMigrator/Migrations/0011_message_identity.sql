-- A redelivery is recognised by the identity of what was delivered, never by its content: two
-- messages with the same sender, session and payload are two messages (see docs/messaging.md).

-- From now on dedup_key is the identity of a uAgents envelope (SHA-256 of its signed digest and its
-- signature with S normalised, so a re-encoded signature is still the same envelope); rows stored
-- before this hold the old content digest, which no new key can equal.
COMMENT ON COLUMN messages.dedup_key IS
    'SHA-256 identity of the uAgents envelope this message arrived in; a redelivery lands on the first copy';

-- The key an API client gave (Idempotency-Key header or idempotency_key field): a repeat returns the
-- first message. Scoped to the sender (user:{id}, or the sending agent's address for /send).
ALTER TABLE messages ADD COLUMN idempotency_key VARCHAR(255);

CREATE UNIQUE INDEX messages_idempotency_key ON messages (sender, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
