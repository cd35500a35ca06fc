-- The trigger of 0095 called callbacks_emit, a SQL function that PostgreSQL plans afresh at each call, and built the
-- message's JSON before knowing whether anyone wanted it: per finished message, whether or not it has a webhook. Its
-- statements now sit in the trigger function itself, whose plans are kept for the session, and the JSON is built only
-- for a delivery that is written. callbacks_emit stays, for other events (approval.requested).
CREATE OR REPLACE FUNCTION callbacks_on_message_status() RETURNS trigger LANGUAGE plpgsql AS $$
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
