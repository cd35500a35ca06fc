-- An agent's inbox has two lanes (see docs/messaging.md): its owner's messages (sender user:{id}, through
-- the API) and everyone else's. Each keeps its order; the claim takes the owner's head first, so a flood
-- from outside never stands between an owner and their agent.

-- The owner lane's head, without walking the other lane's backlog.
CREATE INDEX messages_pending_owner ON messages (agent_id, seq)
    WHERE direction = 'inbound' AND status IN ('queued', 'processing', 'failed') AND sender LIKE 'user:%';

-- One message in flight per agent, whatever the lane. With one lane this followed from claiming only the
-- lowest seq; with two, a claim that saw an owner's message arrive but not another worker's claim could
-- take a second head: the database refuses it instead.
CREATE UNIQUE INDEX messages_one_in_flight ON messages (agent_id)
    WHERE direction = 'inbound' AND status = 'processing';
