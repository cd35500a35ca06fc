-- Runs that wait hold nothing (docs/llm-agents.md, "Runs that wait"). A run that waits for something other
-- than its model (the reply to its send_message; later a person's approval or a time) commits status
-- 'waiting' with what it waits for and leaves the worker: no lease, no slot, no connection. It stays its
-- agent's head of line (the agent's later messages stay behind it) except for messages of its own call chain.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('queued', 'processing', 'waiting', 'done', 'failed', 'dead', 'canceled'));

-- What a waiting message waits for, as the doors show it: {"kind": "reply", "message_id", "from", "until"}.
ALTER TABLE messages ADD COLUMN waiting_for JSONB;
-- What wakes it besides its deadline (available_at): an inbound reply to this message id, or, from a remote
-- uAgent whose envelopes cannot say what they answer, the next message from awaits_from in its session after
-- seq awaits_after.
ALTER TABLE messages ADD COLUMN awaits UUID;
ALTER TABLE messages ADD COLUMN awaits_from TEXT;
ALTER TABLE messages ADD COLUMN awaits_after BIGINT;
-- The runs (message ids, outermost first) whose delegation this message is part of: A's run of m1 asks B
-- (chain {m1}); B's run asks A (chain {m1, m2}): that message may pass A's waiting m1 (call-chain reentrancy).
ALTER TABLE messages ADD COLUMN call_chain UUID[];

-- The claim asks per agent "does it have a waiting run?" and looks for runs whose deadline passed: both
-- probes of this (small) index.
CREATE INDEX messages_waiting ON messages (agent_id, available_at) WHERE status = 'waiting';
