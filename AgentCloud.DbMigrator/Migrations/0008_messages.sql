-- The durable inbox and outbox: a message is accepted once its row commits (see docs/messaging.md).
-- inbound rows are an agent's inbox, handled one at a time per agent in seq order; outbound rows are
-- what an agent sent to an address not hosted here, waiting for remote delivery.

CREATE TABLE messages (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    agent_id        INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    direction       VARCHAR(8) NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender          VARCHAR(200) NOT NULL,
    target          VARCHAR(200) NOT NULL,
    session         UUID NOT NULL,
    schema_digest   VARCHAR(80),
    protocol_digest VARCHAR(80),
    payload         JSONB NOT NULL,
    status          VARCHAR(10) NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'processing', 'done', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    available_at    TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    lease_owner     VARCHAR(100),
    lease_until     TIMESTAMP,
    reply           JSONB,
    error           TEXT,
    in_reply_to     UUID,
    -- How many handlings led here: forwards and replies between agents stop at a limit, so two
    -- agents pointed at each other cannot loop for ever.
    hops            INTEGER NOT NULL DEFAULT 0,
    dedup_key       CHAR(64),
    traceparent     VARCHAR(55),
    created_at      TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at      TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    completed_at    TIMESTAMP
);

CREATE TRIGGER messages_set_updated_at
    BEFORE UPDATE ON messages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Work still to do, head of line first: small, because finished messages leave it.
CREATE INDEX messages_pending ON messages (direction, agent_id, seq)
    WHERE status IN ('queued', 'processing', 'failed');

-- An agent's message history, newest first.
CREATE INDEX messages_by_agent ON messages (agent_id, seq DESC);

-- A redelivered duplicate (same sender, session and payload digest) lands on the first copy.
CREATE UNIQUE INDEX messages_dedup_key ON messages (agent_id, direction, dedup_key)
    WHERE dedup_key IS NOT NULL;

-- Live log tails wake on this instead of polling. NOTIFY folds identical payloads within a
-- transaction, so a bulk insert for one agent wakes its listeners once.
CREATE FUNCTION notify_agent_log() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agent_logs', NEW.agent_id::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER agent_logs_notify
    AFTER INSERT ON agent_logs
    FOR EACH ROW EXECUTE FUNCTION notify_agent_log();
