-- The echo check (does an arriving remote message repeat what this agent sent its sender in the session?)
-- reads the agent's last replies to that peer in the session. Through messages_by_session it walked back
-- over every message that arrived in the session since the last reply: under a flood of envelopes, the
-- whole backlog, for each of them (30 ms a message at 3,000 waiting). This index holds only what was sent.
CREATE INDEX messages_sent_by_session ON messages (agent_id, session, target, seq)
    WHERE direction = 'outbound';
