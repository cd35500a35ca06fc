-- The answer to a /submit sync request (x-uagents-connection: sync) lives on the inbound row it answers,
-- not on a phantom outbound row that the outbox had to be told never to POST (see docs/messaging.md).
-- The two flags are named for what they mean, each on its own direction.

-- Inbound: its sender holds the HTTP request open for the answer.
ALTER TABLE messages RENAME COLUMN sync_reply TO sender_waits;
-- Outbound: the outbox POSTs it with x-uagents-connection: sync and keeps the peer's answer as its reply.
ALTER TABLE messages RENAME COLUMN wait_for_reply TO post_sync;

-- The handler's answer for the waiting sender (a uAgents model), and when it went back in the response.
ALTER TABLE messages
    ADD COLUMN sync_answer                 JSONB,
    ADD COLUMN sync_answer_schema_digest   VARCHAR(80),
    ADD COLUMN sync_answer_protocol_digest VARCHAR(80),
    ADD COLUMN sync_answer_sent_at         TIMESTAMP;

-- Move the answers that are there: the first phantom reply with a model, per inbound message.
UPDATE messages inbound
SET sync_answer = phantom.payload, sync_answer_schema_digest = phantom.schema_digest,
    sync_answer_protocol_digest = phantom.protocol_digest,
    sync_answer_sent_at = CASE WHEN phantom.status = 'done' THEN phantom.completed_at END
FROM (SELECT DISTINCT ON (in_reply_to) in_reply_to, payload, schema_digest, protocol_digest, status, completed_at
      FROM messages
      WHERE direction = 'outbound' AND sender_waits AND schema_digest IS NOT NULL
      ORDER BY in_reply_to, seq) AS phantom
WHERE inbound.id = phantom.in_reply_to;

DELETE FROM messages WHERE direction = 'outbound' AND sender_waits;

ALTER TABLE messages ADD CONSTRAINT messages_sender_waits_inbound CHECK (NOT sender_waits OR direction = 'inbound');
ALTER TABLE messages ADD CONSTRAINT messages_post_sync_outbound CHECK (NOT post_sync OR direction = 'outbound');

-- Every outbound row is for the outbox now.
DROP INDEX messages_outbox_due;
CREATE INDEX messages_outbox_due ON messages (available_at)
    WHERE direction = 'outbound' AND status IN ('queued', 'failed');
