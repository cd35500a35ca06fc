-- Conversations of the Responses door (/v1/conversations): an id its owner made, over one session of one agent.
-- The messages themselves stay in `messages` (session = the conversation's id); this row only says whose the
-- conversation is, so nobody else can read or continue it, and which agent it talks to (set by its first
-- response: an agent keeps its own history, so a conversation cannot move to another one).

CREATE TABLE response_conversations (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    agent_id   INTEGER REFERENCES agents(id) ON DELETE SET NULL,
    metadata   JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc')
);

-- For the cascades when a user or an agent is deleted.
CREATE INDEX response_conversations_by_user ON response_conversations (user_id);
CREATE INDEX response_conversations_by_agent ON response_conversations (agent_id);
