-- An inbox's head in one probe: the owner's lane first, then everyone else's (see 0040), each in seq order,
-- so an agent's head is this index's first entry for it. The owner lane's own partial index let the planner
-- walk a flooded agent's other lane instead (its estimate said an early row would be the owner's): with
-- 6,000 envelopes waiting for one agent, each claim of its next message read all 6,000.
CREATE INDEX messages_inbox_heads ON messages (agent_id, (sender NOT LIKE 'user:%'), seq)
    WHERE direction = 'inbound' AND status IN ('queued', 'processing', 'failed');

DROP INDEX messages_pending_owner;
