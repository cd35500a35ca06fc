-- A waiting inbound message was in two partial indexes of unfinished rows: messages_pending (direction, agent_id, seq)
-- and messages_inbox_heads (agent_id, lane, seq; 0072). A status change is never a HOT update here (status is in the
-- indexes' predicates), so the insert and the claim each wrote both. The inbox's queries now read messages_inbox_heads
-- alone (its oldest message is the older of its two lanes' first), and messages_pending's part for the outbox (its
-- queue cap) becomes an index of its own.
CREATE INDEX messages_outbox_by_agent ON messages (agent_id, seq)
    WHERE direction = 'outbound' AND status IN ('queued', 'processing', 'failed');

DROP INDEX messages_pending;
