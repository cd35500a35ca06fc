-- The doors that stream (SSE, A2A, OpenAI chunks) read what a running message produced before it ends:
-- model steps, text deltas, tool calls and results. The worker writes them here and NOTIFYs run_events
-- with the message id; the API's streams wake on that and read the rows after the last one they sent.
-- seq numbers a message's events from 1 and is the SSE event id, so Last-Event-ID resumes exactly. The
-- rows live as long as their message (a run that continues on another worker after a crash appends).
CREATE TABLE run_events (
    message_id  UUID NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    type        VARCHAR(32) NOT NULL,
    data        JSONB NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    PRIMARY KEY (message_id, seq)
);

-- A message its sender withdrew (A2A CancelTask, REST cancel): final like done and dead. A queued one is
-- never claimed; a running one's worker finds its fence gone (status is no longer 'processing') and
-- commits nothing.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('queued', 'processing', 'done', 'failed', 'dead', 'canceled'));

-- A2A contexts and OpenAI conversations list a session's messages in order.
CREATE INDEX messages_by_session ON messages (agent_id, session, seq);
