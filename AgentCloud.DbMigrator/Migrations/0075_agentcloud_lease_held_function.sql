-- A worker finishes a run of messages in one batch of statements. When the run needs no transaction of its own (it
-- sends nothing), the batch runs in PostgreSQL's implicit transaction, which its client cannot roll back after a
-- statement found the messages are no longer its own (taken over, canceled, deleted): that statement must fail, and
-- the whole batch with it. This is how it fails (see Messages.CompleteInboundAsync).
CREATE FUNCTION agentcloud_lease_held(held BOOLEAN) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    IF NOT held THEN
        RAISE EXCEPTION 'the messages are no longer this lease''s to finish' USING ERRCODE = 'AC001';
    END IF;
    RETURN true;
END
$$;
