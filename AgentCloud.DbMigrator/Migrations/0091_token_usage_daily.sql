-- Model tokens spent per agent per UTC day, split by whether the message was the owner's: the spending limits
-- (Quotas:InputTokensPerDay …, an agent's config.token_limits, the outsiders' share) read these few rows before each
-- model call instead of summing run_steps. A trigger counts each stored model call, in the step's own transaction,
-- so what is counted is exactly what was stored and nothing spent goes uncounted.

-- Whether a message's sender speaks for user `owner`: the owner (through the API, or a schedule) or one of the owner's
-- own agents. Anyone else (a uAgents peer, another user's agent, a public caller) is an outsider.
CREATE FUNCTION sender_is_owner(sender TEXT, owner INTEGER) RETURNS BOOLEAN
    LANGUAGE sql STABLE
    AS $$
        SELECT sender = 'user:' || owner
            OR EXISTS (SELECT 1 FROM agents WHERE address = sender AND user_id = owner)
    $$;

CREATE TABLE token_usage_daily (
    agent_id      INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    day           DATE NOT NULL,
    outsider      BOOLEAN NOT NULL,
    input_tokens  BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, day, outsider)
);

-- A user's day over all their agents.
CREATE INDEX token_usage_daily_by_user ON token_usage_daily (user_id, day);

CREATE FUNCTION count_model_tokens() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
    DECLARE
        owner  INTEGER;
        sender TEXT;
    BEGIN
        SELECT a.user_id, m.sender INTO owner, sender
        FROM agents a JOIN messages m ON m.id = NEW.message_id
        WHERE a.id = NEW.agent_id;
        IF owner IS NULL THEN
            RETURN NULL;
        END IF;

        INSERT INTO token_usage_daily AS u (agent_id, user_id, day, outsider, input_tokens, output_tokens)
        VALUES (NEW.agent_id, owner, (now() AT TIME ZONE 'utc')::date, NOT sender_is_owner(sender, owner),
                COALESCE(NEW.input_tokens, 0), COALESCE(NEW.output_tokens, 0))
        ON CONFLICT (agent_id, day, outsider) DO UPDATE
            SET input_tokens = u.input_tokens + excluded.input_tokens, output_tokens = u.output_tokens + excluded.output_tokens;
        RETURN NULL;
    END
    $$;

CREATE TRIGGER run_steps_count_model_tokens
    AFTER INSERT ON run_steps
    FOR EACH ROW
    WHEN (NEW.kind = 'model_call' AND (NEW.input_tokens IS NOT NULL OR NEW.output_tokens IS NOT NULL))
    EXECUTE FUNCTION count_model_tokens();
