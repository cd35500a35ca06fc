-- Language-model agents (behavior "llm"): a run is the handling of one message, stored step by step
-- so a worker that takes over a message continues where the last one stopped (see docs/llm-agents.md).
-- A step with an effect (a sent message, a memory write) commits in the same transaction as that effect.

CREATE TABLE run_steps (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id    UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    agent_id      INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    session       UUID NOT NULL,
    -- 0, 1, 2 … within the message: the order the run produced them.
    step_index    INTEGER NOT NULL,
    kind          VARCHAR(12) NOT NULL CHECK (kind IN ('model_call', 'tool_call', 'tool_result', 'answer')),
    data          JSONB NOT NULL,
    model         VARCHAR(200),
    input_tokens  INTEGER,
    output_tokens INTEGER,
    duration_ms   DOUBLE PRECISION,
    created_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    UNIQUE (message_id, step_index)
);

-- A conversation's earlier turns, and an agent's usage.
CREATE INDEX run_steps_by_session ON run_steps (agent_id, session, message_id, step_index);

-- What an llm agent remembers (its remember/recall/forget tools), one value per key per agent.
CREATE TABLE agent_memory (
    agent_id   INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    key        VARCHAR(200) NOT NULL,
    value      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    PRIMARY KEY (agent_id, key)
);

CREATE TRIGGER agent_memory_set_updated_at
    BEFORE UPDATE ON agent_memory
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
