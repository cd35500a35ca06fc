-- Schedules: each sends its agent a message at its due times (a cron expression in a time zone, a fixed
-- interval, or once). A worker claims the due rows (FOR UPDATE SKIP LOCKED), queues the message and moves
-- next_due_at on in the same transaction, so a due time fires once however many workers look. The message's
-- idempotency key is 'schedule:{id}:{due time}', so the database itself refuses a second copy of one due time.

CREATE TABLE agent_schedules (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id         INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name             VARCHAR(100),
    kind             VARCHAR(8) NOT NULL CHECK (kind IN ('cron', 'interval', 'once')),
    cron             VARCHAR(200),
    time_zone        VARCHAR(100),
    interval_seconds INTEGER CHECK (interval_seconds > 0),
    run_at           TIMESTAMP,
    payload          JSONB NOT NULL,
    -- NULL: every message starts a new session.
    session          UUID,
    -- NULL: nothing more to fire (a one-time schedule that fired).
    next_due_at      TIMESTAMP,
    last_due_at      TIMESTAMP,
    last_message_id  UUID,
    -- Why the last due time sent nothing (a quota), NULL when it sent its message.
    last_error       TEXT,
    fired            INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    CHECK ((kind = 'cron') = (cron IS NOT NULL AND time_zone IS NOT NULL)),
    CHECK ((kind = 'interval') = (interval_seconds IS NOT NULL)),
    CHECK ((kind = 'once') = (run_at IS NOT NULL))
);

CREATE INDEX agent_schedules_by_agent ON agent_schedules (agent_id, created_at, id);

-- The claim's probe: the earliest due rows first.
CREATE INDEX agent_schedules_due ON agent_schedules (next_due_at) WHERE next_due_at IS NOT NULL;

CREATE TRIGGER agent_schedules_set_updated_at
    BEFORE UPDATE ON agent_schedules
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
