-- The keys a door derives for a client that retries without a key of its own (RetryKeys): each attempt stores under a key of
-- the call's family, and a retry finds the newest of its family by this index, so its first attempt's message is found, not
-- stored twice. Only derived keys are indexed; the unique messages_idempotency_key still makes each key one message.
CREATE INDEX messages_by_retry_family ON messages (sender, left(idempotency_key, 49), created_at)
    WHERE idempotency_key LIKE 'retry:%';
