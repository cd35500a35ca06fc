-- Completion callbacks: a user's webhooks, the A2A push notification configs of tasks (a task is an inbound
-- message), and one durable outbox of deliveries to both (see docs/callbacks.md). A delivery row commits in the
-- transaction that finishes the message, written by a trigger on messages, so whichever code path finishes a
-- message (a handler, a cancel, an llm run) none is lost and none is written twice.

CREATE TABLE webhooks (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    -- message.done, message.dead, message.waiting, approval.requested (AgentCloud.Shared/Callbacks/CallbackEvents.cs).
    events      TEXT[] NOT NULL,
    -- NULL: every agent of the user, now and later.
    agent_ids   INTEGER[],
    -- The Standard Webhooks signing secret (whsec_…): needed in the clear to sign, shown to the user once.
    secret      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    updated_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

CREATE INDEX webhooks_by_user ON webhooks (user_id);

CREATE TRIGGER webhooks_set_updated_at
    BEFORE UPDATE ON webhooks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE a2a_push_configs (
    message_id       UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    id               VARCHAR(200) NOT NULL,
    url              TEXT NOT NULL,
    token            TEXT,
    auth_scheme      VARCHAR(100),
    auth_credentials TEXT,
    created_at       TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    PRIMARY KEY (message_id, id)
);

CREATE TABLE callback_deliveries (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Exactly one destination: a webhook, or a task's push config.
    webhook_id        UUID REFERENCES webhooks(id) ON DELETE CASCADE,
    push_message_id   UUID,
    push_config_id    VARCHAR(200),
    message_id        UUID NOT NULL,
    event             VARCHAR(40) NOT NULL,
    -- The message as it was when the event happened (callbacks_message_data).
    data              JSONB NOT NULL,
    -- pending: due at available_at; delivering: leased until available_at (= lease_until), then due again.
    status            VARCHAR(10) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    available_at      TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    lease_owner       VARCHAR(100),
    last_attempt_at   TIMESTAMP,
    last_status_code  INTEGER,
    last_error        TEXT,
    delivered_at      TIMESTAMP,
    created_at        TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    FOREIGN KEY (push_message_id, push_config_id) REFERENCES a2a_push_configs (message_id, id) ON DELETE CASCADE,
    CHECK ((webhook_id IS NULL) <> (push_config_id IS NULL) AND (push_config_id IS NULL) = (push_message_id IS NULL))
);

-- Unfinished deliveries only, so the claim's scan stays small however many were delivered.
CREATE INDEX callback_deliveries_due ON callback_deliveries (available_at) WHERE status IN ('pending', 'delivering');
-- Order per message and destination: a delivery waits for the unfinished ones before it.
CREATE INDEX callback_deliveries_unfinished_by_message ON callback_deliveries (message_id, id) WHERE status IN ('pending', 'delivering');
CREATE INDEX callback_deliveries_by_webhook ON callback_deliveries (webhook_id, id DESC) WHERE webhook_id IS NOT NULL;
CREATE INDEX callback_deliveries_by_push_config ON callback_deliveries (push_message_id, push_config_id) WHERE push_message_id IS NOT NULL;

-- What a callback says about a message: the same fields as GET /agents/{agent_id}/messages/{message_id}, in UTC.
CREATE FUNCTION callbacks_message_data(m messages) RETURNS JSONB LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'agent_id', m.agent_id, 'session', m.session, 'status', m.status, 'reply', m.reply, 'error', m.error,
        'created_at', to_char(m.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'updated_at', to_char(m.updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'completed_at', to_char(m.completed_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;

-- One event of an agent's message to the webhooks of the agent's owner that want it. Also the way for other
-- code to emit an event (approval.requested): call it in the transaction that makes the event true.
CREATE FUNCTION callbacks_emit(agent INTEGER, message UUID, event_type TEXT, payload JSONB) RETURNS VOID LANGUAGE sql AS $$
    INSERT INTO callback_deliveries (webhook_id, message_id, event, data)
    SELECT w.id, message, event_type, payload
    FROM agents a JOIN webhooks w ON w.user_id = a.user_id
    WHERE a.id = agent AND event_type = ANY (w.events) AND (w.agent_ids IS NULL OR agent = ANY (w.agent_ids))
    ORDER BY w.id
$$;

-- An inbound message reached a state someone may be told of: message.<status> to the webhooks, and the new state
-- to every push config of its task. Per row, only for those transitions (the WHEN keeps every other update free).
CREATE FUNCTION callbacks_on_message_status() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload JSONB := callbacks_message_data(NEW);
BEGIN
    PERFORM callbacks_emit(NEW.agent_id, NEW.id, 'message.' || NEW.status, payload);
    INSERT INTO callback_deliveries (push_message_id, push_config_id, message_id, event, data)
    SELECT p.message_id, p.id, NEW.id, 'task.' || NEW.status, payload
    FROM a2a_push_configs p WHERE p.message_id = NEW.id
    ORDER BY p.created_at, p.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_callbacks
    AFTER UPDATE OF status ON messages
    FOR EACH ROW
    WHEN (NEW.direction = 'inbound' AND OLD.status IS DISTINCT FROM NEW.status
          AND NEW.status IN ('done', 'dead', 'canceled', 'waiting'))
    EXECUTE FUNCTION callbacks_on_message_status();
