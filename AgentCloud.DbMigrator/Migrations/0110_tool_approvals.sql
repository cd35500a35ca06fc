-- Tool approvals (docs/approvals.md): an llm agent's config lists tools a person approves before they run. The run
-- stores the call as an 'approval' step, a row here, and parks (status waiting, the expiry in available_at); a
-- decision wakes it by moving available_at to now. The tool's effect commits later, with its tool_call step, once.
ALTER TABLE run_steps DROP CONSTRAINT run_steps_kind_check;
ALTER TABLE run_steps ADD CONSTRAINT run_steps_kind_check
    CHECK (kind IN ('model_call', 'tool_call', 'tool_result', 'answer', 'approval'));

CREATE TABLE tool_approvals (
    id                UUID PRIMARY KEY,
    message_id        UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    agent_id          INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    -- The model's call: its id within the run's model call, the tool, the arguments it asked for.
    call_id           TEXT NOT NULL,
    tool              TEXT NOT NULL,
    arguments         JSONB NOT NULL,
    requested_at      TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    expires_at        TIMESTAMP NOT NULL,
    -- NULL while pending. 'expired' is written by the run that wakes at expires_at (no decision may come after it).
    decision          TEXT CHECK (decision IN ('approved', 'denied', 'expired')),
    -- The arguments the person approved instead of the model's (NULL: the model's as they were).
    decided_arguments JSONB,
    reason            TEXT,
    -- Who decided: the user, and the API key when one was used (ids kept after the key is deleted).
    decided_by_user   INTEGER,
    decided_by_key    INTEGER,
    decided_via       TEXT,
    decided_at        TIMESTAMP,
    UNIQUE (message_id, call_id)
);

-- The pending approvals of an agent, and of all a user's agents (through agents_by_user).
CREATE INDEX tool_approvals_pending ON tool_approvals (agent_id, requested_at) WHERE decision IS NULL;
CREATE INDEX tool_approvals_by_agent ON tool_approvals (agent_id, requested_at);
