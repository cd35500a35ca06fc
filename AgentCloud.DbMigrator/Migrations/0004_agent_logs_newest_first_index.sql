-- An agent's logs, newest first, with keyset pagination on (timestamp, id).

CREATE INDEX agent_logs_agent_id_timestamp_id_idx ON agent_logs (agent_id, timestamp DESC, id DESC);
