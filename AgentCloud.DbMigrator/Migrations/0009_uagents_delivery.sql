-- What the uAgents wire protocol needs on a message (see UAGENTS-WIRE in the protocol docs).

-- The envelope's expiry: an outbound message not delivered by then is dead; an inbound one records
-- what its sender asked for.
ALTER TABLE messages ADD COLUMN expires_at TIMESTAMP;

-- Sync connections (x-uagents-connection: sync). On an inbound message: its sender waits on the open
-- HTTP request for the answer. On an outbound reply: it is handed back in that response, never POSTed.
ALTER TABLE messages ADD COLUMN sync_reply BOOLEAN NOT NULL DEFAULT false;

-- Outbound: the endpoint that accepted the envelope (HTTP 200), once delivered.
ALTER TABLE messages ADD COLUMN delivered_to VARCHAR(2048);

-- Remote delivery claims due outbound rows one by one (a dead peer must not block the others).
CREATE INDEX messages_outbox_due ON messages (available_at)
    WHERE direction = 'outbound' AND status IN ('queued', 'failed') AND NOT sync_reply;
