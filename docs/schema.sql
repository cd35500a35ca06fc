-- The schema the migrations in AgentCloud.DbMigrator/Migrations make, as pg_dump --schema-only prints it
-- (comments and settings left out). Generated: do not edit. SchemaFileTests fails when it is stale; regenerate with
--   AGENTCLOUD_WRITE_SCHEMA=1 dotnet test tests/AgentCloud.IntegrationTests --filter FullyQualifiedName~SchemaFileTests

CREATE FUNCTION public.agentcloud_lease_held(held boolean) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NOT held THEN
        RAISE EXCEPTION 'the messages are no longer this lease''s to finish' USING ERRCODE = 'AC001';
    END IF;
    RETURN true;
END
$$;

CREATE FUNCTION public.callbacks_emit(agent integer, message uuid, event_type text, payload jsonb) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO callback_deliveries (webhook_id, message_id, event, data)
    SELECT w.id, message, event_type, payload
    FROM agents a JOIN webhooks w ON w.user_id = a.user_id
    WHERE a.id = agent AND event_type = ANY (w.events) AND (w.agent_ids IS NULL OR agent = ANY (w.agent_ids))
    ORDER BY w.id
$$;

CREATE TABLE public.messages (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    seq bigint NOT NULL,
    agent_id integer NOT NULL,
    direction character varying(8) NOT NULL,
    sender character varying(200) NOT NULL,
    target character varying(200) NOT NULL,
    session uuid NOT NULL,
    schema_digest character varying(80),
    protocol_digest character varying(80),
    payload jsonb NOT NULL,
    status character varying(10) DEFAULT 'queued'::character varying NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    available_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    lease_owner character varying(100),
    lease_until timestamp without time zone,
    reply jsonb,
    error text,
    in_reply_to uuid,
    hops integer DEFAULT 0 NOT NULL,
    dedup_key character(64),
    traceparent character varying(55),
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    updated_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    completed_at timestamp without time zone,
    expires_at timestamp without time zone,
    sender_waits boolean DEFAULT false NOT NULL,
    delivered_to character varying(2048),
    post_sync boolean DEFAULT false NOT NULL,
    idempotency_key character varying(255),
    sync_answer jsonb,
    sync_answer_schema_digest character varying(80),
    sync_answer_protocol_digest character varying(80),
    sync_answer_sent_at timestamp without time zone,
    waiting_for jsonb,
    awaits uuid,
    awaits_from text,
    awaits_after bigint,
    call_chain uuid[],
    CONSTRAINT messages_direction_check CHECK (((direction)::text = ANY ((ARRAY['inbound'::character varying, 'outbound'::character varying])::text[]))),
    CONSTRAINT messages_post_sync_outbound CHECK (((NOT post_sync) OR ((direction)::text = 'outbound'::text))),
    CONSTRAINT messages_sender_waits_inbound CHECK (((NOT sender_waits) OR ((direction)::text = 'inbound'::text))),
    CONSTRAINT messages_status_check CHECK (((status)::text = ANY ((ARRAY['queued'::character varying, 'processing'::character varying, 'waiting'::character varying, 'done'::character varying, 'failed'::character varying, 'dead'::character varying, 'canceled'::character varying])::text[])))
);

COMMENT ON COLUMN public.messages.dedup_key IS 'SHA-256 identity of the uAgents envelope this message arrived in; a redelivery lands on the first copy';

CREATE FUNCTION public.callbacks_message_data(m public.messages) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'agent_id', m.agent_id, 'session', m.session, 'status', m.status, 'reply', m.reply, 'error', m.error,
        'created_at', to_char(m.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'updated_at', to_char(m.updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'completed_at', to_char(m.completed_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;

CREATE FUNCTION public.callbacks_on_message_status() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO callback_deliveries (webhook_id, message_id, event, data)
    SELECT w.id, NEW.id, 'message.' || NEW.status, callbacks_message_data(NEW)
    FROM agents a JOIN webhooks w ON w.user_id = a.user_id
    WHERE a.id = NEW.agent_id AND 'message.' || NEW.status = ANY (w.events)
      AND (w.agent_ids IS NULL OR NEW.agent_id = ANY (w.agent_ids))
    ORDER BY w.id;
    INSERT INTO callback_deliveries (push_message_id, push_config_id, message_id, event, data)
    SELECT p.message_id, p.id, NEW.id, 'task.' || NEW.status, callbacks_message_data(NEW)
    FROM a2a_push_configs p WHERE p.message_id = NEW.id
    ORDER BY p.created_at, p.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.count_model_tokens() RETURNS trigger
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

CREATE FUNCTION public.notify_agent_log() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('agent_logs', NEW.agent_id::text);
    RETURN NEW;
END;
$$;

CREATE FUNCTION public.sender_is_owner(sender text, owner integer) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
        SELECT sender = 'user:' || owner
            OR EXISTS (SELECT 1 FROM agents WHERE address = sender AND user_id = owner)
    $$;

CREATE FUNCTION public.sender_space(sender text, owner integer) RETURNS text
    LANGUAGE sql STABLE
    AS $$
        SELECT CASE WHEN sender_is_owner(sender, owner) THEN ''
                    ELSE COALESCE((SELECT 'user:' || user_id FROM agents WHERE address = sender AND user_id IS NOT NULL), sender)
               END
    $$;

CREATE FUNCTION public.set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.updated_at := now() AT TIME ZONE 'utc';
    RETURN NEW;
END;
$$;

CREATE TABLE public.a2a_push_configs (
    message_id uuid NOT NULL,
    id character varying(200) NOT NULL,
    url text NOT NULL,
    token text,
    auth_scheme character varying(100),
    auth_credentials text,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL
);

CREATE TABLE public.agent_logs (
    id integer NOT NULL,
    agent_id integer,
    log_level character varying(20),
    message text,
    "timestamp" timestamp without time zone DEFAULT CURRENT_TIMESTAMP
);

CREATE SEQUENCE public.agent_logs_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.agent_logs_id_seq OWNED BY public.agent_logs.id;

CREATE TABLE public.agent_memory (
    agent_id integer NOT NULL,
    key character varying(200) NOT NULL,
    value text NOT NULL,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    updated_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    space character varying(200) DEFAULT ''::character varying NOT NULL
);

CREATE TABLE public.agent_schedules (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    agent_id integer NOT NULL,
    name character varying(100),
    kind character varying(8) NOT NULL,
    cron character varying(200),
    time_zone character varying(100),
    interval_seconds integer,
    run_at timestamp without time zone,
    payload jsonb NOT NULL,
    session uuid,
    next_due_at timestamp without time zone,
    last_due_at timestamp without time zone,
    last_message_id uuid,
    last_error text,
    fired integer DEFAULT 0 NOT NULL,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    updated_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    CONSTRAINT agent_schedules_check CHECK ((((kind)::text = 'cron'::text) = ((cron IS NOT NULL) AND (time_zone IS NOT NULL)))),
    CONSTRAINT agent_schedules_check1 CHECK ((((kind)::text = 'interval'::text) = (interval_seconds IS NOT NULL))),
    CONSTRAINT agent_schedules_check2 CHECK ((((kind)::text = 'once'::text) = (run_at IS NOT NULL))),
    CONSTRAINT agent_schedules_interval_seconds_check CHECK ((interval_seconds > 0)),
    CONSTRAINT agent_schedules_kind_check CHECK (((kind)::text = ANY ((ARRAY['cron'::character varying, 'interval'::character varying, 'once'::character varying])::text[])))
);

CREATE TABLE public.agents (
    id integer NOT NULL,
    name character varying(100) NOT NULL,
    user_id integer,
    config jsonb,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    address character varying(65)
);

CREATE SEQUENCE public.agents_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.agents_id_seq OWNED BY public.agents.id;

CREATE TABLE public.api_keys (
    id integer NOT NULL,
    user_id integer NOT NULL,
    name character varying(100) NOT NULL,
    key_hash character(64) NOT NULL,
    key_prefix character varying(16) NOT NULL,
    scopes text[] NOT NULL,
    agent_ids integer[],
    expires_at timestamp without time zone,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL
);

CREATE SEQUENCE public.api_keys_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.api_keys_id_seq OWNED BY public.api_keys.id;

CREATE TABLE public.callback_deliveries (
    id bigint NOT NULL,
    webhook_id uuid,
    push_message_id uuid,
    push_config_id character varying(200),
    message_id uuid NOT NULL,
    event character varying(40) NOT NULL,
    data jsonb NOT NULL,
    status character varying(10) DEFAULT 'pending'::character varying NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    available_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    lease_owner character varying(100),
    last_attempt_at timestamp without time zone,
    last_status_code integer,
    last_error text,
    delivered_at timestamp without time zone,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    CONSTRAINT callback_deliveries_check CHECK ((((webhook_id IS NULL) <> (push_config_id IS NULL)) AND ((push_config_id IS NULL) = (push_message_id IS NULL)))),
    CONSTRAINT callback_deliveries_status_check CHECK (((status)::text = ANY ((ARRAY['pending'::character varying, 'delivering'::character varying, 'delivered'::character varying, 'dead'::character varying])::text[])))
);

ALTER TABLE public.callback_deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.callback_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE public.messages ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.messages_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.response_conversations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id integer NOT NULL,
    agent_id integer,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL
);

CREATE TABLE public.revoked_tokens (
    jti uuid NOT NULL,
    user_id integer NOT NULL,
    expires_at timestamp without time zone NOT NULL
);

CREATE TABLE public.run_events (
    message_id uuid NOT NULL,
    seq integer NOT NULL,
    type character varying(32) NOT NULL,
    data jsonb NOT NULL,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL
);

CREATE TABLE public.run_steps (
    id bigint NOT NULL,
    message_id uuid NOT NULL,
    agent_id integer NOT NULL,
    session uuid NOT NULL,
    step_index integer NOT NULL,
    kind character varying(12) NOT NULL,
    data jsonb NOT NULL,
    model character varying(200),
    input_tokens integer,
    output_tokens integer,
    duration_ms double precision,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    CONSTRAINT run_steps_kind_check CHECK (((kind)::text = ANY ((ARRAY['model_call'::character varying, 'tool_call'::character varying, 'tool_result'::character varying, 'answer'::character varying, 'approval'::character varying])::text[])))
);

ALTER TABLE public.run_steps ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.run_steps_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL
);

CREATE TABLE public.token_usage_daily (
    agent_id integer NOT NULL,
    user_id integer NOT NULL,
    day date NOT NULL,
    outsider boolean NOT NULL,
    input_tokens bigint DEFAULT 0 NOT NULL,
    output_tokens bigint DEFAULT 0 NOT NULL
);

CREATE TABLE public.tool_approvals (
    id uuid NOT NULL,
    message_id uuid NOT NULL,
    agent_id integer NOT NULL,
    call_id text NOT NULL,
    tool text NOT NULL,
    arguments jsonb NOT NULL,
    requested_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    expires_at timestamp without time zone NOT NULL,
    decision text,
    decided_arguments jsonb,
    reason text,
    decided_by_user integer,
    decided_by_key integer,
    decided_via text,
    decided_at timestamp without time zone,
    CONSTRAINT tool_approvals_decision_check CHECK ((decision = ANY (ARRAY['approved'::text, 'denied'::text, 'expired'::text])))
);

CREATE TABLE public.usage_daily (
    user_id integer NOT NULL,
    day date NOT NULL,
    messages integer DEFAULT 0 NOT NULL,
    shard smallint DEFAULT 0 NOT NULL
);

CREATE TABLE public.users (
    id integer NOT NULL,
    username character varying(50) NOT NULL,
    email character varying(100) NOT NULL,
    password_hash character varying(256) NOT NULL,
    created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
    token_version integer DEFAULT 0 NOT NULL,
    lookalike_of_older boolean DEFAULT false NOT NULL
);

CREATE SEQUENCE public.users_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;

CREATE TABLE public.webhooks (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id integer NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    agent_ids integer[],
    secret text NOT NULL,
    created_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL,
    updated_at timestamp without time zone DEFAULT (now() AT TIME ZONE 'utc'::text) NOT NULL
);

ALTER TABLE ONLY public.agent_logs ALTER COLUMN id SET DEFAULT nextval('public.agent_logs_id_seq'::regclass);

ALTER TABLE ONLY public.agents ALTER COLUMN id SET DEFAULT nextval('public.agents_id_seq'::regclass);

ALTER TABLE ONLY public.api_keys ALTER COLUMN id SET DEFAULT nextval('public.api_keys_id_seq'::regclass);

ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);

ALTER TABLE ONLY public.a2a_push_configs
    ADD CONSTRAINT a2a_push_configs_pkey PRIMARY KEY (message_id, id);

ALTER TABLE ONLY public.agent_logs
    ADD CONSTRAINT agent_logs_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.agent_memory
    ADD CONSTRAINT agent_memory_pkey PRIMARY KEY (agent_id, space, key);

ALTER TABLE ONLY public.agent_schedules
    ADD CONSTRAINT agent_schedules_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.callback_deliveries
    ADD CONSTRAINT callback_deliveries_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_seq_key UNIQUE (seq);

ALTER TABLE ONLY public.response_conversations
    ADD CONSTRAINT response_conversations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.revoked_tokens
    ADD CONSTRAINT revoked_tokens_pkey PRIMARY KEY (jti);

ALTER TABLE ONLY public.run_events
    ADD CONSTRAINT run_events_pkey PRIMARY KEY (message_id, seq);

ALTER TABLE ONLY public.run_steps
    ADD CONSTRAINT run_steps_message_id_step_index_key UNIQUE (message_id, step_index);

ALTER TABLE ONLY public.run_steps
    ADD CONSTRAINT run_steps_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.token_usage_daily
    ADD CONSTRAINT token_usage_daily_pkey PRIMARY KEY (agent_id, day, outsider);

ALTER TABLE ONLY public.tool_approvals
    ADD CONSTRAINT tool_approvals_message_id_call_id_key UNIQUE (message_id, call_id);

ALTER TABLE ONLY public.tool_approvals
    ADD CONSTRAINT tool_approvals_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usage_daily
    ADD CONSTRAINT usage_daily_pkey PRIMARY KEY (user_id, day, shard);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_email_key UNIQUE (email);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_username_key UNIQUE (username);

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_pkey PRIMARY KEY (id);

CREATE INDEX agent_logs_agent_id_timestamp_id_idx ON public.agent_logs USING btree (agent_id, "timestamp" DESC, id DESC);

CREATE INDEX agent_schedules_by_agent ON public.agent_schedules USING btree (agent_id, created_at, id);

CREATE INDEX agent_schedules_due ON public.agent_schedules USING btree (next_due_at) WHERE (next_due_at IS NOT NULL);

CREATE UNIQUE INDEX agents_address_key ON public.agents USING btree (address) WHERE (address IS NOT NULL);

CREATE INDEX agents_user_id_id_idx ON public.agents USING btree (user_id, id);

CREATE INDEX api_keys_by_user ON public.api_keys USING btree (user_id, id);

CREATE INDEX callback_deliveries_by_push_config ON public.callback_deliveries USING btree (push_message_id, push_config_id) WHERE (push_message_id IS NOT NULL);

CREATE INDEX callback_deliveries_by_webhook ON public.callback_deliveries USING btree (webhook_id, id DESC) WHERE (webhook_id IS NOT NULL);

CREATE INDEX callback_deliveries_due ON public.callback_deliveries USING btree (available_at) WHERE ((status)::text = ANY ((ARRAY['pending'::character varying, 'delivering'::character varying])::text[]));

CREATE INDEX callback_deliveries_unfinished_by_message ON public.callback_deliveries USING btree (message_id, id) WHERE ((status)::text = ANY ((ARRAY['pending'::character varying, 'delivering'::character varying])::text[]));

CREATE INDEX messages_by_agent ON public.messages USING btree (agent_id, seq DESC);

CREATE INDEX messages_by_retry_family ON public.messages USING btree (sender, "left"((idempotency_key)::text, 49), created_at) WHERE ((idempotency_key)::text ~~ 'retry:%'::text);

CREATE INDEX messages_by_session ON public.messages USING btree (agent_id, session, seq);

CREATE UNIQUE INDEX messages_dedup_key ON public.messages USING btree (agent_id, direction, dedup_key) WHERE (dedup_key IS NOT NULL);

CREATE UNIQUE INDEX messages_idempotency_key ON public.messages USING btree (sender, idempotency_key) WHERE (idempotency_key IS NOT NULL);

CREATE INDEX messages_inbox_by_sender ON public.messages USING btree (agent_id, sender, seq) WHERE (((direction)::text = 'inbound'::text) AND ((status)::text = ANY ((ARRAY['queued'::character varying, 'processing'::character varying, 'failed'::character varying])::text[])));

CREATE INDEX messages_inbox_heads ON public.messages USING btree (agent_id, (((sender)::text !~~ 'user:%'::text)), seq) WHERE (((direction)::text = 'inbound'::text) AND ((status)::text = ANY ((ARRAY['queued'::character varying, 'processing'::character varying, 'failed'::character varying])::text[])));

CREATE UNIQUE INDEX messages_one_in_flight ON public.messages USING btree (agent_id) WHERE (((direction)::text = 'inbound'::text) AND ((status)::text = 'processing'::text));

CREATE INDEX messages_outbox_by_agent ON public.messages USING btree (agent_id, seq) WHERE (((direction)::text = 'outbound'::text) AND ((status)::text = ANY ((ARRAY['queued'::character varying, 'processing'::character varying, 'failed'::character varying])::text[])));

CREATE INDEX messages_outbox_pending ON public.messages USING btree (available_at) WHERE (((direction)::text = 'outbound'::text) AND ((status)::text = ANY ((ARRAY['queued'::character varying, 'processing'::character varying, 'failed'::character varying])::text[])));

CREATE INDEX messages_sent_by_session ON public.messages USING btree (agent_id, session, target, seq) WHERE ((direction)::text = 'outbound'::text);

CREATE INDEX messages_waiting ON public.messages USING btree (agent_id, available_at) WHERE ((status)::text = 'waiting'::text);

CREATE INDEX response_conversations_by_agent ON public.response_conversations USING btree (agent_id);

CREATE INDEX response_conversations_by_user ON public.response_conversations USING btree (user_id);

CREATE INDEX revoked_tokens_by_expiry ON public.revoked_tokens USING btree (expires_at);

CREATE INDEX run_steps_by_session ON public.run_steps USING btree (agent_id, session, message_id, step_index);

CREATE INDEX token_usage_daily_by_user ON public.token_usage_daily USING btree (user_id, day);

CREATE INDEX tool_approvals_by_agent ON public.tool_approvals USING btree (agent_id, requested_at);

CREATE INDEX tool_approvals_pending ON public.tool_approvals USING btree (agent_id, requested_at) WHERE (decision IS NULL);

CREATE UNIQUE INDEX users_email_lower_key ON public.users USING btree (lower((email)::text));

CREATE UNIQUE INDEX users_username_normalized_key ON public.users USING btree (lower(NORMALIZE(username, NFKC))) WHERE (NOT lookalike_of_older);

CREATE INDEX webhooks_by_user ON public.webhooks USING btree (user_id);

CREATE TRIGGER agent_logs_notify AFTER INSERT ON public.agent_logs FOR EACH ROW WHEN ((current_setting('agentcloud.wakes_after_commit'::text, true) IS DISTINCT FROM 'on'::text)) EXECUTE FUNCTION public.notify_agent_log();

CREATE TRIGGER agent_memory_set_updated_at BEFORE UPDATE ON public.agent_memory FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER agent_schedules_set_updated_at BEFORE UPDATE ON public.agent_schedules FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER agents_set_updated_at BEFORE UPDATE ON public.agents FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER messages_callbacks AFTER UPDATE OF status ON public.messages FOR EACH ROW WHEN ((((new.direction)::text = 'inbound'::text) AND ((old.status)::text IS DISTINCT FROM (new.status)::text) AND ((new.status)::text = ANY ((ARRAY['done'::character varying, 'dead'::character varying, 'canceled'::character varying, 'waiting'::character varying])::text[])))) EXECUTE FUNCTION public.callbacks_on_message_status();

CREATE TRIGGER messages_set_updated_at BEFORE UPDATE ON public.messages FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER run_steps_count_model_tokens AFTER INSERT ON public.run_steps FOR EACH ROW WHEN ((((new.kind)::text = 'model_call'::text) AND ((new.input_tokens IS NOT NULL) OR (new.output_tokens IS NOT NULL)))) EXECUTE FUNCTION public.count_model_tokens();

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

CREATE TRIGGER webhooks_set_updated_at BEFORE UPDATE ON public.webhooks FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

ALTER TABLE ONLY public.a2a_push_configs
    ADD CONSTRAINT a2a_push_configs_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_logs
    ADD CONSTRAINT agent_logs_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_memory
    ADD CONSTRAINT agent_memory_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agent_schedules
    ADD CONSTRAINT agent_schedules_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.agents
    ADD CONSTRAINT agents_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.callback_deliveries
    ADD CONSTRAINT callback_deliveries_push_message_id_push_config_id_fkey FOREIGN KEY (push_message_id, push_config_id) REFERENCES public.a2a_push_configs(message_id, id) ON DELETE CASCADE;

ALTER TABLE ONLY public.callback_deliveries
    ADD CONSTRAINT callback_deliveries_webhook_id_fkey FOREIGN KEY (webhook_id) REFERENCES public.webhooks(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.response_conversations
    ADD CONSTRAINT response_conversations_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE SET NULL;

ALTER TABLE ONLY public.response_conversations
    ADD CONSTRAINT response_conversations_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.revoked_tokens
    ADD CONSTRAINT revoked_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.run_events
    ADD CONSTRAINT run_events_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.run_steps
    ADD CONSTRAINT run_steps_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.run_steps
    ADD CONSTRAINT run_steps_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.token_usage_daily
    ADD CONSTRAINT token_usage_daily_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.token_usage_daily
    ADD CONSTRAINT token_usage_daily_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tool_approvals
    ADD CONSTRAINT tool_approvals_agent_id_fkey FOREIGN KEY (agent_id) REFERENCES public.agents(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tool_approvals
    ADD CONSTRAINT tool_approvals_message_id_fkey FOREIGN KEY (message_id) REFERENCES public.messages(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.usage_daily
    ADD CONSTRAINT usage_daily_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;
