-- Per-sender isolation of llm agents (issue 31): a run's conversation history and memory are those of its message's
-- sender space, so a stranger neither reads nor changes what the owner said or stored.
-- The space of a message's sender for an agent of user `owner`: '' for the owner (sender_is_owner: the owner through
-- the API or a schedule, or one of the owner's own agents); 'user:{id}' for another user (all of one user's agents share
-- it); anyone else (a uAgents peer, an unsigned user… sender) is its own address.
CREATE FUNCTION sender_space(sender TEXT, owner INTEGER) RETURNS TEXT
    LANGUAGE sql STABLE
    AS $$
        SELECT CASE WHEN sender_is_owner(sender, owner) THEN ''
                    ELSE COALESCE((SELECT 'user:' || user_id FROM agents WHERE address = sender AND user_id IS NOT NULL), sender)
               END
    $$;

-- Memory is kept per space: '' is the owner's (every value stored so far), any other the outsider's of that space.
ALTER TABLE agent_memory ADD COLUMN space VARCHAR(200) NOT NULL DEFAULT '';
ALTER TABLE agent_memory DROP CONSTRAINT agent_memory_pkey;
ALTER TABLE agent_memory ADD PRIMARY KEY (agent_id, space, key);
